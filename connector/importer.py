"""`retour import FILE.csv --object …`: Salesforce report or Data Loader exports, for orgs without API access.

The file goes through the same Streams (field mapping, typed attributes) and the same upsert and
FeedbackItem code as the API sync, keyed by the record Id, so importing a file twice changes nothing and
a later API sync converges on the same rows. Only the columns present in the file are written to an
existing row (a narrow report does not blank what a wider one brought).

A file is read as a stream, never held whole (a 200 MB export stays under 500 MB of memory), in two passes:

1. the scan decides what the file is before anything is written: its encoding on the whole file (UTF-8, UTF-16 or
   Windows-1252, or one clear error), its required columns, its decimal mark (from the whole of each number
   column), and every row that cannot be read, with its row number, column and reason;
2. the write stores the rows in batches of :data:`BATCH_ROWS` inside the caller's transaction.

All or nothing by default: one unreadable row and nothing is written (:class:`ImportRejected` lists them all);
``keep_good`` stores the others.
"""

from __future__ import annotations

import codecs
import csv
import datetime as dt
import io
import re
from collections.abc import Callable, Iterator
from dataclasses import dataclass, field
from pathlib import Path
from typing import IO, Any

from sqlalchemy import select
from sqlalchemy.orm import Session

from connector.feedback import apply_feedback, specs_for
from connector.streams import STREAMS, Stream, parse_datetime
from connector.sync import now_utc, upsert_rows
from connector.text import storable_record
from retour.config import Settings
from retour.models import SyncState

IMPORTABLE = ("Opportunity", "Task", "Event", "Case")
BATCH_ROWS = 2000  # rows stored at once: what the write pass holds, whatever the file's size
MAX_LISTED_ERRORS = 1000  # bad rows kept with their reason (all are counted)
MAX_CELL_CHARS = 32 * 2**20  # a pasted thread in one cell is text to keep, not a broken file (csv's default: 128 KB)
DECIMALS = ("auto", ".", ",")


class ImportFileError(ValueError):
    """The file as a whole cannot be imported (missing columns, unreadable encoding, binary…): nothing was written."""


class ImportRejected(ImportFileError):
    """Some rows cannot be read and the import is all-or-nothing: nothing was written; ``errors`` says which."""

    def __init__(self, name: str, rows: int, errors: list[dict], errors_total: int) -> None:
        self.rows, self.errors, self.errors_total = rows, errors, errors_total
        super().__init__(f"{name}: nothing imported: {errors_total} of {rows} rows cannot be read; fix them, or "
                         f"import the other {rows - errors_total} with --keep-good.")


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


def parse_report_number(value: str, decimal: str = ".") -> str:
    """A report's amount as plain decimal text, read with ``decimal`` as the decimal mark: ``EUR 48,000.00`` and
    ``48000`` with "."; ``48 000,00 €`` and ``1.500`` (one thousand five hundred) with ",". Thousands separators
    must group by three, so a value the other convention wrote is refused rather than read a thousand times off."""
    text = re.sub(r"[^0-9,.\-]", "", value)  # currency codes and symbols, spaces as thousands separators
    if not re.search(r"[0-9]", text):
        raise ValueError(f"not a number: {value!r}")
    thousands = "," if decimal == "." else "."
    negative = text.startswith("-")
    whole, mark, fraction = text.lstrip("-").partition(decimal)
    groups = whole.split(thousands)
    digits = "".join(groups)
    if ("-" in whole + fraction or decimal in fraction or thousands in fraction or not digits.isdigit()
            or (mark and not fraction.isdigit())
            or (len(groups) > 1 and (not 1 <= len(groups[0]) <= 3 or any(len(g) != 3 for g in groups[1:])))):
        raise ValueError(f"not a number written with {decimal!r} as the decimal mark: {value!r}")
    return ("-" if negative else "") + digits + (f".{fraction}" if mark else "")


def _field_kinds(stream: Stream, settings: Settings) -> dict[str, str]:
    kinds = {"CloseDate": "date", "ActivityDate": "date", "Amount": "number", "IsClosed": "boolean", "IsWon": "boolean",
             "CreatedDate": "datetime", "LastModifiedDate": "datetime", "SystemModstamp": "datetime",
             "StartDateTime": "datetime"}
    for fm in settings.mapping.extra:
        kinds[fm.field] = fm.kind
    return kinds


