"""`retour import FILE.csv --object …`: Salesforce report or Data Loader exports, for orgs without API access.

The file goes through the same Streams (field mapping, typed attributes) and the same upsert and
FeedbackItem code as the API sync, keyed by the record Id, so importing a file twice changes nothing and
a later API sync converges on the same rows. Only the columns present in the file are written to an
existing row (a narrow report does not blank what a wider one brought). Rows that cannot be read are
reported with their row number, column and reason; every other row is loaded.
"""

from __future__ import annotations

import csv
import datetime as dt
import re
from decimal import Decimal
from pathlib import Path
from typing import Any

from sqlalchemy import select
from sqlalchemy.orm import Session

from connector.feedback import apply_feedback, specs_for
from connector.streams import STREAMS, Stream, parse_datetime
from connector.sync import now_utc, upsert_rows
from connector.text import storable_record
from retour.config import Settings

IMPORTABLE = ("Opportunity", "Task", "Event", "Case")
MAX_FILE_BYTES = 512 * 1024 * 1024


class ImportFileError(ValueError):
    """The file as a whole cannot be imported (missing Id column, unreadable encoding…)."""


# Common report column labels (English and French Salesforce UIs) → API names.
LABELS: dict[str, dict[str, str]] = {
    "Opportunity": {
        "opportunity id": "Id", "id de l'opportunité": "Id", "opportunity name": "Name", "nom de l'opportunité": "Name",
        "account id": "AccountId", "id du compte": "AccountId", "opportunity owner id": "OwnerId", "owner id": "OwnerId",
        "id du propriétaire": "OwnerId", "stage": "StageName", "étape": "StageName", "amount": "Amount",
        "montant": "Amount", "close date": "CloseDate", "date de clôture": "CloseDate", "closed": "IsClosed",
        "fermé": "IsClosed", "won": "IsWon", "gagné": "IsWon", "opportunity currency": "CurrencyIsoCode",
        "currency": "CurrencyIsoCode", "devise": "CurrencyIsoCode", "created date": "CreatedDate",
        "date de création": "CreatedDate", "last modified date": "LastModifiedDate",
        "date de dernière modification": "LastModifiedDate",
    },
    "Task": {
        "activity id": "Id", "task id": "Id", "id de l'activité": "Id", "subject": "Subject", "objet": "Subject",
        "comments": "Description", "full comments": "Description", "commentaires": "Description",
        "related to id": "WhatId", "id de l'élément associé": "WhatId", "name id": "WhoId", "account id": "AccountId",
        "id du compte": "AccountId", "assigned id": "OwnerId", "assigned to id": "OwnerId", "owner id": "OwnerId",
        "due date": "ActivityDate", "date": "ActivityDate", "date d'échéance": "ActivityDate", "status": "Status",
        "statut": "Status", "closed": "IsClosed", "created date": "CreatedDate", "date de création": "CreatedDate",
        "last modified date": "LastModifiedDate",
    },
    "Case": {
        "case id": "Id", "id de la requête": "Id", "subject": "Subject", "objet": "Subject", "description": "Description",
        "status": "Status", "statut": "Status", "priority": "Priority", "priorité": "Priority", "case origin": "Origin",
        "origine de la requête": "Origin", "account id": "AccountId", "id du compte": "AccountId",
        "case owner id": "OwnerId", "owner id": "OwnerId", "closed": "IsClosed", "fermé": "IsClosed",
        "date/time opened": "CreatedDate", "opened date": "CreatedDate", "date/heure d'ouverture": "CreatedDate",
        "created date": "CreatedDate", "last modified date": "LastModifiedDate",
    },
}
LABELS["Event"] = {**LABELS["Task"], "event id": "Id", "start": "StartDateTime", "start date time": "StartDateTime"}

# Which API fields each mirrored column is read from (for writing only the columns a file carries).
_COMMON = {"id": ("Id",), "system_modstamp": ("SystemModstamp", "LastModifiedDate"), "created_date": ("CreatedDate",)}
_ACTIVITY = {"subject": ("Subject",), "description": ("Description",), "what_id": ("WhatId",), "who_id": ("WhoId",),
             "account_id": ("AccountId",), "owner_id": ("OwnerId",), "activity_date": ("ActivityDate",),
             "status": ("Status",), "is_closed": ("IsClosed", "Status"), "retour_key": ("Retour_Key__c",), "kind": ()}
