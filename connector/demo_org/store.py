"""The demo org's data: one SQLite file, one table per sObject, columns named like the API fields.

Values are stored in forms that compare correctly in SQL: booleans as 0/1, dates as ISO text,
datetimes as integer epoch milliseconds (UTC). One connection is shared by the server threads behind a
lock: the org is a test double, correctness and predictability matter more than concurrency.
"""

from __future__ import annotations

import base64
import datetime as dt
import html
import re
import sqlite3
import threading
import time
from array import array
from collections.abc import Iterable
from pathlib import Path
from typing import Any

from .ids import make_id, to18
from .schema import OBJECTS, Field, SObject, object_for_id
from .soql import Compiled

API_VERSION = "59.0"
UTC = dt.timezone.utc
DELETED_RETENTION_DAYS = 30


class WriteError(Exception):
    """A record-level failure, reported as ``{"statusCode", "message", "fields"}`` (or a 4xx REST error)."""

    def __init__(self, code: str, message: str, fields: Iterable[str] = (), status: int = 400):
        super().__init__(message)
        self.code = code
        self.message = message
        self.fields = list(fields)
        self.status = status

    def as_collection_error(self) -> dict:
        return {"statusCode": self.code, "message": self.message, "fields": self.fields}

    def as_rest_error(self) -> dict:
        return {"message": self.message, "errorCode": self.code, "fields": self.fields}



_LONE_SURROGATE = re.compile("[\ud800-\udfff]")


def _storable(values: dict[str, Any]) -> dict[str, Any]:
    """A copy of written values whose text the org's storage can hold: a lone UTF-16 surrogate (a JSON \\udXXX
    escape in a request) becomes U+FFFD, as it must in any UTF-8 store, instead of a 500 for the whole request."""
    return {k: _LONE_SURROGATE.sub("\ufffd", v) if isinstance(v, str) else v for k, v in values.items()}

def format_datetime(ms: int | None) -> str | None:
    if ms is None:
        return None
    d = dt.datetime.fromtimestamp(ms / 1000, UTC)
    return d.strftime("%Y-%m-%dT%H:%M:%S.") + f"{d.microsecond // 1000:03d}+0000"


def sql_type(f: Field) -> str:
    if f.type in ("boolean", "int", "datetime"):
        return "INTEGER"
    if f.type in ("currency", "double"):
        return "REAL"
    return "TEXT"


def to_sql(f: Field, value: Any) -> Any:
    """Turn a Python/JSON value into its stored form, or raise WriteError as Salesforce would."""
    if value is None:
        return None
    t = f.type
    if t == "boolean":
        if not isinstance(value, bool):
            raise WriteError("JSON_PARSER_ERROR", f"Cannot deserialize instance of boolean from {type(value).__name__}"
                             f" value {value!r} for field {f.name}", [f.name])
        return int(value)
    if t in ("currency", "double", "int"):
        if isinstance(value, bool) or not isinstance(value, (int, float)):
            try:
                value = float(value)
            except (TypeError, ValueError):
                raise WriteError("JSON_PARSER_ERROR", f"Cannot deserialize instance of {t} from value {value!r} "
                                 f"for field {f.name}", [f.name]) from None
        return int(value) if t == "int" else float(value)
    if t == "date":
        if isinstance(value, dt.date) and not isinstance(value, dt.datetime):
            return value.isoformat()
        try:
            return dt.date.fromisoformat(str(value)[:10]).isoformat()
        except ValueError:
            raise WriteError("INVALID_TYPE_ON_FIELD_IN_RECORD", f"{f.label or f.name}: value not of required type: "
                             f"{value}", [f.name]) from None
    if t == "datetime":
        if isinstance(value, dt.datetime):
            if value.tzinfo is None:
                value = value.replace(tzinfo=UTC)
            return int(value.timestamp() * 1000)
        return parse_api_datetime(str(value), f)
    if t == "base64":
        if isinstance(value, bytes):
            return value.decode("utf-8", "replace")
        try:
            return base64.b64decode(str(value), validate=True).decode("utf-8", "replace")
        except ValueError:
            raise WriteError("INVALID_TYPE_ON_FIELD_IN_RECORD", f"{f.name}: value not of required type: base64",
                             [f.name]) from None
    if not isinstance(value, str):
        if isinstance(value, (int, float)) and not isinstance(value, bool):
            value = str(value)
        else:
            raise WriteError("JSON_PARSER_ERROR", f"Cannot deserialize instance of string from {type(value).__name__} "
                             f"value for field {f.name}", [f.name])
    if t in ("id", "reference"):
        return to18(value) if value else None
    if f.length and len(value) > f.length:
        raise WriteError("STRING_TOO_LONG", f"{f.label or f.name}: data value too large: {value[:40]}... "
                         f"(max length={f.length})", [f.name])
    return value