def _synced_labels(session: Session, stream: Stream) -> dict[str, str]:
    """The labels the last describe read for the object's mapped extra fields, lowercased → API name: English
    (``labels``) and Salesforce's translations (``labels_by_language``, French), as a report exported from an
    English or a French Salesforce names its columns. Empty when the org was never synced (an import-only org)."""
    state = session.get(SyncState, stream.name)
    details = (state.details or {}) if state is not None else {}
    extras = {fm.field for fm in stream.settings.mapping.extra}
    out: dict[str, str] = {}
    for labels in [details.get("labels") or {}, *(details.get("labels_by_language") or {}).values()]:
        for api_name, label in labels.items():
            if api_name in extras and isinstance(label, str) and label.strip():
                out.setdefault(label.strip().lower(), api_name)
    return out


def _header_map(stream: Stream, settings: Settings, header: list[str],
                synced: dict[str, str] | None = None) -> dict[int, str]:
    """Each column's API name: by API name, by the usual report labels (English and French), by a mapped field's
    configured ``label`` or ``label_fr``, then by its labels in Salesforce (``synced``: :func:`_synced_labels`),
    which never take a column another way names."""
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
            if fm.label_fr:
                labels[fm.label_fr.lower()] = fm.field
        for label, api_name in (synced or {}).items():
            labels.setdefault(label, api_name)
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


# Columns without which a file's rows mean nothing to Retour: (what to write, API names, any one of which will do).
REQUIRED: dict[str, list[tuple[str, tuple[tuple[str, ...], ...]]]] = {
    "Opportunity": [("a record Id", (("Id",),)),
                    ("the stage (\"Stage\" or \"StageName\"; or both \"IsClosed\" and \"IsWon\")",
                     (("StageName",), ("IsClosed", "IsWon")))],
    "Task": [("a record Id", (("Id",),)), ("a text (\"Subject\" or \"Comments\")", (("Subject",), ("Description",)))],
    "Case": [("a record Id", (("Id",),)), ("a text (\"Subject\" or \"Description\")", (("Subject",), ("Description",)))],
}
REQUIRED["Event"] = REQUIRED["Task"]
_ID_LABEL = {"Opportunity": "\"Opportunity ID\"", "Task": "\"Activity ID\"", "Event": "\"Event ID\"",
             "Case": "\"Case ID\""}
# Column labels only a French Salesforce writes: with no amount that says its decimal mark, a French export's is ",".
_FRENCH_LABELS = {k for labels in LABELS.values() for k in labels
                  if not k.isascii() or k.startswith(("id d", "nom d", "date d", "origine")) or
                  k in ("montant", "devise", "statut", "objet", "commentaires")}
# What a file that is not a CSV starts with, and what to say about it.
_MAGIC = ((b"PK\x03\x04", "an Excel workbook or a zip archive"), (b"\xd0\xcf\x11\xe0", "an Excel 97-2003 workbook"),
          (b"%PDF", "a PDF"), (b"\x1f\x8b", "gzip-compressed"), (b"\x89PNG", "an image"), (b"\xff\xd8\xff", "an image"),
          (b"GIF8", "an image"), (b"\x7fELF", "a program"))
_CONTROL = re.compile(rb"[\x00-\x08\x0e-\x1f]")

Opener = Callable[[], IO[bytes]]


def import_csv(session: Session, settings: Settings, path: Path, sobject: str, *, decimal: str = "auto",
               keep_good: bool = False) -> dict[str, Any]:
    """Load ``path`` into the mirror and FeedbackItems; return counts and the rows set aside (``keep_good``).

    ``decimal``: "auto" decides the decimal mark from the whole of each number column, "." or "," says it."""
    return import_file(session, settings, lambda: path.open("rb"), path.name, sobject, decimal=decimal,
                       keep_good=keep_good)


