"""``DemoOrg``: a seeded, Salesforce-compatible org served over HTTPS on loopback, with test hooks.

The org's data lives in a SQLite file under ``data_dir``; the seeded state is built once per
(scale, seed, seed format) into a cache file and copied, so starting an org is cheap and hooks that
mutate data never touch the cache. The copy's history ends on the org's today (:mod:`.history`), and its reps
answer Retour's follow-ups as the org's clock passes (:mod:`.reps`); the clock is the wall clock unless a test
injects one.
"""

from __future__ import annotations

import base64
import contextlib
import datetime as dt
import hashlib
import hmac
import logging
import re
import secrets
import shutil
import socket
import ssl
import threading
import time
from collections import OrderedDict
from collections.abc import Callable, Iterable, Iterator
from pathlib import Path
from typing import Any

import jwt

from . import faults as fault_switches
from . import history, reps
from .ids import make_id, to18
from .schema import OBJECTS, SObject, sobject
from .seed import INTEGRATION_USERNAME, SEED_VERSION, ensure_seeded
from .server import (CURSOR_CAP, ROLLED_BACK, Cursor, DemoOrgServer, Fault, HttpError, OAuthError, Response)
from .soql import Compare, BoolOp, Compiled, SoqlError, compile_query
from .store import Store, WriteError, format_datetime, to_sql
from .tls import ensure_jwt_key, ensure_tls

log = logging.getLogger("retour.demo_org")

JWT_GRANT = "urn:ietf:params:oauth:grant-type:jwt-bearer"
CURSOR_IDLE_SECONDS = 15 * 60
CURSOR_ROW_BUDGET = 5_000_000  # row ids held by open cursors (8 bytes each)


def _scale_tag(scale: float) -> str:
    return f"{scale:g}".replace(".", "_")