_API_DT = re.compile(r"(\d{4})-(\d{2})-(\d{2})T(\d{2}):(\d{2}):(\d{2})(?:\.(\d{1,9}))?(Z|[+-]\d{2}:?\d{2})?$")


def parse_api_datetime(text: str, f: Field | None = None) -> int:
    m = _API_DT.match(text.strip())
    if not m:
        name = f.name if f else "datetime"
        raise WriteError("INVALID_TYPE_ON_FIELD_IN_RECORD", f"{name}: value not of required type: {text}",
                         [name] if f else [])
    y, mo, d, hh, mi, ss, frac, tz = m.groups()
    off = UTC
    if tz and tz != "Z":
        digits = tz[1:].replace(":", "")
        sign = 1 if tz[0] == "+" else -1
        off = dt.timezone(sign * dt.timedelta(hours=int(digits[:2]), minutes=int(digits[2:])))
    micro = int((frac or "0").ljust(6, "0")[:6])
    value = dt.datetime(int(y), int(mo), int(d), int(hh), int(mi), int(ss), micro, tzinfo=off)
    return int(round(value.timestamp() * 1000))


def from_sql(f: Field, value: Any, record_id: str | None = None) -> Any:
    if value is None:
        return None
    t = f.type
    if t == "boolean":
        return bool(value)
    if t in ("currency", "double"):
        return float(value)
    if t == "int":
        return int(value)
    if t == "datetime":
        return format_datetime(value)
    if t == "base64":
        obj = object_for_id(record_id or "") or "ContentNote"
        return f"/services/data/v{API_VERSION}/sobjects/{obj}/{record_id}/{f.name}"
    return value


def html_to_text(markup: str) -> str:
    text = re.sub(r"<br\s*/?>|</p>|</li>", "\n", markup, flags=re.I)
    text = re.sub(r"<[^>]+>", "", text)
    return html.unescape(text).strip()