def import_file(session: Session, settings: Settings, open_bytes: Opener, name: str, sobject: str, *,
                decimal: str = "auto", keep_good: bool = False) -> dict[str, Any]:
    """:func:`import_csv` on any file ``open_bytes()`` opens (in binary mode; it is opened once per pass)."""
    if sobject not in IMPORTABLE:
        raise ImportFileError(f"--object must be one of {', '.join(IMPORTABLE)}, not {sobject!r}.")
    if decimal not in DECIMALS:
        raise ImportFileError(f"--decimal must be one of {', '.join(DECIMALS)}, not {decimal!r}.")
    csv.field_size_limit(max(csv.field_size_limit(), MAX_CELL_CHARS))
    stream = STREAMS[sobject](settings)
    encoding = decide_encoding(open_bytes, name)
    scan = _scan(open_bytes, name, encoding, stream, settings, decimal, _synced_labels(session, stream))
    if scan.errors_total and not keep_good:
        raise ImportRejected(name, scan.rows, scan.errors, scan.errors_total)
    counts = {"inserted": 0, "updated": 0, "unchanged": 0, "characters_replaced": 0, "feedback": {}}
    with _reader(open_bytes, name, encoding, scan.delimiter) as (reader, _header):
        batch: list[tuple[int, dict]] = []
        for line_no, rec, bad in _records(reader, scan, stream):
            if bad is None:
                batch.append((line_no, rec))
            if len(batch) >= BATCH_ROWS:
                _store(session, stream, batch, scan.present, counts)
                batch = []
        if batch:
            _store(session, stream, batch, scan.present, counts)
    return {**counts, "rows": scan.rows, "errors": scan.errors, "errors_total": scan.errors_total,
            "encoding": encoding, "decimal": scan.decimal, "decimal_from": scan.decimal_from}


def decide_encoding(open_bytes: Opener, name: str) -> str:
    """The file's encoding, decided on all of its bytes: UTF-8 (with or without BOM), UTF-16 (Excel's "Unicode
    text") or Windows-1252 (Excel on Windows); a binary file or a mix of encodings is one clear error.

    The first 64 KB are not enough: a Windows-1252 export whose first accent comes later decoded as UTF-8 until
    that line, then failed with a traceback."""
    with open_bytes() as fh:
        head = fh.read(65536)
        what = next((label for magic, label in _MAGIC if head.startswith(magic)), None)
        if what is None and not head.startswith((b"\xff\xfe", b"\xfe\xff")):
            controls = len(_CONTROL.findall(head))
            what = "binary data" if controls >= 8 and controls > len(head) // 20 else None
        if what:
            raise ImportFileError(f"{name} is {what}, not a CSV file: export the report as CSV (or save the sheet as "
                                  "\"CSV UTF-8\") and import that.")
        if head.startswith((b"\xff\xfe", b"\xfe\xff")):
            return "utf-16"
        decoder = codecs.getincrementaldecoder("utf-8-sig")()
        chunk, line, seen_non_ascii = head, 1, False
        while True:
            following = fh.read(2**20) if chunk else b""
            try:
                decoder.decode(chunk, final=not following)  # final: a sequence cut by the end of the file fails too
            except UnicodeDecodeError as exc:
                line += chunk[:max(exc.start, 0)].count(b"\n")
                if seen_non_ascii or not chunk[:max(exc.start, 0)].isascii():
                    raise ImportFileError(f"{name} mixes encodings: UTF-8 text before line {line}, then a byte UTF-8 "
                                          "cannot hold; save the whole file as \"CSV UTF-8\" and import it again.") from None
                break
            if not following:
                return "utf-8-sig"
            seen_non_ascii = seen_non_ascii or not chunk.isascii()
            line += chunk.count(b"\n")
            chunk = following
    with open_bytes() as fh:  # not UTF-8: Windows-1252, if every byte of the file is one
        line = 1
        while chunk := fh.read(2**20):
            try:
                chunk.decode("cp1252")
            except UnicodeDecodeError as exc:
                line += chunk[:exc.start].count(b"\n")
                raise ImportFileError(f"{name}: line {line} holds byte 0x{chunk[exc.start]:02x}, which is neither UTF-8 "
                                      "nor Windows-1252 text; save the file as \"CSV UTF-8\" and import it again.") from None
            line += chunk.count(b"\n")
    return "cp1252"


class _Reader:
    """A csv reader over the decoded file after its header row; a context manager that closes the file."""

    def __init__(self, open_bytes: Opener, name: str, encoding: str, delimiter: str | None) -> None:
        self.text = io.TextIOWrapper(open_bytes(), encoding=encoding, newline="")
        try:
            first = self.text.readline()
        except UnicodeDecodeError:
            self.text.close()
            raise ImportFileError(f"{name}: its first line is not {encoding} text; save the file as \"CSV UTF-8\".") from None
        self.delimiter = delimiter or max((",", ";", "\t"), key=first.count)
        self.reader = csv.reader(_Chain(first, self.text), delimiter=self.delimiter)
        self.header = next(self.reader, None)

    def __enter__(self) -> tuple[Any, list[str] | None]:
        return self.reader, self.header

    def __exit__(self, *_exc: Any) -> None:
        self.text.close()