SOURCES = {
    "Opportunity": {"name": ("Name",), "account_id": ("AccountId",), "owner_id": ("OwnerId",), "stage": ("StageName",),
                    "is_closed": ("IsClosed", "StageName"), "is_won": ("IsWon", "StageName"), "amount": ("Amount",),
                    "currency": ("CurrencyIsoCode",), "close_date": ("CloseDate",)},
    "Task": _ACTIVITY, "Event": _ACTIVITY,
    "Case": {"account_id": ("AccountId",), "owner_id": ("OwnerId",), "subject": ("Subject",),
             "description": ("Description",), "status": ("Status",), "priority": ("Priority",), "origin": ("Origin",),
             "is_closed": ("IsClosed", "Status")},
}

_DATE_FORMATS = ("%Y-%m-%d", "%d/%m/%Y", "%m/%d/%Y", "%d.%m.%Y", "%d-%m-%Y")
_DATETIME_FORMATS = ("%d/%m/%Y %H:%M", "%m/%d/%Y %I:%M %p", "%m/%d/%Y %H:%M", "%d.%m.%Y %H:%M", "%Y-%m-%d %H:%M:%S",
                     "%Y-%m-%d %H:%M")
_ID_RE = re.compile(r"^[a-zA-Z0-9]{15}([a-zA-Z0-9]{3})?$")


def to18(record_id: str) -> str:
    """Salesforce's 15→18 character Id (case-safe suffix), so report Ids match API Ids."""
    if len(record_id) != 15:
        return record_id
    suffix = ""
    for block in range(3):
        bits = sum(1 << i for i, ch in enumerate(record_id[block * 5:block * 5 + 5]) if "A" <= ch <= "Z")
        suffix += "ABCDEFGHIJKLMNOPQRSTUVWXYZ012345"[bits]
    return record_id + suffix


def parse_report_date(value: str) -> str:
    value = value.strip()
    for fmt in _DATE_FORMATS:
        try:
            return dt.datetime.strptime(value[:10] if fmt == "%Y-%m-%d" else value, fmt).date().isoformat()
        except ValueError:
            continue
    raise ValueError(f"not a date: {value!r} (expected e.g. 2024-01-31 or 31/01/2024)")


def parse_report_datetime(value: str) -> str:
    value = value.strip()
    try:
        return parse_datetime(value).isoformat()  # type: ignore[union-attr]
    except ValueError:
        pass
    for fmt in _DATETIME_FORMATS:
        try:
            return dt.datetime.strptime(value, fmt).replace(tzinfo=dt.timezone.utc).isoformat()
        except ValueError:
            continue
    return parse_report_date(value) + "T00:00:00+00:00"


def parse_report_number(value: str) -> str:
    """``EUR 48,000.00``, ``48 000,00 €``, ``48000`` → ``48000.00``-style text."""
    text = re.sub(r"[^\d,.\-]", "", value.replace("\u202f", "").replace("\u00a0", ""))
    if not text or not re.search(r"\d", text):
        raise ValueError(f"not a number: {value!r}")
    if "," in text and "." in text:
        text = text.replace(",", "") if text.rfind(".") > text.rfind(",") else text.replace(".", "").replace(",", ".")
    elif "," in text:
        head, _, tail = text.rpartition(",")
        text = f"{head.replace(',', '')}.{tail}" if len(tail) != 3 else text.replace(",", "")
    Decimal(text)
    return text


def _field_kinds(stream: Stream, settings: Settings) -> dict[str, str]:
    kinds = {"CloseDate": "date", "ActivityDate": "date", "Amount": "number", "IsClosed": "boolean", "IsWon": "boolean",
             "CreatedDate": "datetime", "LastModifiedDate": "datetime", "SystemModstamp": "datetime",
             "StartDateTime": "datetime"}
    for fm in settings.mapping.extra:
        kinds[fm.field] = fm.kind
    return kinds


