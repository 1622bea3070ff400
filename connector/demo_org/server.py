"""The HTTPS front of the demo org: routes Salesforce REST paths to the store with Salesforce's shapes.

Every ``/services/data`` call is authenticated with a bearer token, counted against the daily limit
(``Sforce-Limit-Info`` reports the real counter), may be hit by an injected fault, and answers with
Salesforce's JSON bodies and error arrays. A browser's ``GET /<record Id>`` (the desk's "Open in Salesforce" link)
is no API call: :mod:`.record_page` answers it.
"""

from __future__ import annotations

import contextlib
import json
import logging
import re
import ssl
import time
import urllib.parse
from dataclasses import dataclass, field
from http.server import BaseHTTPRequestHandler, ThreadingHTTPServer
from typing import TYPE_CHECKING, Any

from . import record_page
from .faults import MAINTENANCE_PAGE
from .schema import NOT_REPLICATED, OBJECTS, describe, describe_global_entry, object_for_id, sobject
from .soql import Compiled, SoqlError, compile_query
from .store import API_VERSION, WriteError, format_datetime, parse_api_datetime

if TYPE_CHECKING:
    from .org import DemoOrg

log = logging.getLogger("retour.demo_org")

DEFAULT_PAGE = 2000
LONG_TEXT_PAGE = 200
MAX_COLLECTION = 200
CURSOR_CAP = 200
ANSWER_EVERY_SECONDS = 1.0  # how often a running org lets its reps answer (see reps.py)
ROLLED_BACK = {"statusCode": "ALL_OR_NONE_OPERATION_ROLLED_BACK",
               "message": "Record rolled back because not all records were valid and the request was using AllOrNone header",
               "fields": []}


_USER_PERMISSION_ACCESS = re.compile(r"^\s*SELECT\s+(.+?)\s+FROM\s+UserPermissionAccess\s*$", re.I | re.S)


def _binary(path: str) -> bool:
    """Whether a path answers a Bulk CSV page: html-200 spares those. A blob (a note's body, itself HTML) is not
    spared: the connector tells a maintenance page from a note's body by the note's ContentSize."""
    return path.rstrip("/").endswith("/results")


class HttpError(Exception):
    def __init__(self, status: int, code: str, message: str, fields: list | None = None):
        super().__init__(message)
        self.status, self.code, self.message, self.fields = status, code, message, fields

    def body(self) -> list:
        err: dict[str, Any] = {"message": self.message, "errorCode": self.code}
        if self.fields is not None:
            err["fields"] = self.fields
        return [err]


@dataclass
class Cursor:
    compiled: Compiled
    rowids: Any
    page: int
    used: float = field(default_factory=time.monotonic)


@dataclass
class Fault:
    method: str
    pattern: re.Pattern
    status: int
    body: Any
    times: int
    drop_response: bool


@dataclass
class Response:
    status: int
    body: Any = None  # JSON-able, or bytes/str with content_type
    content_type: str = "application/json;charset=UTF-8"
    headers: dict = field(default_factory=dict)
    cut: bool = False  # send the headers and half the body, then close the connection (fault bulk-cut)


class DemoOrgServer(ThreadingHTTPServer):
    daemon_threads = True
    allow_reuse_address = True

    def __init__(self, org: "DemoOrg", port: int, context: ssl.SSLContext):
        self.org = org
        self.context = context
        self._answered = 0.0
        super().__init__(("127.0.0.1", port), Handler)

    def service_actions(self) -> None:
        """Between requests: once a second, reps answer the follow-ups whose time has come, so their answers are
        in the org when the clock passes them, not only when someone reads. Skipped while a request holds the
        store (the next round does it): the loop that accepts connections must not wait behind a long query."""
        if time.monotonic() - self._answered < ANSWER_EVERY_SECONDS:
            return
        self._answered = time.monotonic()
        store = self.org.store
        if store is None or not store.lock.acquire(blocking=False):
            return
        try:
            self.org.answer_due()
        except Exception:  # the serving loop must outlive a failed round; the next round tries again
            log.exception("demo_org state=error action=answer_due")
        finally:
            store.lock.release()

    def get_request(self):
        sock, addr = super().get_request()
        return self.context.wrap_socket(sock, server_side=True, do_handshake_on_connect=False), addr

    def handle_error(self, request, client_address):  # pragma: no cover - noise from clients hanging up
        log.debug("demo_org connection error from %s", client_address, exc_info=True)