class _Chain:
    """The header line already read, then the rest of the file, as csv.reader wants lines: one at a time."""

    def __init__(self, first: str, rest: IO[str]) -> None:
        self.first, self.rest = first, rest

    def __iter__(self) -> Iterator[str]:
        if self.first:
            yield self.first
        yield from self.rest


def _reader(open_bytes: Opener, name: str, encoding: str, delimiter: str | None) -> _Reader:
    return _Reader(open_bytes, name, encoding, delimiter)


@dataclass
class _Scan:
    """What the scan learnt about a file: enough to write it without reading it whole."""

    name: str
    encoding: str
    header: list[str]
    delimiter: str
    columns: dict[int, str]
    present: set[str]
    kinds: dict[str, str]
    decimal: str = "."
    decimal_from: str = ""
    rows: int = 0
    errors: list[dict] = field(default_factory=list)
    errors_total: int = 0

    def number(self, raw: str) -> str:
        return parse_report_number(raw, self.decimal)

    def error(self, bad: dict) -> None:
        self.errors_total += 1
        if len(self.errors) < MAX_LISTED_ERRORS:
            self.errors.append(bad)


def _scan(open_bytes: Opener, name: str, encoding: str, stream: Stream, settings: Settings, decimal: str,
          synced: dict[str, str] | None = None) -> _Scan:
    """Read the whole file once, writing nothing: its columns, its decimal mark and every row it cannot import."""
    with _reader(open_bytes, name, encoding, None) as (reader, header):
        if not header or not any(h.strip() for h in header):
            raise ImportFileError(f"{name} is empty: export the report with its header row.")
        columns = _header_map(stream, settings, header, synced)
        present = set(columns.values())
        _check_required(name, stream.name, header, present)
        scan = _Scan(name, encoding, header, reader.dialect.delimiter, columns, present,
                     _field_kinds(stream, settings))
        # Per amount column (by its name in the file) and decimal mark, the first value only that mark can read. With --decimal every
        # amount is read its way at once; with "auto" the column decides, so a value read both ways waits.
        only: dict[str, dict[str, tuple[int, str]]] = {}

        def observe(raw: str, column: str, line_no: int) -> str:
            if decimal != "auto":
                return parse_report_number(raw, decimal)
            readings = {}
            for mark in (".", ","):
                try:
                    readings[mark] = parse_report_number(raw, mark)
                except ValueError:
                    continue
            if not readings:
                raise ValueError(f"not a number: {raw[:40]!r}")
            if len(readings) == 1:
                only.setdefault(column, {}).setdefault(next(iter(readings)), (line_no, raw[:40]))
            return next(iter(readings.values()))

        for line_no, rec, bad in _records(reader, scan, stream, observe):
            scan.rows += 1
            if bad is not None:
                scan.error(bad)
                continue
            try:
                stream.to_row(storable_record(rec)[0])
            except (ValueError, TypeError, KeyError) as exc:
                scan.error({"row": line_no, "column": "-", "reason": str(exc)[:300]})
    scan.decimal, scan.decimal_from = _decide_decimal(name, header, scan.delimiter, only, decimal)
    return scan


def _decide_decimal(name: str, header: list[str], delimiter: str, only: dict[str, dict[str, tuple[int, str]]],
                    decimal: str) -> tuple[str, str]:
    """The decimal mark to read the file's amounts with, and why: said (--decimal); read in the file (a value only
    one mark can read: ``1,500.25``, ``1 500,50``, ``12.5``), and no value reads only the other way, in any column;
    or, when every value reads both ways (``1.500``: one and a half in English, fifteen hundred in French), the
    export's language."""
    if decimal != "auto":
        return decimal, "--decimal"
    for column, seen in only.items():
        if len(seen) == 2:
            (line_a, a), (line_b, b) = seen["."], seen[","]
            raise ImportFileError(f"{name}: the {column!r} column writes amounts both ways ({a!r} on row {line_a}, "
                                  f"{b!r} on row {line_b}); say which mark is the decimal one with --decimal . or "
                                  "--decimal , (nothing was imported).")
    marks = {mark for seen in only.values() for mark in seen}
    if len(marks) > 1:
        raise ImportFileError(f"{name}: its amount columns write decimals both ways; say which with --decimal . or "
                              "--decimal , (nothing was imported).")
    if marks:
        mark = marks.pop()
        example = next(seen[mark][1] for seen in only.values() if mark in seen)
        return mark, f"the file's amounts (e.g. {example!r})"
    french = delimiter == ";" or any(h.strip().lower() in _FRENCH_LABELS for h in header)
    return ("," if french else "."), ("a French export (\";\" or French column names)" if french else "the default")