class DemoOrg:
    """A local Salesforce org for demos, integration tests and benchmarks (see the team brief's contract)."""

    def __init__(self, data_dir: Path, scale: float = 1.0, seed: int = 7, port: int = 0, api_limit: int = 100_000,
                 *, session_seconds: float = 7200.0, cache_dir: Path | None = None, fresh: bool = False,
                 keys_dir: Path | None = None, clock: Callable[[], dt.datetime] | None = None,
                 faults: Iterable[str] = ()):
        """``clock``: the org's now (tz-aware), the wall clock by default. Its date is the day the seeded history
        ends on when the org starts, and the time it gives decides when reps answer Retour's follow-ups; tests
        pass a fixed or movable clock (:mod:`.testing`). Record stamps (SystemModstamp) stay on the wall clock,
        as a real org's do, so an incremental sync sees every change. ``faults``: named switches of
        :mod:`.faults` that make the org answer as Salesforce does on its bad days."""
        if scale <= 0:
            raise ValueError("scale must be positive (1.0 = ~3,000 opportunities)")
        self.data_dir = Path(data_dir).resolve()  # env() hands these paths to other shells: never relative
        self.scale = float(scale)
        self.seed = int(seed)
        self.port = int(port)
        self.api_limit = int(api_limit)
        self.session_seconds = float(session_seconds)
        self.home = self.data_dir / "demo-org"
        self.cache_dir = Path(cache_dir) if cache_dir else self.home / "cache"
        self.keys_dir = Path(keys_dir) if keys_dir else self.home
        self.fresh = fresh
        self.faults: set[str] = set(fault_switches.parse_faults(faults))
        self._purged_at_ms = int(time.time() * 1000) if "deleted-purged" in self.faults else 0
        self._html_n = 0
        self._cut_served: set[tuple[str, int]] = set()
        self.clock: Callable[[], dt.datetime] = clock or (lambda: dt.datetime.now(dt.timezone.utc))
        self.db_path = self.home / f"org-{_scale_tag(self.scale)}-{self.seed}.sqlite"
        self.username = INTEGRATION_USERNAME
        self.consumer_key = "3MVG9Retour" + hashlib.sha256(f"demo-org-{self.seed}".encode()).hexdigest()[:40]
        self.org_id = make_id("00D", 1000 + self.seed)
        self.api_calls = 0
        self.seed_seconds: float | None = None
        self.store: Store | None = None
        self._server: DemoOrgServer | None = None
        self._thread: threading.Thread | None = None
        self._lock = threading.Lock()
        self._tokens: dict[str, float] = {}
        self._faults: list[Fault] = []
        self._cursors: OrderedDict[str, Cursor] = OrderedDict()
        self._cursor_n = 0
        self._bulk_jobs: OrderedDict[str, dict] = OrderedDict()
        self._bulk_n = 0
        self.ca_bundle: Path | None = None
        self.private_key_file: Path | None = None
        self._public_key: bytes | None = None
        self.consumer_secret = ""
        self.integration_user_id = ""

    # ------------------------------------------------------------------ lifecycle
    @property
    def base_url(self) -> str:
        if self._server is None:
            raise RuntimeError("the demo org is not started: call start() first")
        return f"https://127.0.0.1:{self._server.server_address[1]}"

    def start(self) -> "DemoOrg":
        if self._server is not None:
            return self
        self.home.mkdir(parents=True, exist_ok=True)
        self.ca_bundle, cert, key = ensure_tls(self.keys_dir / "tls")
        self.private_key_file, self._public_key = ensure_jwt_key(self.keys_dir / "oauth")
        self.consumer_secret = hashlib.sha256(b"client-secret" + self.private_key_file.read_bytes()).hexdigest()[:48]
        cached, self.seed_seconds = ensure_seeded(self.cache_dir, self.scale, self.seed)
        today = self.clock().date()
        if self.fresh or not self.db_path.exists() or not self._same_seed(self.db_path):
            replacing = self.db_path.exists()
            tmp = self.db_path.with_suffix(".tmp")
            shutil.copyfile(cached, tmp)
            copy = Store(tmp)
            try:
                history.place(copy, today, restamp_ms=None)  # nobody has read this copy: no re-read needed
                if replacing:  # ... unless a database mirrors the copy it replaces
                    history.touch(copy, copy.now_ms())
                reps.ensure_table(copy)
            finally:
                copy.close()
            tmp.replace(self.db_path)
        self.store = Store(self.db_path)
        reps.ensure_table(self.store)
        self.place_history(seed_file=cached)
        self.integration_user_id = self.store.find_by(OBJECTS["User"], "Username", self.username)[0]
        self.store.integration_user = self.integration_user_id
        ctx = ssl.SSLContext(ssl.PROTOCOL_TLS_SERVER)
        ctx.load_cert_chain(str(cert), str(key))
        self._server = DemoOrgServer(self, self.port, ctx)
        self._thread = threading.Thread(target=self._server.serve_forever, kwargs={"poll_interval": 0.1},
                                        name=f"demo-org-{self._server.server_address[1]}", daemon=True)
        self._thread.start()
        self._wait_ready()
        log.info("demo_org state=started url=%s scale=%s seed=%s db=%s", self.base_url, self.scale, self.seed,
                 self.db_path)
        return self

    def now_ms(self) -> int:
        """The org's clock in epoch milliseconds."""
        return int(self.clock().timestamp() * 1000)

    def place_history(self, *, seed_file: Path | None = None) -> int:
        """Move the seeded history to end on the clock's today (if it ends on another day); return the days moved.

        ``start`` calls it: a running org never moves (see :mod:`.history`); a test that moves the clock to
        another day calls it to start that day as a new run of the demo would."""
        if seed_file is None:
            seed_file, _ = ensure_seeded(self.cache_dir, self.scale, self.seed)
        days = history.place(self.store, self.clock().date(), restamp_ms=self.store.now_ms(), seed_file=seed_file)
        if days:
            log.info("demo_org state=history_moved days=%d today=%s", days, self.clock().date())
        return days

    def answer_due(self) -> int:
        """Let the reps answer every follow-up whose time has come by the org's clock (done before each API
        request, and by :meth:`records`); return how many records they changed."""
        return reps.answer_due(self.store, self.now_ms())

    def _same_seed(self, path: Path) -> bool:
        try:
            st = Store(path)
            try:
                return st.meta("seed_version") == str(SEED_VERSION)
            finally:
                st.close()
        except Exception:  # an unreadable working copy is replaced by a fresh one
            return False

    def _wait_ready(self) -> None:
        ctx = ssl.create_default_context(cafile=str(self.ca_bundle))
        port = self._server.server_address[1]
        deadline = time.monotonic() + 10
        while True:
            try:
                with socket.create_connection(("127.0.0.1", port), timeout=2) as sock:
                    with ctx.wrap_socket(sock, server_hostname="127.0.0.1") as tls:
                        tls.sendall(b"GET /services/data HTTP/1.1\r\nHost: 127.0.0.1\r\nConnection: close\r\n\r\n")
                        if tls.recv(12).startswith(b"HTTP/1.1"):
                            return
            except OSError:
                if time.monotonic() > deadline:
                    raise
                time.sleep(0.05)

    def stop(self) -> None:
        if self._server is not None:
            self._server.shutdown()
            self._server.server_close()
            self._thread.join(timeout=10)
            self._server = None
            self._thread = None
        if self.store is not None:
            self.store.close()
            self.store = None

    def __enter__(self) -> "DemoOrg":
        return self.start()

    def __exit__(self, *exc: Any) -> None:
        self.stop()

    def env(self) -> dict[str, str]:
        """The RETOUR_* settings that point Retour at this org (JWT bearer flow, its CA, the org's mapping)."""
        return {
            "RETOUR_SALESFORCE_AUTH": "jwt",
            "RETOUR_SALESFORCE_LOGIN_URL": self.base_url,
            "RETOUR_SALESFORCE_INSTANCE_URL": self.base_url,
            "RETOUR_SALESFORCE_API_VERSION": "59.0",
            "RETOUR_SALESFORCE_CONSUMER_KEY": self.consumer_key,
            "RETOUR_SALESFORCE_USERNAME": self.username,
            "RETOUR_SALESFORCE_PRIVATE_KEY_FILE": str(self.private_key_file),
            "RETOUR_SALESFORCE_CA_BUNDLE": str(self.ca_bundle),
            "RETOUR_MAPPING_LOSS_REASON": "Loss_Reason__c",
            "RETOUR_MAPPING_LOSS_DETAIL": "Loss_Reason_Detail__c",
            "RETOUR_MAPPING_COMPETITOR": "Competitor__c",
            "RETOUR_MAPPING_REGION": "Region__c",
            "RETOUR_MAPPING_SEGMENT": "Segment__c",
            "RETOUR_MAPPING_EXTRA": "speaks_basque=Speaks_Basque__c:boolean",
        }

    # ------------------------------------------------------------------ test hooks
    def _obj(self, name: str) -> SObject:
        obj = sobject(name)
        if obj is None:
            raise ValueError(f"unknown sObject {name!r}; known: {', '.join(OBJECTS)}")
        return obj

    def _hook_values(self, obj: SObject, fields: dict[str, Any]) -> dict[str, Any]:
        values = {}
        for key, value in fields.items():
            f = obj.get(key)
            if f is None:
                raise ValueError(f"{obj.name} has no field {key!r}")
            values[f.name] = to_sql(f, value)
        return values

    def update(self, sobject_name: str, record_id: str, **fields: Any) -> None:
        obj = self._obj(sobject_name)
        self.store.live_row(obj, record_id)
        self.store.update_values(obj, record_id, self._hook_values(obj, fields))

    def create(self, sobject_name: str, **fields: Any) -> str:
        obj = self._obj(sobject_name)
        values = self._hook_values(obj, fields)
        if obj.get("OwnerId") and "OwnerId" not in values:
            values["OwnerId"] = self.integration_user_id
        return self.store.insert_values(obj, values)

    def soft_delete(self, sobject_name: str, record_id: str) -> None:
        self.store.soft_delete(self._obj(sobject_name), record_id)

    def hard_delete(self, sobject_name: str, record_id: str) -> None:
        self.store.hard_delete(self._obj(sobject_name), record_id)

    def expire_sessions(self) -> None:
        with self._lock:
            self._tokens.clear()

    def inject_fault(self, method: str, path_regex: str, status: int = 503, body: Any = None, times: int = 1,
                     drop_response: bool = False) -> None:
        """Make the next ``times`` matching requests fail: answer ``status``/``body`` without doing the work, or,
        with ``drop_response``, do the work and then drop the connection without answering."""
        if body is None:
            body = [{"message": "Server temporarily unavailable", "errorCode": "SERVER_UNAVAILABLE"}]
        with self._lock:
            self._faults.append(Fault(method.upper(), re.compile(path_regex), status, body, times, drop_response))

    def clear_faults(self) -> None:
        with self._lock:
            self._faults.clear()

    def enable_fault(self, name: str) -> None:
        """Turn on a named fault switch of :mod:`.faults` (it stays on until :meth:`disable_fault`)."""
        fault_switches.parse_faults([name])
        with self._lock:
            self.faults.add(name)
            if name == "deleted-purged":
                self._purged_at_ms = int(time.time() * 1000)
            if name == "bulk-cut":
                self._cut_served.clear()

    def disable_fault(self, name: str) -> None:
        with self._lock:
            self.faults.discard(name)

    @contextlib.contextmanager
    def fault(self, *names: str) -> Iterator[None]:
        """These fault switches on for the ``with`` block, off after it whatever happens inside (a test's failure
        must not leave the next test a broken org)."""
        for name in names:
            self.enable_fault(name)
        try:
            yield
        finally:
            for name in names:
                self.disable_fault(name)

    def has_fault(self, name: str) -> bool:
        return name in self.faults

    @property
    def query_all_files(self) -> bool:
        """Whether the integration user holds Query All Files (Retour's permission set asks for it)."""
        return "no-query-all-files" not in self.faults

    def hidden_fields(self, obj_name: str) -> tuple[str, ...]:
        """Fields the org lacks with old-metadata on: its describe omits them and writes naming them fail."""
        if "old-metadata" not in self.faults:
            return ()
        return fault_switches.OLD_METADATA_FIELDS.get(obj_name, ())

    def _refuse_hidden(self, obj: SObject, data: dict) -> None:
        for key in self.hidden_fields(obj.name):
            if any(k.lower() == key.lower() for k in data):
                raise WriteError("INVALID_FIELD", f"No such column '{key}' on sobject of type {obj.name}", [key])

    def deleted_earliest_ms(self, now_ms: int) -> int:
        """getDeleted's earliestDateAvailable: the window's start, or the last purge if later (minute-aligned)."""
        days = fault_switches.DELETED_DAYS_SHORT if "deleted-15-days" in self.faults else fault_switches.DELETED_DAYS
        earliest = now_ms - days * 86400 * 1000
        if "deleted-purged" in self.faults:
            earliest = max(earliest, self._purged_at_ms)
        return earliest - earliest % 60000

    def maintenance_page_due(self) -> bool:
        """With html-200: whether this REST call gets the HTML maintenance page (every HTML_EVERY-th call)."""
        if "html-200" not in self.faults:
            return False
        with self._lock:
            self._html_n += 1
            return self._html_n % fault_switches.HTML_EVERY == 0

    def set_api_usage(self, used: int) -> None:
        with self._lock:
            self.api_calls = int(used)

    def records(self, sobject_name: str) -> list[dict]:
        obj = self._obj(sobject_name)
        self.answer_due()
        return [{k: v for k, v in self.store.record_json(obj, row).items() if k != "attributes"}
                for row in self.store.all_rows(obj)]

    def truth(self) -> dict[str, str]:
        """Seeded ground truth, for benchmarks of theme discovery: record Id -> the theme its text was written
        about (records whose text carries no feedback theme are absent). Never served over the API."""
        with self.store.lock:
            return {rid: theme for rid, theme in self.store.conn.execute("SELECT id, theme FROM _truth")}

    # ------------------------------------------------------------------ request plumbing (server side)
    def _authenticate(self, header: str) -> None:
        token = header[7:].strip() if header.lower().startswith("bearer ") else header.removeprefix("OAuth ").strip()
        with self._lock:
            expires = self._tokens.get(token)
            if expires is None or expires < time.monotonic():
                self._tokens.pop(token, None)
                raise HttpError(401, "INVALID_SESSION_ID", "Session expired or invalid")

    def _count_call(self) -> None:
        with self._lock:
            if self.api_calls >= self.api_limit:
                raise HttpError(403, "REQUEST_LIMIT_EXCEEDED", "TotalRequests Limit exceeded.")
            self.api_calls += 1

    def _take_fault(self, method: str, path: str) -> Fault | None:
        with self._lock:
            for fault in self._faults:
                if fault.method in (method, "*") and fault.pattern.search(path):
                    fault.times -= 1
                    if fault.times <= 0:
                        self._faults.remove(fault)
                    return fault
        return None

    def _issue_token(self) -> Response:
        token = f"{self.org_id[:15]}!AQ" + secrets.token_urlsafe(48)
        with self._lock:
            self._tokens[token] = time.monotonic() + self.session_seconds
        issued = str(int(time.time() * 1000))
        sig = base64.b64encode(hmac.new(self.consumer_key.encode(), (self.base_url + issued).encode(),
                                        hashlib.sha256).digest()).decode()
        return Response(200, {"access_token": token, "signature": sig, "scope": "api", "instance_url": self.base_url,
                              "id": f"{self.base_url}/id/{self.org_id}/{self.integration_user_id}",
                              "token_type": "Bearer", "issued_at": issued})

    def _token(self, raw: bytes, headers) -> Response:
        from urllib.parse import parse_qs
        form = {k: v[0] for k, v in parse_qs(raw.decode("utf-8", "replace"), keep_blank_values=True).items()}
        grant = form.get("grant_type", "")
        host = (headers.get("Host") or "").rsplit(":", 1)[0].strip("[]").lower()
        if grant == JWT_GRANT:
            assertion = form.get("assertion", "")
            try:
                unverified = jwt.decode(assertion, options={"verify_signature": False})
            except jwt.PyJWTError:
                raise OAuthError("invalid_grant", "invalid assertion") from None
            if unverified.get("iss") != self.consumer_key:
                raise OAuthError("invalid_client_id", "client identifier invalid")
            try:
                claims = jwt.decode(assertion, self._public_key, algorithms=["RS256"],
                                    audience=self._jwt_audiences(),
                                    options={"require": ["exp", "iss", "sub", "aud"]})
            except jwt.ExpiredSignatureError:
                raise OAuthError("invalid_grant", "expired authorization code") from None
            except jwt.InvalidAudienceError:
                raise OAuthError("invalid_grant", "audience is invalid") from None
            except jwt.PyJWTError:
                raise OAuthError("invalid_grant", "invalid assertion") from None
            if claims.get("sub") != self.username:
                raise OAuthError("invalid_grant", "user hasn't approved this consumer")
            return self._issue_token()
        if grant == "client_credentials":
            if "cc-my-domain-only" in self.faults and host == fault_switches.LOGIN_HOST:
                # Salesforce serves this flow on My Domain hosts only (pozil/pub-sub-api-node-client#58).
                raise OAuthError("invalid_grant", "request not supported on this domain")
            cid, secret = form.get("client_id", ""), form.get("client_secret", "")
            auth = headers.get("Authorization", "")
            if auth.lower().startswith("basic "):
                try:
                    cid, _, secret = base64.b64decode(auth[6:].strip()).decode("utf-8").partition(":")
                except ValueError:
                    raise OAuthError("invalid_client", "invalid client credentials") from None
            if cid != self.consumer_key:
                raise OAuthError("invalid_client_id", "client identifier invalid")
            if not hmac.compare_digest(secret, self.consumer_secret):
                raise OAuthError("invalid_client", "invalid client credentials")
            return self._issue_token()
        raise OAuthError("unsupported_grant_type", "grant type not supported")

    def _jwt_audiences(self) -> list[str]:
        """What ``aud`` may say: the org's own URL, or - with jwt-login-audience - only the login server, as
        Salesforce checks an assertion posted to a production My Domain."""
        if "jwt-login-audience" in self.faults:
            return [fault_switches.LOGIN_SERVER, fault_switches.LOGIN_SERVER + "/"]
        return [self.base_url, self.base_url + "/"]

    def _limits(self) -> dict:
        used = self.api_calls
        return {"DailyApiRequests": {"Max": self.api_limit, "Remaining": max(self.api_limit - used, 0)},
                "DailyBulkApiBatches": {"Max": 15000, "Remaining": 15000},
                "DailyBulkV2QueryJobs": {"Max": 10000, "Remaining": 10000 - len(self._bulk_jobs)},
                "DailyBulkV2QueryFileStorageMB": {"Max": 976562, "Remaining": 976562},
                "DataStorageMB": {"Max": 5120, "Remaining": 4096},
                "ConcurrentAsyncGetReportInstances": {"Max": 200, "Remaining": 200}}

    def _check_query_restrictions(self, compiled: Compiled, text: str) -> None:
        """What Salesforce refuses to run: ContentDocumentLink without an Id filter when the user lacks Query All
        Files; with query-timeout, a REST query over a wide SystemModstamp range."""
        if "query-timeout" in self.faults and _modstamp_days(compiled) > fault_switches.QUERY_TIMEOUT_DAYS:
            raise HttpError(400, "QUERY_TIMEOUT", "Your query request was running for too long.")
        if compiled.obj.name != "ContentDocumentLink" or self.query_all_files:
            return
        where = compiled.ast.where if compiled.ast else None
        conjuncts = where.items if isinstance(where, BoolOp) and where.op == "AND" else [where]
        ok = any(isinstance(c, Compare) and c.op in ("=", "IN") and len(c.path.parts) == 1
                 and c.path.parts[0].lower() in ("contentdocumentid", "linkedentityid", "id") for c in conjuncts)
        if not ok:
            raise HttpError(400, "MALFORMED_QUERY", "Implementation restriction: ContentDocumentLink requires a filter "
                            "by a single Id on ContentDocumentId or LinkedEntityId using the equals operator or multiple "
                            "Id's using the IN operator.")

    def visible_ids(self, compiled: Compiled, rowids):
        """Without Query All Files, a ContentNote query not filtered by Id sees only the user's own notes (even with
        View All Data, per the ContentDocument reference), and a ContentDocumentLink query only their links."""
        if compiled.obj.name == "ContentDocumentLink" and not self.query_all_files:
            with self.store.lock:
                own = {r[0] for r in self.store.conn.execute(
                    'SELECT l.rowid FROM "ContentDocumentLink" l JOIN "ContentNote" n '
                    'ON n."Id" = l."ContentDocumentId" WHERE n."OwnerId" = ?', (self.integration_user_id,))}
            return type(rowids)("q", [r for r in rowids if r in own])
        if compiled.obj.name != "ContentNote" or self.query_all_files or _filters_on_id(compiled):
            return rowids
        with self.store.lock:
            own = {r[0] for r in self.store.conn.execute('SELECT rowid FROM "ContentNote" WHERE "OwnerId" = ?',
                                                         (self.integration_user_id,))}
        return type(rowids)("q", [r for r in rowids if r in own])

    def _first_page(self, compiled: Compiled, rowids, page: int) -> Response:
        with self._lock:
            self._cursor_n += 1
            locator = make_id("01g", self._cursor_n, pod="Rt")
            self._cursors[locator] = Cursor(compiled, rowids, page)
            # Like Salesforce, idle cursors expire (15 min) and only so many stay open; the row-id budget keeps
            # abandoned cursors of 300,000-row queries from holding memory.
            idle = time.monotonic() - CURSOR_IDLE_SECONDS
            for key in [k for k, c in self._cursors.items() if c.used < idle]:
                del self._cursors[key]
            while len(self._cursors) > 1 and (len(self._cursors) > CURSOR_CAP or
                                              sum(len(c.rowids) for c in self._cursors.values()) > CURSOR_ROW_BUDGET):
                self._cursors.popitem(last=False)
        return self._page(locator, 0)

    def _page(self, locator: str, offset: int) -> Response:
        with self._lock:
            cursor = self._cursors.get(locator)
            if cursor is not None:
                cursor.used = time.monotonic()
                self._cursors.move_to_end(locator)
        if cursor is None or offset > len(cursor.rowids):
            raise HttpError(400, "INVALID_QUERY_LOCATOR", "invalid query locator")
        end = min(offset + cursor.page, len(cursor.rowids))
        records = self.store.fetch_records(cursor.compiled, list(cursor.rowids[offset:end]))
        body: dict[str, Any] = {"totalSize": len(cursor.rowids), "done": end >= len(cursor.rowids)}
        if end < len(cursor.rowids):
            body["nextRecordsUrl"] = f"/services/data/v59.0/query/{locator}-{end}"
        else:
            with self._lock:
                self._cursors.pop(locator, None)
        body["records"] = records
        return Response(200, body)

    # ------------------------------------------------------------------ writes (API side)
    def _create(self, obj: SObject, data: dict) -> str:
        self._refuse_hidden(obj, data)
        with self.store.transaction():
            values = self.store.validate(obj, data, creating=True)
            if obj.get("OwnerId") and not values.get("OwnerId"):
                values["OwnerId"] = self.integration_user_id
            new_id = self.store.insert_values(obj, values)
            self._landed(obj, new_id, values)
            return new_id

    def _landed(self, obj: SObject, record_id: str, values: dict) -> None:
        """A follow-up Task of Retour's just landed: its rep's answer is planned now (see :mod:`.reps`)."""
        if obj.name == "Task" and values.get("Retour_Key__c") and values.get("Status") != "Completed":
            reps.schedule(self.store, record_id, values.get("WhatId"), self.now_ms())

    def _update(self, obj: SObject, record_id: str, data: dict) -> None:
        self._refuse_hidden(obj, data)
        with self.store.transaction():
            data = {k: v for k, v in data.items() if k not in ("attributes", "Id")}
            current = self.store.live_row(obj, record_id)
            values = self.store.validate(obj, data, creating=False, current=current)
            self.store.update_values(obj, record_id, values, current)

    def _delete(self, obj: SObject, record_id: str) -> None:
        self.store.soft_delete(obj, record_id)

    def _upsert(self, obj: SObject, field_name: str, value: str, data: dict) -> tuple[str, bool]:
        self._refuse_hidden(obj, data)
        with self.store.transaction():
            data = {k: v for k, v in data.items() if k != "attributes"}
            if field_name in data and str(data[field_name]) != value:
                raise WriteError("INVALID_FIELD", f"Field {field_name} is not a valid field for upsert: value in URL "
                                 "and body differ", [field_name])
            data.pop(field_name, None)
            ids = [i for i in self.store.find_by(obj, field_name, value)]
            if len(ids) > 1:
                raise WriteError("MULTIPLE_CHOICES", f"More than one record found for {field_name} = {value}",
                                 status=300)
            if ids:
                current = self.store.get_row(obj, ids[0])
                if current.get("IsDeleted"):
                    raise WriteError("ENTITY_IS_DELETED", "entity is deleted", status=404)
                values = self.store.validate(obj, data, creating=False, current=current)
                self.store.update_values(obj, ids[0], values, current)
                return ids[0], False
            data[field_name] = value
            values = self.store.validate(obj, data, creating=True)
            if obj.get("OwnerId") and not values.get("OwnerId"):
                values["OwnerId"] = self.integration_user_id
            new_id = self.store.insert_values(obj, values)
            self._landed(obj, new_id, values)
            return new_id, True

    def _one(self, op: tuple) -> dict:
        kind, obj, rec = op[0], op[1], op[2]
        if kind == "create":
            new_id = self._create(obj, rec)
            return {"id": new_id, "success": True, "errors": []}
        if kind == "update":
            rid = rec.get("Id")
            if not rid:
                raise WriteError("MISSING_ARGUMENT", "Id not specified in an update call", ["Id"])
            self._update(obj, str(rid), rec)
            return {"id": to18(str(rid)), "success": True, "errors": []}
        if kind == "delete":
            rid = str(rec["Id"])
            target = self._obj_for(rid)
            self._delete(target, rid)
            return {"id": to18(rid), "success": True, "errors": []}
        field_name = op[3]
        key = rec.get(field_name)
        if key in (None, ""):
            raise WriteError("MISSING_ARGUMENT", f"{field_name} not specified", [field_name])
        rid, created = self._upsert(obj, field_name, str(key), rec)
        return {"id": rid, "success": True, "errors": [], "created": created}

    def _obj_for(self, record_id: str) -> SObject:
        from .schema import object_for_id
        name = object_for_id(record_id)
        if name is None:
            raise WriteError("MALFORMED_ID", f"malformed id {record_id}", status=400)
        return OBJECTS[name]

    def _collection(self, ops: list[tuple], all_or_none: bool) -> list[dict]:
        try:
            return self._collection_tx(ops, all_or_none)
        except _Rollback as rollback:
            return rollback.results

    def _collection_tx(self, ops: list[tuple], all_or_none: bool) -> list[dict]:
        results: list[dict] = []
        failed = False
        with self.store.transaction():
            for op in ops:
                try:
                    with self.store.transaction():
                        results.append(self._one(op))
                except WriteError as exc:
                    failed = True
                    res: dict[str, Any] = {"success": False, "errors": [exc.as_collection_error()]}
                    if op[0] in ("update", "delete") and op[2].get("Id"):
                        res = {"id": str(op[2]["Id"]), **res}
                    results.append(res)
            if all_or_none and failed:
                rolled = []
                for res in results:
                    if res["success"]:
                        rolled.append({"success": False, "errors": [dict(ROLLED_BACK)]})
                    else:
                        rolled.append(res)
                raise _Rollback(rolled)
        return results

    # ------------------------------------------------------------------ Bulk API 2.0 query
    def _bulk_create(self, body: dict) -> Response:
        operation = body.get("operation")
        text = body.get("query")
        if operation not in ("query", "queryAll"):
            raise HttpError(400, "INVALIDJOB", f"Invalid operation for a query job: {operation}")
        if not isinstance(text, str) or not text.strip():
            raise HttpError(400, "INVALIDJOB", "Query is required for query jobs")
        try:
            compiled = compile_query(text, operation == "queryAll")
        except SoqlError as exc:
            raise HttpError(400, exc.code, exc.message) from None
        if compiled.count:
            raise HttpError(400, "INVALIDJOB", "Aggregate queries are not supported by Bulk API 2.0 query")
        if "bulk-no-order-by" in self.faults and compiled.ast is not None and compiled.ast.order:
            raise HttpError(400, "INVALIDJOB", "ORDER BY is not supported by Bulk API 2.0 query: it disables PK "
                            "chunking. Remove the ORDER BY clause.")
        if compiled.obj.name == "ContentDocumentLink" and not self.query_all_files:
            self._check_query_restrictions(compiled, text)
        rowids = self.visible_ids(compiled, self.store.run_ids(compiled))
        now = format_datetime(int(time.time() * 1000))
        with self._lock:
            self._bulk_n += 1
            job_id = make_id("750", self._bulk_n, pod="Rt")
            job = {"id": job_id, "operation": operation, "object": compiled.obj.name,
                   "createdById": self.integration_user_id, "createdDate": now, "systemModstamp": now,
                   "state": "UploadComplete", "concurrencyMode": "Parallel", "contentType": "CSV",
                   "apiVersion": 59.0, "lineEnding": body.get("lineEnding", "LF"),
                   "columnDelimiter": body.get("columnDelimiter", "COMMA"),
                   "_compiled": compiled, "_rowids": rowids}
            self._bulk_jobs[job_id] = job
        info = self._bulk_info(job)
        job["state"] = "JobComplete"  # the query runs at once; the next GET sees it complete
        return Response(200, info)

    def _bulk_job(self, job_id: str) -> dict:
        job = self._bulk_jobs.get(to18(job_id))
        if job is None:
            raise HttpError(404, "NOT_FOUND", "The requested resource does not exist")
        return job

    def _bulk_info(self, job: dict) -> dict:
        info = {k: v for k, v in job.items() if not k.startswith("_")}
        if job["state"] == "JobComplete":
            info.update({"numberRecordsProcessed": len(job["_rowids"]), "retries": 0, "totalProcessingTime": 12,
                         "jobType": "V2Query"})
        return info

    def _bulk_results(self, job_id: str, locator: str | None, max_records: str | None) -> Response:
        job = self._bulk_job(job_id)
        if job["state"] != "JobComplete":
            raise HttpError(400, "INVALIDJOBSTATE", f"Job is not complete: {job['state']}")
        try:
            offset = int(base64.urlsafe_b64decode((locator or "").encode() + b"==").decode() or 0) if locator else 0
            limit = int(max_records) if max_records else 100_000
        except ValueError:
            raise HttpError(400, "INVALIDLOCATOR", f"Invalid locator: {locator}") from None
        if limit <= 0:
            raise HttpError(400, "INVALID_MAX_RECORDS", "maxRecords must be a positive number")
        rowids = job["_rowids"]
        compiled: Compiled = job["_compiled"]
        end = min(offset + limit, len(rowids))
        delim = {"COMMA": ",", "TAB": "\t", "SEMICOLON": ";", "PIPE": "|", "CARET": "^", "BACKQUOTE": "`"}.get(
            job["columnDelimiter"], ",")
        newline = "\r\n" if job["lineEnding"] == "CRLF" else "\n"
        header = [(f"{c.relationship}.{c.field.name}" if c.relationship else c.field.name) for c in compiled.columns]
        lines = [delim.join(f'"{h}"' for h in header)]
        records = self.store.fetch_records(compiled, list(rowids[offset:end]))
        for rec in records:
            cells = []
            for c in compiled.columns:
                value = rec.get(c.field.name) if c.relationship is None else (rec.get(c.relationship) or {}).get(c.field.name)
                cells.append(_csv_cell(c.field.type, value))
            lines.append(delim.join(cells))
        payload = newline.join(lines) + newline
        cut = False
        if "bulk-cut" in self.faults:
            with self._lock:
                cut = (job["id"], offset) not in self._cut_served
                self._cut_served.add((job["id"], offset))
        next_locator = base64.urlsafe_b64encode(str(end).encode()).decode().rstrip("=") if end < len(rowids) else "null"
        return Response(200, payload.encode("utf-8"), content_type="text/csv",
                        headers={"Sforce-Locator": next_locator, "Sforce-NumberOfRecords": str(len(records))},
                        cut=cut)