class Handler(BaseHTTPRequestHandler):
    protocol_version = "HTTP/1.1"
    # Small keep-alive responses otherwise wait ~40 ms on Nagle + delayed ACK: every one-record call would pay it.
    disable_nagle_algorithm = True
    server: DemoOrgServer

    def log_message(self, fmt: str, *args: Any) -> None:
        log.debug("demo_org %s", fmt % args)

    def setup(self) -> None:
        super().setup()
        try:
            self.connection.do_handshake()
        except (ssl.SSLError, OSError):
            self.close_connection = True
            raise

    def do_GET(self) -> None:
        self.dispatch("GET")

    def do_POST(self) -> None:
        self.dispatch("POST")

    def do_PATCH(self) -> None:
        self.dispatch("PATCH")

    def do_DELETE(self) -> None:
        self.dispatch("DELETE")

    def do_PUT(self) -> None:
        self.dispatch("PUT")

    def read_body(self) -> bytes:
        length = int(self.headers.get("Content-Length") or 0)
        return self.rfile.read(length) if length else b""

    def dispatch(self, method: str) -> None:
        org = self.server.org
        raw = self.read_body()
        parsed = urllib.parse.urlsplit(self.path)
        path, query = parsed.path, urllib.parse.parse_qs(parsed.query, keep_blank_values=True)
        drop = False
        record_id = record_page.match(method, path)
        if record_id is not None:
            # A browser's record page (the desk's "Open in Salesforce"): not the API, so no token, no count, no fault.
            try:
                status, page = record_page.render(org, record_id)
            except Exception:  # a bug in the page: a plain 500 page, logged, never a traceback to the browser
                log.exception("demo_org state=error path=%s", path)
                status, page = 500, "<!DOCTYPE html><title>Error</title><p>The demo org could not show this record.</p>"
            self.send(Response(status, page, content_type=record_page.CONTENT_TYPE, headers=dict(record_page.HEADERS)))
            return
        try:
            api = path.startswith("/services/data")
            if api and not _binary(path) and org.maintenance_page_due():
                # A proxy or maintenance page answers before Salesforce does: 200, HTML, nothing counted.
                self.send(Response(200, MAINTENANCE_PAGE, content_type="text/html;charset=UTF-8"))
                return
            if api:
                org._authenticate(self.headers.get("Authorization", ""))
                org._count_call()
                org.answer_due()  # what reps did by now is in the org before anything reads it
            fault = org._take_fault(method, self.path)
            if fault is not None and not fault.drop_response:
                resp = Response(fault.status, fault.body) if not isinstance(fault.body, str) else \
                    Response(fault.status, fault.body, content_type="text/html;charset=UTF-8")
            else:
                drop = fault is not None
                resp = Router(org, method, path, query, raw, self.headers).route()
        except HttpError as exc:
            resp = Response(exc.status, exc.body())
        except OAuthError as exc:
            resp = Response(exc.status, {"error": exc.error, "error_description": exc.description})
        except Exception as exc:  # a bug in the emulator: answer like Salesforce's 500, and log it
            log.exception("demo_org state=error path=%s", path)
            resp = Response(500, [{"message": f"An unexpected error occurred: {exc}", "errorCode": "UNKNOWN_EXCEPTION"}])
        if drop:
            # The work is done but the client never hears back: it sees a reset connection.
            self._hang_up()
            return
        self.send(resp)

    def _hang_up(self) -> None:
        """Close the connection under the client (a reset, or a body shorter than its Content-Length)."""
        self.close_connection = True
        with contextlib.suppress(OSError):  # the client already went: nothing left to close
            self.connection.shutdown(2)

    def send(self, resp: Response) -> None:
        org = self.server.org
        if resp.body is None:
            payload = b""
        elif isinstance(resp.body, bytes):
            payload = resp.body
        elif isinstance(resp.body, str) and not resp.content_type.startswith("application/json"):
            payload = resp.body.encode("utf-8")
        else:
            text = json.dumps(resp.body, ensure_ascii=False, separators=(",", ":"))
            try:
                payload = text.encode("utf-8")
            except UnicodeEncodeError:  # a lone surrogate in a field: JSON's \udXXX escape carries it, as Salesforce's
                payload = json.dumps(resp.body, separators=(",", ":")).encode("ascii")
        self.send_response(resp.status)
        if payload or resp.status not in (204, 304):
            self.send_header("Content-Type", resp.content_type)
        self.send_header("Content-Length", str(len(payload)))
        self.send_header("Sforce-Limit-Info", f"api-usage={org.api_calls}/{org.api_limit}")
        for k, v in resp.headers.items():
            self.send_header(k, v)
        self.end_headers()
        if resp.cut and payload:
            # The body stops half way and the connection closes: the client reads fewer bytes than
            # Content-Length promised (IncompleteRead), as customers see on Bulk result downloads.
            self.wfile.write(payload[: len(payload) // 2])
            self.wfile.flush()
            self._hang_up()
            return
        if payload and self.command != "HEAD":
            self.wfile.write(payload)


class OAuthError(Exception):
    def __init__(self, error: str, description: str, status: int = 400):
        super().__init__(description)
        self.error, self.description, self.status = error, description, status


def _json(raw: bytes) -> Any:
    try:
        return json.loads(raw.decode("utf-8") or "null")
    except (UnicodeDecodeError, json.JSONDecodeError) as exc:
        raise HttpError(400, "JSON_PARSER_ERROR", f"Unexpected character: {exc}") from None


class Router:
    """One request: pick the handler for (method, path) and let it answer."""

    def __init__(self, org: "DemoOrg", method: str, path: str, query: dict, raw: bytes, headers):
        self.org, self.method, self.path, self.query, self.raw, self.headers = org, method, path, query, raw, headers
        self.store = org.store

    def param(self, name: str) -> str | None:
        values = self.query.get(name)
        return values[0] if values else None

    def language(self) -> str:
        """The language a describe's labels are asked in: the first of ``Accept-Language`` ("fr-FR, fr;q=0.9"
        → "fr"); none asked is the org's, English."""
        first = (self.headers.get("Accept-Language") or "").split(",")[0].split(";")[0].strip()
        return first.replace("_", "-").split("-")[0].lower() or "en"

    def route(self) -> Response:
        p = self.path.rstrip("/")
        if p == "/services/oauth2/token":
            if self.method != "POST":
                raise HttpError(405, "METHOD_NOT_ALLOWED", "HTTP Method 'GET' not allowed. Allowed are POST")
            return self.org._token(self.raw, self.headers)
        if p == "/services/data":
            return Response(200, [{"label": "Winter '24", "url": f"/services/data/v{API_VERSION}", "version": API_VERSION}])
        m = re.match(r"^/services/data/v(\d+\.\d)(?:/(.*))?$", p)
        if not m:
            raise HttpError(404, "NOT_FOUND", "The requested resource does not exist")
        rest = m.group(2) or ""
        parts = [urllib.parse.unquote(x) for x in rest.split("/")] if rest else []
        if not parts:
            return Response(200, {name: f"/services/data/v{API_VERSION}/{name}" for name in (
                "sobjects", "query", "queryAll", "limits", "composite", "jobs")})
        head = parts[0]
        if head in ("query", "queryAll"):
            return self.query_resource(head == "queryAll", parts[1:])
        if head == "limits":
            return Response(200, self.org._limits())
        if head == "sobjects":
            return self.sobjects(parts[1:])
        if head == "composite" and len(parts) >= 2 and parts[1] == "sobjects":
            return self.collections(parts[2:])
        if head == "jobs" and len(parts) >= 2 and parts[1] == "query":
            return self.bulk_query(parts[2:])
        raise HttpError(404, "NOT_FOUND", "The requested resource does not exist")

    # ------------------------------------------------------------------ query
    def page_size(self, compiled: Compiled) -> int:
        size = DEFAULT_PAGE
        options = self.headers.get("Sforce-Query-Options") or ""
        m = re.search(r"batchSize\s*=\s*(\d+)", options)
        if m:
            size = min(max(int(m.group(1)), 200), DEFAULT_PAGE)
        if compiled.long_text_fields >= 2:
            size = min(size, LONG_TEXT_PAGE)
        return size

    def query_resource(self, include_deleted: bool, rest: list[str]) -> Response:
        if self.method != "GET":
            raise HttpError(405, "METHOD_NOT_ALLOWED", f"HTTP Method '{self.method}' not allowed. Allowed are GET,HEAD")
        if rest and rest[0]:
            return self.next_page(rest[0])
        text = self.param("q")
        if text is None:
            raise HttpError(400, "MALFORMED_QUERY", "A query string has to be specified")
        m = _USER_PERMISSION_ACCESS.match(text)
        if m:
            return self.user_permission_access(m.group(1))
        try:
            compiled = compile_query(text, include_deleted)
        except SoqlError as exc:
            raise HttpError(400, exc.code, exc.message) from None
        self.org._check_query_restrictions(compiled, text)
        if compiled.count:
            return Response(200, {"totalSize": self.store.count(compiled), "done": True, "records": []})
        rowids = self.org.visible_ids(compiled, self.store.run_ids(compiled))
        return self.org._first_page(compiled, rowids, self.page_size(compiled))

    def user_permission_access(self, select: str) -> Response:
        """The running user's permissions (UserPermissionAccess needs no setup permission to read): what
        `retour check` asks to know whether the integration user holds Query All Files."""
        granted = {"PermissionsApiEnabled": True, "PermissionsViewAllData": True,
                   "PermissionsQueryAllFiles": self.org.query_all_files}
        record: dict[str, Any] = {"attributes": {"type": "UserPermissionAccess"}}
        for name in (n.strip() for n in select.split(",")):
            if name.lower() == "id":
                record["Id"] = None
                continue
            known = next((k for k in granted if k.lower() == name.lower()), None)
            if known is None:
                raise HttpError(400, "INVALID_FIELD", f"No such column '{name}' on entity 'UserPermissionAccess'.")
            record[known] = granted[known]
        return Response(200, {"totalSize": 1, "done": True, "records": [record]})

    def next_page(self, token: str) -> Response:
        m = re.match(r"^([A-Za-z0-9]+)-(\d+)$", token)
        if not m:
            raise HttpError(400, "INVALID_QUERY_LOCATOR", "invalid query locator")
        return self.org._page(m.group(1), int(m.group(2)))

    # ------------------------------------------------------------------ sobjects
    def obj(self, name: str):
        obj = sobject(name)
        if obj is None:
            raise HttpError(404, "NOT_FOUND", f"The requested resource does not exist")
        return obj

    def sobjects(self, parts: list[str]) -> Response:
        if not parts:
            return Response(200, {"encoding": "UTF-8", "maxBatchSize": 200,
                                  "sobjects": [describe_global_entry(o, API_VERSION) for o in OBJECTS.values()]})
        obj = self.obj(parts[0])
        if len(parts) == 1:
            if self.method == "POST":
                return self.create(obj)
            if self.method == "GET":
                return Response(200, {"objectDescribe": describe_global_entry(obj, API_VERSION), "recentItems": []})
            raise HttpError(405, "METHOD_NOT_ALLOWED", f"HTTP Method '{self.method}' not allowed. Allowed are GET,HEAD,POST")
        second = parts[1]
        if second == "describe" and len(parts) == 2:
            body = describe(obj, API_VERSION, self.language())
            hidden = set(self.org.hidden_fields(obj.name))
            body["fields"] = [f for f in body["fields"] if f["name"] not in hidden]
            return Response(200, body)
        if second in ("deleted", "updated") and len(parts) == 2:
            return self.replication(obj, second)
        if len(parts) == 2:
            return self.record(obj, second)
        if len(parts) == 3:
            f = obj.get(second)
            if f is not None and f.external_id:
                return self.by_external_id(obj, f.name, parts[2])
            if f is None and obj.get(parts[2]) is not None and obj.get(parts[2]).type == "base64":
                return self.blob(obj, second, obj.get(parts[2]).name)
            if f is not None and f.name == "Id":
                return self.record(obj, parts[2])
            raise HttpError(404, "NOT_FOUND", f"Provided external ID field does not exist or is not accessible: {second}")
        raise HttpError(404, "NOT_FOUND", "The requested resource does not exist")

    def blob(self, obj, record_id: str, field_name: str) -> Response:
        row = self.store.get_row(obj, record_id, include_deleted=False)
        if row is None:
            raise HttpError(404, "NOT_FOUND", "The requested resource does not exist")
        return Response(200, (row.get(field_name) or "").encode("utf-8"), content_type="text/html;charset=UTF-8")

    def record(self, obj, record_id: str) -> Response:
        if self.method == "GET":
            row = self.store.get_row(obj, record_id)
            if row is None:
                raise HttpError(404, "NOT_FOUND", "The requested resource does not exist")
            if row.get("IsDeleted"):
                raise HttpError(404, "ENTITY_IS_DELETED", "entity is deleted", [])
            fields_param = self.param("fields")
            fields = None
            if fields_param:
                fields = []
                for name in fields_param.split(","):
                    f = obj.get(name.strip())
                    if f is None:
                        raise HttpError(400, "INVALID_FIELD", f"No such column '{name.strip()}' on entity '{obj.name}'. "
                                        "If you are attempting to use a custom field, be sure to append the '__c' after "
                                        "the custom field name. Please reference your WSDL or the describe call for the "
                                        "appropriate names.")
                    fields.append(f)
            return Response(200, self.store.record_json(obj, row, fields))
        if self.method == "PATCH":
            data = self.body_object()
            try:
                self.org._update(obj, record_id, data)
            except WriteError as exc:
                raise HttpError(exc.status, exc.code, exc.message, exc.fields) from None
            return Response(204)
        if self.method == "DELETE":
            try:
                self.org._delete(obj, record_id)
            except WriteError as exc:
                raise HttpError(exc.status, exc.code, exc.message, exc.fields) from None
            return Response(204)
        raise HttpError(405, "METHOD_NOT_ALLOWED", f"HTTP Method '{self.method}' not allowed. Allowed are GET,HEAD,PATCH,DELETE")

    def body_object(self) -> dict:
        data = _json(self.raw)
        if not isinstance(data, dict):
            raise HttpError(400, "JSON_PARSER_ERROR", "Cannot deserialize instance of sObject from a non-object value")
        return data

    def create(self, obj) -> Response:
        data = self.body_object()
        try:
            new_id = self.org._create(obj, data)
        except WriteError as exc:
            raise HttpError(400, exc.code, exc.message, exc.fields) from None
        return Response(201, {"id": new_id, "success": True, "errors": []})

    def by_external_id(self, obj, field_name: str, value: str) -> Response:
        ids = self.store.find_by(obj, field_name, value)
        if self.method == "GET":
            if not ids:
                raise HttpError(404, "NOT_FOUND", "The requested resource does not exist")
            return self.record(obj, ids[0])
        if self.method == "DELETE":
            if not ids:
                raise HttpError(404, "NOT_FOUND", "The requested resource does not exist")
            return self.record(obj, ids[0])
        if self.method in ("PATCH", "POST"):
            data = self.body_object()
            try:
                record_id, created = self.org._upsert(obj, field_name, value, data)
            except WriteError as exc:
                raise HttpError(exc.status, exc.code, exc.message, exc.fields) from None
            return Response(201 if created else 200,
                            {"id": record_id, "success": True, "errors": [], "created": created})
        raise HttpError(405, "METHOD_NOT_ALLOWED", f"HTTP Method '{self.method}' not allowed.")

    def replication(self, obj, which: str) -> Response:
        if obj.name in NOT_REPLICATED:
            raise HttpError(400, "INVALID_TYPE", f"sObject type '{obj.name}' is not supported by get{which.title()}(): "
                            "it is not replicateable.")
        start_s, end_s = self.param("start"), self.param("end")
        if not start_s or not end_s:
            raise HttpError(400, "MISSING_ARGUMENT", "start and end must both be specified")
        try:
            start, end = parse_api_datetime(start_s), parse_api_datetime(end_s)
        except WriteError:
            raise HttpError(400, "INVALID_REPLICATION_DATE", f"Invalid date format: {start_s} / {end_s}") from None
        start -= start % 60000  # seconds are truncated, like Salesforce
        end -= end % 60000
        now = int(time.time() * 1000)
        earliest = self.org.deleted_earliest_ms(now)
        if end <= start:
            raise HttpError(400, "INVALID_REPLICATION_DATE", "startDate must chronologically precede endDate by more than one minute")
        if start < earliest:
            raise HttpError(400, "INVALID_REPLICATION_DATE", f"startDate cannot be before earliestDateAvailable "
                            f"{format_datetime(earliest)}")
        end = min(end, now)
        if which == "deleted":
            rows = self.store.deleted_between(obj, start, end)
            return Response(200, {"deletedRecords": [{"id": i, "deletedDate": format_datetime(ms)} for i, ms in rows],
                                  "earliestDateAvailable": format_datetime(earliest),
                                  "latestDateCovered": format_datetime(end)})
        key = "SystemModstamp" if obj.has_modstamp else "LastModifiedDate"
        with self.store.lock:
            ids = [r[0] for r in self.store.conn.execute(
                f'SELECT "Id" FROM "{obj.name}" WHERE "{key}" >= ? AND "{key}" <= ? AND "IsDeleted" = 0 ORDER BY "{key}"',
                (start, end))]
        return Response(200, {"ids": ids, "latestDateCovered": format_datetime(end)})

    # ------------------------------------------------------------------ collections
    def collections(self, parts: list[str]) -> Response:
        if self.method == "DELETE":
            ids = [i for i in (self.param("ids") or "").split(",") if i]
            all_or_none = (self.param("allOrNone") or "false").lower() == "true"
            if not ids:
                raise HttpError(400, "MISSING_ARGUMENT", "ids parameter is required")
            if len(ids) > MAX_COLLECTION:
                raise HttpError(400, "EXCEEDED_ID_LIMIT", f"record limit reached. cannot submit more than {MAX_COLLECTION} records into this call")
            return Response(200, self.org._collection(
                [("delete", None, {"Id": i}) for i in ids], all_or_none))
        data = self.body_object()
        records = data.get("records")
        if not isinstance(records, list):
            raise HttpError(400, "JSON_PARSER_ERROR", "records is required and must be a list")
        if len(records) > MAX_COLLECTION:
            raise HttpError(400, "EXCEEDED_ID_LIMIT", f"record limit reached. cannot submit more than {MAX_COLLECTION} records into this call")
        all_or_none = bool(data.get("allOrNone", False))
        ops = []
        if parts:  # upsert collection: composite/sobjects/<SObject>/<ExtIdField>
            if self.method != "PATCH" or len(parts) != 2:
                raise HttpError(405, "METHOD_NOT_ALLOWED", f"HTTP Method '{self.method}' not allowed. Allowed are PATCH")
            obj = self.obj(parts[0])
            f = obj.get(parts[1])
            if f is None or not (f.external_id or f.name == "Id"):
                raise HttpError(400, "INVALID_FIELD", f"Field name provided, {parts[1]} is not an External ID or indexed "
                                "field for " + obj.name)
            for rec in records:
                ops.append(("upsert", obj, rec, f.name))
            return Response(200, self.org._collection(ops, all_or_none))
        kind = {"POST": "create", "PATCH": "update"}.get(self.method)
        if kind is None:
            raise HttpError(405, "METHOD_NOT_ALLOWED", f"HTTP Method '{self.method}' not allowed. Allowed are POST,PATCH,DELETE")
        for rec in records:
            if not isinstance(rec, dict):
                raise HttpError(400, "JSON_PARSER_ERROR", "each record must be an object")
            type_name = (rec.get("attributes") or {}).get("type")
            if not type_name and kind == "update" and rec.get("Id"):
                type_name = object_for_id(str(rec["Id"]))
            if not type_name:
                raise HttpError(400, "INVALID_TYPE", "Must send a concrete entity type.")
            ops.append((kind, self.obj(type_name), rec))
        return Response(200, self.org._collection(ops, all_or_none))

    # ------------------------------------------------------------------ Bulk API 2.0 query
    def bulk_query(self, parts: list[str]) -> Response:
        if not parts:
            if self.method == "POST":
                return self.org._bulk_create(self.body_object())
            if self.method == "GET":
                return Response(200, {"done": True, "records": [self.org._bulk_info(j) for j in self.org._bulk_jobs.values()],
                                      "nextRecordsUrl": None})
        job_id = parts[0]
        if len(parts) == 1:
            if self.method == "GET":
                return Response(200, self.org._bulk_info(self.org._bulk_job(job_id)))
            if self.method == "DELETE":
                self.org._bulk_jobs.pop(self.org._bulk_job(job_id)["id"], None)
                return Response(204)
            if self.method == "PATCH":
                job = self.org._bulk_job(job_id)
                state = self.body_object().get("state")
                if state != "Aborted":
                    raise HttpError(400, "INVALIDJOBSTATE", f"Invalid state: {state}")
                job["state"] = "Aborted"
                return Response(200, self.org._bulk_info(job))
        if len(parts) == 2 and parts[1] == "results" and self.method == "GET":
            return self.org._bulk_results(job_id, self.param("locator"), self.param("maxRecords"))
        raise HttpError(404, "NOT_FOUND", "The requested resource does not exist")