def _check_required(name: str, sobject: str, header: list[str], present: set[str]) -> None:
    missing = [what for what, options in REQUIRED[sobject] if not any(set(o) <= present for o in options)]
    if missing:
        found = ", ".join(f'"{h.strip()}"' for h in header if h.strip())[:300]
        id_hint = (f' (e.g. {_ID_LABEL[sobject]} or "Id"; rows are matched by Id)'
                   if "a record Id" in missing else "")
        raise ImportFileError(f"{name} has no column for {' and '.join(missing)}{id_hint}: add it to the report or "
                              f"the Data Loader export; nothing was imported. Columns found: {found}.")


def _records(reader: Any, scan: _Scan, stream: Stream,
             observe: Callable[[str, str, int], str] | None = None) -> Iterator[tuple[int, dict | None, dict | None]]:
    """(spreadsheet row number, record, None) or (row number, None, why not) for each non-blank row.

    Amounts are read with the scan's decimal mark, or while scanning by ``observe(raw, column name, row)``."""
    header, columns, kinds, present = scan.header, scan.columns, scan.kinds, scan.present
    id_column = header[next(i for i, f in columns.items() if f == "Id")]
    line_no = 1
    try:
        for line_no, cells in enumerate(reader, start=2):
            if not any(c.strip() for c in cells):
                continue
            if len(cells) > len(header):
                yield line_no, None, {"row": line_no, "column": "-",
                                      "reason": f"{len(cells)} cells for {len(header)} columns"}
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
                            raise ValueError(f"not a Salesforce Id: {raw[:40]!r}")
                        raw = to18(raw)
                    elif kind == "date":
                        raw = parse_report_date(raw)
                    elif kind == "datetime":
                        raw = parse_report_datetime(raw)
                    elif kind == "number":
                        raw = observe(raw, header[i], line_no) if observe else scan.number(raw)
                    rec[field_name] = raw
                except ValueError as exc:
                    bad = {"row": line_no, "column": header[i], "reason": str(exc)[:300]}
                    break
            if bad is None and not rec.get("Id"):
                bad = {"row": line_no, "column": id_column, "reason": "missing record Id"}
            if bad:
                yield line_no, None, bad
                continue
            _complete(stream, rec, present)
            yield line_no, rec, None
    except csv.Error as exc:
        raise ImportFileError(f"{scan.name}: row {line_no + 1} cannot be read as CSV ({exc}); nothing was "
                              "imported.") from None
    except UnicodeDecodeError:  # a UTF-16 file with a broken character: the encoding was read from its mark
        raise ImportFileError(f"{scan.name}: row {line_no + 1} is not {scan.encoding} text; save the file as "
                              "\"CSV UTF-8\" and import it again (nothing was imported).") from None


def _complete(stream: Stream, rec: dict, present: set[str]) -> None:
    """What a report leaves out and Retour can derive: closed and won from the stage, closed from the status."""
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


def _store(session: Session, stream: Stream, batch: list[tuple[int, dict]], present: set[str],
           counts: dict[str, Any]) -> None:
    """Upsert one batch of records (the mirror, then their FeedbackItems) and add what changed to ``counts``."""
    model = stream.model
    columns = _columns_from(stream, present)
    rows: dict[str, dict] = {}
    for line_no, rec in batch:
        rec, n = storable_record(rec)  # NUL and lone surrogates: no database stores them (counted, replaced)
        counts["characters_replaced"] += n
        try:
            row = stream.to_row(rec)
        except (ValueError, TypeError, KeyError) as exc:  # the scan read the same rows: a bug, not the file
            raise ImportFileError(f"row {line_no}: {exc}") from exc
        rows[row["id"]] = {k: v for k, v in row.items() if k in columns}
    existing: dict[str, dict] = {}
    ids = list(rows)
    table = model.__table__
    for i in range(0, len(ids), 500):
        for r in session.execute(select(table).where(table.c.id.in_(ids[i:i + 500]))).mappings():
            existing[r["id"]] = dict(r)
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
        for key, n in apply_feedback(session, stream.name, [r["id"] for r in changed], specs).items():
            counts["feedback"][key] = counts["feedback"].get(key, 0) + n
