"""The demo org's record pages: ``GET /<record Id>``, a small read-only HTML view of one record.

Why: the desk's "Open in Salesforce" links are the instance URL + a record Id (``webapp.queries.salesforce_url``),
Salesforce's classic record URL. Against the demo org that URL answered the API's JSON 404, so a product owner
trying the demo could not open the rep's deal and watch a push land. This page stands in for Salesforce's record
page: the record's key fields, and the related lists Retour writes to — the ``Retour_Insight__c`` records that
look it up and the Tasks related to it (``WhatId``), newest first.

It is not part of the API: no Authorization (a browser session in a real org; this is a local test double), not
counted against the daily limit, not hit by injected faults, never under ``/services/data``. Every value is CRM
data or text Retour pushed, so all of it is HTML-escaped, and the page carries no script (its Content-Security-Policy
allows none).
"""

from __future__ import annotations

import datetime as dt
import html
import re
from typing import TYPE_CHECKING, Any

from .ids import to18
from .schema import OBJECTS, SObject, object_for_id
from .store import UTC, Store

if TYPE_CHECKING:
    from .org import DemoOrg

CONTENT_TYPE = "text/html;charset=UTF-8"
HEADERS = {"Content-Security-Policy": "default-src 'none'; style-src 'unsafe-inline'; img-src 'none'",
           "X-Content-Type-Options": "nosniff", "Cache-Control": "no-store", "Referrer-Policy": "no-referrer"}
RELATED_MAX = 50  # rows a related list shows; the rest are counted ("and 12 more")
BANNER = "Demo org — a stand-in for Salesforce"

_PAGE_PATH = re.compile(r"^/([^/]+)/?$")  # one segment: a record Id, or a mistyped one (HTML 404 either way)
_RECORD_ID = re.compile(r"^(?:[A-Za-z0-9]{15}|[A-Za-z0-9]{18})$")

# The fields a record page shows first, per object (others show their name-like field only).
KEY_FIELDS: dict[str, tuple[str, ...]] = {
    "Opportunity": ("AccountId", "StageName", "Amount", "CloseDate", "OwnerId", "Loss_Reason__c",
                    "Loss_Reason_Detail__c", "Competitor__c", "Region__c", "Segment__c"),
    "Account": ("Region__c", "Segment__c", "Industry", "BillingCity", "BillingCountry", "OwnerId"),
    "Contact": ("AccountId", "Title", "Email", "OwnerId"),
    "Case": ("Subject", "AccountId", "Status", "Priority", "Origin", "OwnerId", "Description"),
    "Task": ("WhatId", "Status", "Priority", "ActivityDate", "OwnerId", "Description"),
    "Event": ("WhatId", "StartDateTime", "EndDateTime", "OwnerId", "Description"),
    "User": ("Email", "Department", "Title", "IsActive"),
    "Retour_Insight__c": ("Opportunity__c", "Account__c", "Theme__c", "Decision_Status__c", "Status__c",
                          "Target_Release__c", "Title_En__c", "Title_Fr__c", "Insight__c", "Insight_En__c",
                          "Insight_Fr__c", "Theme_Url__c", "OwnerId"),
}
# The columns of the related lists that show what Retour pushed.
INSIGHT_COLUMNS = ("Name", "Decision_Status__c", "Status__c", "Target_Release__c", "Title_En__c", "Title_Fr__c",
                   "Insight__c", "Insight_En__c", "Insight_Fr__c", "Theme__c", "Theme_Url__c", "CreatedDate")
TASK_COLUMNS = ("Subject", "Description", "Status", "OwnerId", "ActivityDate", "CreatedDate")