class Store:
    def __init__(self, path: Path, integration_user: str | None = None):
        self.path = Path(path)
        self.lock = threading.RLock()
        self.conn = sqlite3.connect(str(self.path), check_same_thread=False, isolation_level=None)
        self.conn.execute("PRAGMA journal_mode=WAL")
        self.conn.execute("PRAGMA synchronous=NORMAL")
        self._last_ms = 0
        self.integration_user = integration_user

    def close(self) -> None:
        with self.lock:
            self.conn.close()

    # ------------------------------------------------------------------ schema
    def create_schema(self) -> None:
        with self.lock:
            c = self.conn
            for obj in OBJECTS.values():
                cols = ", ".join(f'"{f.name}" {sql_type(f)}' for f in obj.fields)
                c.execute(f'CREATE TABLE IF NOT EXISTS "{obj.name}" ({cols})')
                c.execute(f'CREATE UNIQUE INDEX IF NOT EXISTS "ux_{obj.name}_Id" ON "{obj.name}" ("Id")')
                for f in obj.fields:
                    if f.external_id:
                        c.execute(f'CREATE UNIQUE INDEX IF NOT EXISTS "ux_{obj.name}_{f.name}" ON "{obj.name}" ("{f.name}")')
                    elif f.name in ("SystemModstamp", "LastModifiedDate") or f.type == "reference" and f.name not in (
                            "CreatedById", "OwnerId", "WhoId", "ManagerId"):
                        c.execute(f'CREATE INDEX IF NOT EXISTS "ix_{obj.name}_{f.name}" ON "{obj.name}" ("{f.name}")')
            c.execute("CREATE TABLE IF NOT EXISTS _deleted (sobject TEXT, id TEXT, deleted_ms INTEGER)")
            c.execute("CREATE INDEX IF NOT EXISTS ix_deleted ON _deleted (sobject, deleted_ms)")
            c.execute("CREATE TABLE IF NOT EXISTS _meta (key TEXT PRIMARY KEY, value TEXT)")
            c.execute("CREATE TABLE IF NOT EXISTS _counters (prefix TEXT PRIMARY KEY, n INTEGER)")

    def meta(self, key: str, default: str | None = None) -> str | None:
        with self.lock:
            row = self.conn.execute("SELECT value FROM _meta WHERE key = ?", (key,)).fetchone()
        return row[0] if row else default

    def set_meta(self, key: str, value: str) -> None:
        with self.lock:
            self.conn.execute("INSERT OR REPLACE INTO _meta (key, value) VALUES (?, ?)", (key, value))

    # ------------------------------------------------------------------ ids and clock
    def next_id(self, obj: SObject) -> str:
        with self.lock:
            row = self.conn.execute("SELECT n FROM _counters WHERE prefix = ?", (obj.key_prefix,)).fetchone()
            n = (row[0] if row else 0) + 1
            self.conn.execute("INSERT OR REPLACE INTO _counters (prefix, n) VALUES (?, ?)", (obj.key_prefix, n))
        return make_id(obj.key_prefix, n)

    def set_counter(self, prefix: str, n: int) -> None:
        with self.lock:
            self.conn.execute("INSERT OR REPLACE INTO _counters (prefix, n) VALUES (?, ?)", (prefix, n))

    def now_ms(self) -> int:
        """Wall-clock milliseconds, never going back. Writes in the same millisecond share a stamp, as they do in
        Salesforce: forcing one stamp per write ran the clock ahead of real time under a burst (a 200-record
        collection was stamped ~180 ms into the future), so ``SystemModstamp < now`` missed rows already written."""
        with self.lock:
            ms = max(int(time.time() * 1000), self._last_ms)
            self._last_ms = ms
            return ms

    # ------------------------------------------------------------------ reads
    def get_row(self, obj: SObject, record_id: str, include_deleted: bool = True) -> dict | None:
        with self.lock:
            cur = self.conn.execute(f'SELECT * FROM "{obj.name}" WHERE "Id" = ?', (to18(record_id),))
            row = cur.fetchone()
            if row is None:
                return None
            names = [d[0] for d in cur.description]
        rec = dict(zip(names, row))
        if not include_deleted and rec.get("IsDeleted"):
            return None
        return rec

    def record_json(self, obj: SObject, row: dict, fields: Iterable[Field] | None = None) -> dict:
        out: dict[str, Any] = {"attributes": {"type": obj.name,
                                              "url": f"/services/data/v{API_VERSION}/sobjects/{obj.name}/{row['Id']}"}}
        for f in fields or obj.fields:
            out[f.name] = from_sql(f, row.get(f.name), row["Id"])
        return out

    def find_by(self, obj: SObject, field_name: str, value: Any) -> list[str]:
        with self.lock:
            return [r[0] for r in self.conn.execute(
                f'SELECT "Id" FROM "{obj.name}" WHERE "{field_name}" = ?', (value,))]

    def run_ids(self, compiled: Compiled) -> array:
        with self.lock:
            ids = array("q")
            cur = self.conn.execute(compiled.ids_sql(), compiled.params)
            while True:
                chunk = cur.fetchmany(5000)
                if not chunk:
                    break
                ids.extend(r[0] for r in chunk)
            return ids

    def count(self, compiled: Compiled) -> int:
        sql = f"SELECT COUNT(*) FROM {compiled.from_sql} WHERE {compiled.where_sql}"
        with self.lock:
            n = self.conn.execute(sql, compiled.params).fetchone()[0]
        return min(n, compiled.limit) if compiled.limit is not None else n

    def fetch_records(self, compiled: Compiled, rowids: list[int]) -> list[dict]:
        """The API records for these row ids, in this order, shaped like Salesforce's query results."""
        if not rowids:
            return []
        # Parent Ids are fetched too, to build the nested attributes of relationship fields.
        rels: dict[str, tuple[SObject, str]] = {}
        extra = []
        for col in compiled.columns:
            if col.relationship and col.relationship not in rels:
                alias = col.sql.split(".")[0]
                rels[col.relationship] = (col.rel_object, alias)
                extra.append(f'{alias}."Id"')
        sql_cols = ["t0.rowid", 't0."Id"'] + [c.sql for c in compiled.columns] + extra
        out: dict[int, dict] = {}
        with self.lock:
            for start in range(0, len(rowids), 900):
                part = rowids[start:start + 900]
                sql = (f"SELECT {', '.join(sql_cols)} FROM {compiled.from_sql} "
                       f"WHERE t0.rowid IN ({','.join('?' * len(part))})")
                for row in self.conn.execute(sql, list(part)):
                    out[row[0]] = row
        obj = compiled.obj
        base = f"/services/data/v{API_VERSION}/sobjects/"
        records = []
        n = len(compiled.columns)
        rel_names = list(rels)
        for rid in rowids:
            row = out.get(rid)
            if row is None:
                continue  # hard-deleted since the cursor was opened
            rec_id = row[1]
            rec: dict[str, Any] = {"attributes": {"type": obj.name, "url": base + obj.name + "/" + rec_id}}
            parents: dict[str, dict | None] = {}
            for i, rel in enumerate(rel_names):
                pid = row[2 + n + i]
                target = rels[rel][0]
                parents[rel] = None if pid is None else {
                    "attributes": {"type": target.name, "url": base + target.name + "/" + pid}}
            for i, col in enumerate(compiled.columns):
                value = row[2 + i]
                if col.relationship is None:
                    rec[col.field.name] = from_sql(col.field, value, rec_id)
                else:
                    parent = parents[col.relationship]
                    if col.relationship not in rec:
                        rec[col.relationship] = parent
                    if parent is not None:
                        parent[col.field.name] = from_sql(col.field, value, parent["attributes"]["url"].rsplit("/", 1)[1])
            records.append(rec)
        return records

    # ------------------------------------------------------------------ writes
    def _derive(self, obj: SObject, values: dict[str, Any], current: dict | None) -> None:
        merged = dict(current or {})
        merged.update(values)
        if obj.name == "Opportunity" and "StageName" in values:
            stage = values["StageName"]
            values["IsClosed"] = int(stage in ("Closed Won", "Closed Lost"))
            values["IsWon"] = int(stage == "Closed Won")
        if obj.name == "Task" and "Status" in values:
            values["IsClosed"] = int(values["Status"] == "Completed")
        if obj.name == "Case" and "Status" in values:
            values["IsClosed"] = int(values["Status"] == "Closed")
        if obj.name in ("User", "Contact") and ("FirstName" in values or "LastName" in values):
            values["Name"] = " ".join(p for p in (merged.get("FirstName"), merged.get("LastName")) if p)
        if obj.name in ("Task", "Event") and "WhatId" in values:
            values["AccountId"] = self._account_of(values["WhatId"])
        if obj.name == "ContentNote" and "Content" in values:
            values["TextPreview"] = html_to_text(values["Content"] or "")[:255] or None
            values["FileType"] = "SNOTE"
            values["ContentSize"] = len((values["Content"] or "").encode("utf-8"))  # the blob's bytes, as served

    def _account_of(self, what_id: str | None) -> str | None:
        if not what_id:
            return None
        target = object_for_id(what_id)
        if target == "Account":
            return what_id
        if target in ("Opportunity", "Case"):
            row = self.conn.execute(f'SELECT "AccountId" FROM "{target}" WHERE "Id" = ?', (what_id,)).fetchone()
            return row[0] if row else None
        return None

    def validate(self, obj: SObject, data: dict[str, Any], *, creating: bool, current: dict | None = None) -> dict:
        """Check a client's field values like Salesforce does; return them in stored form."""
        values: dict[str, Any] = {}
        bad_access = []
        for key, value in data.items():
            if key == "attributes":
                continue
            f = obj.get(key)
            if f is None:
                raise WriteError("INVALID_FIELD", f"No such column '{key}' on sobject of type {obj.name}", [key])
            if not (f.createable if creating else f.updateable):
                bad_access.append(f.name)
                continue
            stored = to_sql(f, value)
            if f.type == "picklist" and f.restricted and stored is not None and stored not in f.picklist:
                raise WriteError("INVALID_OR_NULL_FOR_RESTRICTED_PICKLIST",
                                 f"{f.label or f.name}: bad value for restricted picklist field: {stored}", [f.name])
            if f.type == "reference" and stored is not None:
                targets = f.reference_to
                kind = object_for_id(stored)
                ok = kind in targets and self.conn.execute(
                    f'SELECT 1 FROM "{kind}" WHERE "Id" = ? AND "IsDeleted" = 0', (stored,)).fetchone() is not None
                if not ok:
                    if kind is None or len(str(value)) not in (15, 18):
                        raise WriteError("MALFORMED_ID", f"{f.label or f.name}: id value of incorrect type: {value}",
                                         [f.name])
                    raise WriteError("INVALID_CROSS_REFERENCE_KEY", "invalid cross reference id", [f.name])
            if not f.nillable and stored is None and f.type != "boolean":
                raise WriteError("REQUIRED_FIELD_MISSING", f"Required fields are missing: [{f.name}]", [f.name])
            if f.type == "boolean" and stored is None:
                stored = 0
            values[f.name] = stored
        if bad_access:
            raise WriteError("INVALID_FIELD_FOR_INSERT_UPDATE",
                             f"Unable to create/update fields: {', '.join(bad_access)}. Please check the security "
                             "settings of this field and verify that it is read/write for your profile or permission set.",
                             bad_access)
        if creating:
            for f in obj.fields:
                if f.name not in values and f.default is not None and f.createable:
                    values[f.name] = to_sql(f, f.default)
            missing = [f.name for f in obj.fields if f.required and values.get(f.name) in (None, "")]
            if missing:
                raise WriteError("REQUIRED_FIELD_MISSING", f"Required fields are missing: [{', '.join(missing)}]",
                                 missing)
        for f in obj.fields:
            if f.unique and values.get(f.name) is not None:
                row = self.conn.execute(f'SELECT "Id" FROM "{obj.name}" WHERE "{f.name}" = ?',
                                        (values[f.name],)).fetchone()
                if row and (current is None or row[0] != current["Id"]):
                    raise WriteError("DUPLICATE_VALUE", f"duplicate value found: {f.name} duplicates value on record "
                                     f"with id: {row[0]}", [f.name])
        return values

    def insert_values(self, obj: SObject, values: dict[str, Any], now: int | None = None) -> str:
        """Insert already-validated stored values, stamping the system fields."""
        with self.lock:
            now = now if now is not None else self.now_ms()
            values = _storable(values)
            values.setdefault("Id", self.next_id(obj))
            self._derive(obj, values, None)
            for name, v in (("IsDeleted", 0), ("CreatedDate", now), ("LastModifiedDate", now), ("SystemModstamp", now),
                            ("CreatedById", self.integration_user)):
                if obj.get(name):
                    values.setdefault(name, v)
            if obj.name == "Case" and not values.get("CaseNumber"):
                n = self.conn.execute('SELECT COUNT(*) FROM "Case"').fetchone()[0] + 1
                values["CaseNumber"] = f"{n:08d}"
            cols = list(values)
            self.conn.execute(f'INSERT INTO "{obj.name}" ({", ".join(chr(34) + c + chr(34) for c in cols)}) '
                              f'VALUES ({", ".join("?" * len(cols))})', [values[c] for c in cols])
            return values["Id"]

    def update_values(self, obj: SObject, record_id: str, values: dict[str, Any], current: dict | None = None) -> None:
        with self.lock:
            current = current or self.get_row(obj, record_id)
            values = _storable(values)
            self._derive(obj, values, current)
            now = self.now_ms()
            if obj.has_last_modified:
                values["LastModifiedDate"] = now
            if obj.has_modstamp:
                values["SystemModstamp"] = now
            sets = ", ".join(f'"{k}" = ?' for k in values)
            self.conn.execute(f'UPDATE "{obj.name}" SET {sets} WHERE "Id" = ?', [*values.values(), to18(record_id)])

    def live_row(self, obj: SObject, record_id: str) -> dict:
        row = self.get_row(obj, record_id)
        if row is None:
            raise WriteError("NOT_FOUND", "The requested resource does not exist", status=404)
        if row.get("IsDeleted"):
            raise WriteError("ENTITY_IS_DELETED", "entity is deleted", status=404)
        return row

    def soft_delete(self, obj: SObject, record_id: str) -> None:
        with self.lock:
            self.live_row(obj, record_id)
            now = self.now_ms()
            sets = ['"IsDeleted" = 1']
            if obj.has_modstamp:
                sets.append(f'"SystemModstamp" = {now}')
            self.conn.execute(f'UPDATE "{obj.name}" SET {", ".join(sets)} WHERE "Id" = ?', (to18(record_id),))
            self.conn.execute("INSERT INTO _deleted (sobject, id, deleted_ms) VALUES (?, ?, ?)",
                              (obj.name, to18(record_id), now))

    def hard_delete(self, obj: SObject, record_id: str) -> None:
        with self.lock:
            row = self.get_row(obj, record_id)
            if row is None:
                raise WriteError("NOT_FOUND", "The requested resource does not exist", status=404)
            now = self.now_ms()
            self.conn.execute(f'DELETE FROM "{obj.name}" WHERE "Id" = ?', (to18(record_id),))
            if not row.get("IsDeleted"):
                self.conn.execute("INSERT INTO _deleted (sobject, id, deleted_ms) VALUES (?, ?, ?)",
                                  (obj.name, to18(record_id), now))

    def deleted_between(self, obj: SObject, start_ms: int, end_ms: int) -> list[tuple[str, int]]:
        with self.lock:
            return list(self.conn.execute(
                "SELECT id, MAX(deleted_ms) FROM _deleted WHERE sobject = ? AND deleted_ms >= ? AND deleted_ms <= ? "
                "GROUP BY id ORDER BY MAX(deleted_ms), id", (obj.name, start_ms, end_ms)))

    def all_rows(self, obj: SObject) -> list[dict]:
        with self.lock:
            cur = self.conn.execute(f'SELECT * FROM "{obj.name}" ORDER BY rowid')
            names = [d[0] for d in cur.description]
            return [dict(zip(names, r)) for r in cur.fetchall()]

    def transaction(self):
        return _Tx(self)


class _Tx:
    """``with store.transaction():`` — all-or-nothing writes (allOrNone) under the store lock."""

    def __init__(self, store: Store):
        self.store = store

    def __enter__(self):
        self.store.lock.acquire()
        self.store.conn.execute("SAVEPOINT tx")
        return self

    def __exit__(self, exc_type, exc, tb):
        try:
            if exc_type is None:
                self.store.conn.execute("RELEASE tx")
            else:
                self.store.conn.execute("ROLLBACK TO tx")
                self.store.conn.execute("RELEASE tx")
        finally:
            self.store.lock.release()
        return False