def _conjuncts(where: Any) -> list:
    return list(where.items) if isinstance(where, BoolOp) and where.op == "AND" else [where]


def _filters_on_id(compiled: Compiled) -> bool:
    where = compiled.ast.where if compiled.ast else None
    return any(isinstance(c, Compare) and c.op in ("=", "IN") and len(c.path.parts) == 1
               and c.path.parts[0].lower() == "id" for c in _conjuncts(where))


def _modstamp_days(compiled: Compiled) -> float:
    """The width in days of a query's range on SystemModstamp/LastModifiedDate (0 unless bounded both ways)."""
    where = compiled.ast.where if compiled.ast else None
    lower = upper = None
    for c in _conjuncts(where):
        if not (isinstance(c, Compare) and len(c.path.parts) == 1
                and c.path.parts[0].lower() in ("systemmodstamp", "lastmodifieddate")):
            continue
        value = c.value.value if not isinstance(c.value, tuple) else None
        if not isinstance(value, dt.datetime):
            continue
        if c.op in (">", ">="):
            lower = value
        elif c.op in ("<", "<="):
            upper = value
    if lower is None or upper is None:
        return 0.0
    return (upper - lower).total_seconds() / 86400


def _csv_cell(field_type: str, value: Any) -> str:
    if value is None:
        return ""
    if isinstance(value, bool):
        text = "true" if value else "false"
    elif field_type == "datetime":
        text = str(value).replace("+0000", "Z")
    else:
        text = str(value)
    return '"' + text.replace('"', '""') + '"'


class _Rollback(Exception):
    def __init__(self, results: list[dict]):
        super().__init__("allOrNone rollback")
        self.results = results