def _header_map(stream: Stream, settings: Settings, header: list[str]) -> dict[int, str]:
    api = {f.lower(): f for f in stream.wanted_fields() + ["LastModifiedDate", "Status", "Priority", "Origin"]}
    labels = dict(LABELS.get(stream.name, {}))
    if stream.name == "Opportunity":
        m = settings.mapping
        for setting, label in (("loss_reason", "loss reason"), ("loss_detail", "loss reason detail"),
                               ("competitor", "competitor"), ("region", "region"), ("segment", "segment")):
            if getattr(m, setting):
                labels[label] = getattr(m, setting)
        for fm in m.extra:
            labels[(fm.label or fm.name.replace("_", " ")).lower()] = fm.field
    out = {}
    for i, name in enumerate(header):
        key = name.strip().lower()
        target = api.get(key) or labels.get(key)
        if target:
            out.setdefault(i, target)
    return out


def _derive_closed(stage: str | None) -> tuple[bool, bool] | None:
    if not stage:
        return None
    s = stage.strip().lower()
    if s in ("closed won", "fermée gagnée", "gagné"):
        return True, True
    if s in ("closed lost", "fermée perdue", "perdu"):
        return True, False
    return None


def import_csv(session: Session, settings: Settings, path: Path, sobject: str) -> dict[str, Any]:
    """Load ``path`` into the mirror and FeedbackItems; return counts and per-row errors."""
    if sobject not in IMPORTABLE:
        raise ImportFileError(f"--object must be one of {', '.join(IMPORTABLE)}, not {sobject!r}.")
    if path.stat().st_size > MAX_FILE_BYTES:
        raise ImportFileError(f"{path} is larger than {MAX_FILE_BYTES // 2**20} MB; split the export.")
    stream = STREAMS[sobject](settings)
    try:
        handle = path.open(encoding="utf-8-sig", newline="")
        sample = handle.read(65536)
        handle.seek(0)
    except UnicodeDecodeError:
        handle = path.open(encoding="cp1252", newline="")  # Excel on Windows
        sample = handle.read(65536)
        handle.seek(0)
    with handle:
        delimiter = ";" if sample.split("\n", 1)[0].count(";") > sample.split("\n", 1)[0].count(",") else ","
        reader = csv.reader(handle, delimiter=delimiter)
        header = next(reader, None)
        if not header:
            raise ImportFileError(f"{path.name} is empty.")
        columns = _header_map(stream, settings, header)
        if "Id" not in columns.values():
            raise ImportFileError(f"{path.name} has no record Id column (e.g. \"{sobject} ID\" or \"Id\"). Add the "
                                  f"Id column to the report or the Data Loader export; rows are matched by Id.")
        present = set(columns.values())
        kinds = _field_kinds(stream, settings)
        records, errors, row_numbers = [], [], {}
        for line_no, cells in enumerate(reader, start=2):
            if not any(c.strip() for c in cells):
                continue
            if len(cells) > len(header):
                errors.append({"row": line_no, "column": "-", "reason": f"{len(cells)} cells for {len(header)} columns"})
                continue
            rec, bad = {}, None
            for i, field_name in columns.items():
                raw = cells[i].strip() if i < len(cells) else ""
                if raw == "" or raw == "-":
                    rec[field_name] = None
                    continue
                try:
                    kind = kinds.get(field_name)
                    if field_name == "Id" or field_name.endswith("Id") and field_name != "Id" and kind is None:
                        if not _ID_RE.match(raw):
                            raise ValueError(f"not a Salesforce Id: {raw!r}")
                        raw = to18(raw)
                    elif kind == "date":
                        raw = parse_report_date(raw)
                    elif kind == "datetime":
                        raw = parse_report_datetime(raw)
                    elif kind == "number":
                        raw = parse_report_number(raw)
                    rec[field_name] = raw
                except ValueError as exc:
                    bad = {"row": line_no, "column": header[i], "reason": str(exc)}
                    break
            if bad is None and not rec.get("Id"):
                bad = {"row": line_no, "column": header[[i for i, f in columns.items() if f == "Id"][0]],
                       "reason": "missing record Id"}
            if bad:
                errors.append(bad)
                continue
            if stream.name == "Opportunity" and ("IsClosed" not in present or "IsWon" not in present):
                derived = _derive_closed(rec.get("StageName"))
                if derived:
                    rec.setdefault("IsClosed", derived[0]) if "IsClosed" in present else rec.update(IsClosed=derived[0])
                    rec.setdefault("IsWon", derived[1]) if "IsWon" in present else rec.update(IsWon=derived[1])
            if stream.name == "Task" and "IsClosed" not in present and rec.get("Status"):
                rec["IsClosed"] = rec["Status"].strip().lower() in ("completed", "terminée", "terminé")
            if stream.name == "Case" and "IsClosed" not in present and rec.get("Status"):
                rec["IsClosed"] = rec["Status"].strip().lower() in ("closed", "fermé", "fermée")
            if "SystemModstamp" not in rec and rec.get("LastModifiedDate"):
                rec["SystemModstamp"] = rec["LastModifiedDate"]
            row_numbers[rec["Id"]] = line_no
            records.append(rec)
    result = _store(session, stream, records, present, errors, row_numbers)
    result["errors"] = sorted(errors, key=lambda e: e["row"])
    result["rows"] = len(records) + len(errors)
    return result