STYLE = """
body{font-family:system-ui,-apple-system,"Segoe UI",sans-serif;margin:0;background:#f3f3f3;color:#181818}
.banner{background:#032d60;color:#fff;padding:.5rem 1.25rem;font-size:.9rem}
main{max-width:72rem;margin:1rem auto;padding:0 1rem}
section{background:#fff;border:1px solid #ddd;border-radius:.25rem;padding:1rem 1.25rem;margin-bottom:1rem}
h1{font-size:1.4rem;margin:.2rem 0 .8rem}h2{font-size:1.05rem;margin:0 0 .6rem}
.object{color:#555;font-size:.85rem;text-transform:uppercase;letter-spacing:.04em}
dl{display:grid;grid-template-columns:max-content 1fr;gap:.3rem 1.2rem;margin:0}
dt{color:#555}dd{margin:0;white-space:pre-wrap}
table{border-collapse:collapse;width:100%;font-size:.9rem}
th,td{text-align:left;vertical-align:top;border-top:1px solid #e5e5e5;padding:.35rem .5rem;white-space:pre-wrap}
th{color:#555;font-weight:600;border-top:none}.none{color:#777}.more{color:#555;font-size:.85rem}
"""


def match(method: str, path: str) -> str | None:
    """The record Id a browser asks the page of (``GET /<Id>``, whether or not the Id is well formed), else None.
    ``/services`` is the API's, never a record page's."""
    if method != "GET":
        return None
    m = _PAGE_PATH.match(path)
    if m is None or m.group(1).lower() == "services":
        return None
    return m.group(1)


def render(org: "DemoOrg", record_id: str) -> tuple[int, str]:
    """(status, HTML) of the record page for ``record_id``: 404 for an Id no live record has."""
    store = org.store
    if not _RECORD_ID.match(record_id):
        return 404, _not_found(record_id)
    name = object_for_id(record_id)
    obj = OBJECTS.get(name) if name else None
    if obj is None or store is None:
        return 404, _not_found(record_id)
    org.answer_due()  # what reps did by now shows, as an API read would see it
    row = store.get_row(obj, record_id, include_deleted=False)
    if row is None:
        return 404, _not_found(record_id)
    names = _Names(store)
    title = _title(obj, row)
    parts = [f'<section><div class="object">{_e(obj.label)}</div><h1>{_e(title)}</h1>',
             _details(obj, row, names), "</section>"]
    insight = OBJECTS.get("Retour_Insight__c")
    if insight is not None:
        for f in insight.fields:
            if f.type == "reference" and f.custom and obj.name in f.reference_to:
                parts.append(_insights(store, insight, f.name, row["Id"], names))
    task = OBJECTS["Task"]
    what = task.get("WhatId")
    if what is not None and obj.name in what.reference_to:
        parts.append(_tasks(store, task, row["Id"], names))
    return 200, _page(f"{title} | {obj.label}", "".join(parts))


def _e(value: Any) -> str:
    return html.escape("" if value is None else str(value), quote=True)


def _page(title: str, body: str) -> str:
    return (f'<!DOCTYPE html><html lang="en"><head><meta charset="utf-8"><title>{_e(title)} — {_e(BANNER)}</title>'
            f'<meta name="viewport" content="width=device-width, initial-scale=1"><meta name="robots" content="noindex">'
            f'<style>{STYLE}</style></head><body><div class="banner">{_e(BANNER)}. Read-only record page; '
            f'changes are made through the API.</div><main>{body}</main></body></html>')


def _not_found(record_id: str) -> str:
    return _page("Record not found", f"<section><h1>Record not found</h1><p>No record in this org has the Id "
                 f"<code>{_e(record_id)}</code>: it may have been deleted, or the link is mistyped.</p></section>")


def _title(obj: SObject, row: dict) -> str:
    for key in ("Name", "Subject", "CaseNumber", "Title"):
        if obj.get(key) is not None and row.get(key):
            return str(row[key])
    return str(row["Id"])


class _Names:
    """Names of the records a page refers to (owners, accounts, related-to), read once each."""

    def __init__(self, store: Store):
        self.store, self.cache = store, {}

    def __call__(self, record_id: str | None) -> str | None:
        if not record_id:
            return None
        if record_id not in self.cache:
            name = object_for_id(record_id)
            obj = OBJECTS.get(name) if name else None
            row = self.store.get_row(obj, record_id) if obj is not None else None
            self.cache[record_id] = _title(obj, row) if row is not None else record_id
        return self.cache[record_id]