def _columns_from(stream: Stream, present: set[str]) -> set[str]:
    derived = set(present) | {"IsClosed", "IsWon"}
    sources = {**_COMMON, **SOURCES[stream.name]}
    cols = {c for c, fields in sources.items() if not fields or any(f in derived for f in fields)}
    if stream.name == "Opportunity":
        m = stream.settings.mapping
        for col in ("loss_reason", "loss_detail", "competitor", "region", "segment"):
            if getattr(m, col) and getattr(m, col) in present:
                cols.add(col)
        if any(fm.field in present for fm in m.extra):
            cols.add("attributes")
    return cols


def _store(session: Session, stream: Stream, records: list[dict], present: set[str], errors: list[dict],
           row_numbers: dict[str, int]) -> dict[str, Any]:
    model = stream.model
    columns = _columns_from(stream, present)
    rows: dict[str, dict] = {}
    replaced = 0
    for rec in records:
        rec, n = storable_record(rec)  # NUL and lone surrogates: no database stores them (counted, replaced)
        replaced += n
        try:
            row = stream.to_row(rec)
        except (ValueError, TypeError, KeyError) as exc:
            errors.append({"row": row_numbers[rec["Id"]], "column": "-", "reason": str(exc)})
            continue
        rows[row["id"]] = {k: v for k, v in row.items() if k in columns}
    existing: dict[str, dict] = {}
    ids = list(rows)
    table = model.__table__
    for i in range(0, len(ids), 500):
        for r in session.execute(select(table).where(table.c.id.in_(ids[i:i + 500]))).mappings():
            existing[r["id"]] = dict(r)
    counts = {"inserted": 0, "updated": 0, "unchanged": 0, "characters_replaced": replaced}
    changed: list[dict] = []
    stamp = now_utc()
    for rid, row in rows.items():
        old = existing.get(rid)
        if old is None:
            if row.get("system_modstamp") is None:
                row["system_modstamp"] = None
            full = {c.name: None for c in table.columns if c.name not in ("synced_at",)}
            full.update({"attributes": {}} if "attributes" in table.c else {})
            full.update({k: v for k, v in row.items()})
            for c in table.columns:
                if full.get(c.name) is None and c.default is not None and not callable(c.default.arg):
                    full[c.name] = c.default.arg
            if "linked_ids" in table.c and full.get("linked_ids") is None:
                full["linked_ids"] = []
            full["synced_at"] = stamp
            changed.append(full)
            counts["inserted"] += 1
        elif any(old.get(k) != v for k, v in row.items()):
            merged = {**old, **row, "synced_at": stamp}
            changed.append(merged)
            counts["updated"] += 1
        else:
            counts["unchanged"] += 1
    # Same key set for every row of one executemany.
    for i in range(0, len(changed), 1000):
        upsert_rows(session, model, changed[i:i + 1000])
    if changed:
        specs = [s for row in changed for s in specs_for(stream.name, row)]
        counts["feedback"] = apply_feedback(session, stream.name, [r["id"] for r in changed], specs)
    return counts