def _value(obj: SObject, field_name: str, row: dict, names: _Names) -> str:
    """One field's value as escaped HTML ('' when empty): lookups show the record's name, linked to its page."""
    f = obj.get(field_name)
    value = row.get(field_name)
    if f is None or value is None or value == "":
        return ""
    if f.type == "reference":
        return f'<a href="/{_e(value)}">{_e(names(value))}</a>'
    if f.type == "currency":
        currency = row.get("CurrencyIsoCode") or ""
        return _e(f"{float(value):,.2f} {currency}".strip())
    if f.type == "boolean":
        return "Yes" if value else "No"
    if f.type == "datetime":
        return _e(dt.datetime.fromtimestamp(value / 1000, UTC).strftime("%Y-%m-%d %H:%M UTC"))
    if f.type == "url" and re.match(r"^https?://", str(value), re.I):
        return f'<a href="{_e(value)}" rel="noreferrer">{_e(value)}</a>'
    return _e(value)


LABELS = {("Task", "ActivityDate"): "Due Date", ("Event", "ActivityDate"): "Due Date"}  # as a record page reads


def _label(obj: SObject, field_name: str) -> str:
    f = obj.get(field_name)
    label = (f.label or f.name) if f is not None else field_name
    label = LABELS.get((obj.name, field_name), label)
    if f is not None and f.type == "reference" and label.endswith(" ID"):
        label = label[:-3]  # "Owner ID" reads "Owner" on a page, as in Salesforce
    return _e(label)


def _details(obj: SObject, row: dict, names: _Names) -> str:
    items = []
    for field_name in KEY_FIELDS.get(obj.name, ()):
        if obj.get(field_name) is None:
            continue
        shown = _value(obj, field_name, row, names)
        items.append(f"<dt>{_label(obj, field_name)}</dt><dd>{shown or '<span class=none>—</span>'}</dd>")
    items.append(f"<dt>Record ID</dt><dd>{_e(row['Id'])}</dd>")
    return f"<dl>{''.join(items)}</dl>"


def _related(store: Store, obj: SObject, where: str, record_id: str) -> tuple[list[dict], int]:
    with store.lock:
        total = store.conn.execute(f'SELECT COUNT(*) FROM "{obj.name}" WHERE "{where}" = ? AND "IsDeleted" = 0',
                                   (to18(record_id),)).fetchone()[0]
        cur = store.conn.execute(f'SELECT * FROM "{obj.name}" WHERE "{where}" = ? AND "IsDeleted" = 0 '
                                 f'ORDER BY "CreatedDate" DESC, rowid DESC LIMIT {RELATED_MAX}', (to18(record_id),))
        cols = [d[0] for d in cur.description]
        rows = [dict(zip(cols, r)) for r in cur.fetchall()]
    return rows, total


def _table(title: str, obj: SObject, columns: tuple[str, ...], rows: list[dict], total: int, names: _Names,
           css: str) -> str:
    head = f'<section class="{css}"><h2>{_e(title)} ({total})</h2>'
    if not rows:
        return head + '<p class="none">None yet.</p></section>'
    # Columns no row fills are left out: an insight pushed in English only shows no empty French columns.
    shown = [c for c in columns if obj.get(c) is not None
             and (c in ("Name", "Subject") or any(row.get(c) not in (None, "") for row in rows))]
    th = "".join(f"<th>{_label(obj, c)}</th>" for c in shown)
    body = []
    for row in rows:
        cells = []
        for c in shown:
            value = _value(obj, c, row, names)
            if c in ("Name", "Subject"):
                value = f'<a href="/{_e(row["Id"])}">{value or _e(row["Id"])}</a>'
            cells.append(f"<td>{value}</td>")
        body.append(f"<tr>{''.join(cells)}</tr>")
    more = f'<p class="more">and {total - len(rows)} more</p>' if total > len(rows) else ""
    return f"{head}<table><thead><tr>{th}</tr></thead><tbody>{''.join(body)}</tbody></table>{more}</section>"


def _insights(store: Store, insight: SObject, lookup: str, record_id: str, names: _Names) -> str:
    rows, total = _related(store, insight, lookup, record_id)
    return _table(insight.label_plural, insight, INSIGHT_COLUMNS, rows, total, names, "insights")


def _tasks(store: Store, task: SObject, record_id: str, names: _Names) -> str:
    rows, total = _related(store, task, "WhatId", record_id)
    return _table("Tasks", task, TASK_COLUMNS, rows, total, names, "tasks")
