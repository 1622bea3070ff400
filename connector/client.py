"""One Salesforce connection with Retour's guarantees around every call.

simple-salesforce does the HTTP and the JSON; :class:`OrgClient` adds what a long unattended sync needs:

- bounded re-authentication on 401 INVALID_SESSION_ID (``[salesforce] max_reauth`` per call), then resume;
- retries of transient faults with exponential backoff and full jitter, within ``[sync] max_retries``;
- an API budget: ``Sforce-Limit-Info`` is read from *every* response (Bulk 2.0 included, through a
  ``requests`` response hook, since the library's bulk handlers ignore it) and a call is refused with
  :class:`BudgetExhausted` once the org's usage passes ``[sync] api_budget_share`` of its daily limit;
- a count of the calls made, in total and per object, for JobRun figures and the benchmark.
"""

from __future__ import annotations

import json
import logging
import random
import re
import time
from collections import Counter
from collections.abc import Callable, Iterator
from typing import Any, TypeVar

import requests
import requests.adapters
from simple_salesforce import Salesforce
from simple_salesforce.exceptions import SalesforceError

from connector.auth import Token, authenticate
from connector.errors import (
    AuthFailed,
    BudgetExhausted,
    FatalSalesforceError,
    RetourSalesforceError,
    RetriableSalesforceError,
    SessionExpired,
    from_response,
    translate,
    unreadable,
)
from retour.config import Settings

log = logging.getLogger(__name__)
T = TypeVar("T")
# One entry of Sforce-Limit-Info: ``name=used/limit`` with an optional ``(appName=…)`` after it.
_LIMIT_ENTRY_RE = re.compile(r"\s*([\w-]+)\s*=\s*(\d+)\s*/\s*(\d+)")


def parse_limit_info(header: str | None) -> tuple[int, int] | None:
    """The org's usage from ``Sforce-Limit-Info`` (``api-usage=25/15000`` → (25, 15000)); None when absent.

    The header holds several entries (``api-usage=25/5000; per-app-api-usage=17/250(appName=x)``, or comma
    separated): only the entry *named* ``api-usage`` is the org's daily usage. A search for the substring read
    ``per-app-api-usage=17/250`` - one connected app's quota - as the org's, whichever came first.
    """
    if not header:
        return None
    for entry in re.split(r"[;,]", header):
        m = _LIMIT_ENTRY_RE.match(entry)
        if m and m.group(1).lower() == "api-usage":
            return int(m.group(2)), int(m.group(3))
    return None


class _TrustAdapter(requests.adapters.HTTPAdapter):
    """Verify TLS against one CA bundle, whatever REQUESTS_CA_BUNDLE says.

    requests lets the environment's CA bundle override ``Session.verify``; the demo org's self-made CA (or
    a corporate one) must win, so the bundle is applied at the adapter, below that merge.
    """

    def __init__(self, ca_bundle: str) -> None:
        super().__init__()
        self.ca_bundle = ca_bundle

    def send(self, request, **kwargs):  # noqa: ANN001, ANN201 - requests' adapter signature
        kwargs["verify"] = self.ca_bundle
        return super().send(request, **kwargs)


def trust(http: requests.Session, ca_bundle: str) -> None:
    """Make ``http`` verify https with ``ca_bundle`` only."""
    http.verify = ca_bundle
    http.mount("https://", _TrustAdapter(ca_bundle))


class OrgClient:
    """A simple-salesforce client plus bounded re-auth, retries, budget and call counting."""

    def __init__(self, settings: Settings, *, http: requests.Session | None = None,
                 sleep: Callable[[float], None] = time.sleep, rng: Callable[[], float] = random.random,
                 login: Callable[[], Token] | None = None) -> None:
        self.settings = settings
        self.http = http or requests.Session()
        if settings.salesforce.ca_bundle:
            trust(self.http, settings.salesforce.ca_bundle)
        self.http.hooks.setdefault("response", []).append(self._on_response)
        self._sleep = sleep
        self._rng = rng
        self._login = login or (lambda: authenticate(settings.salesforce, self.http))
        self.calls = 0
        self.calls_by_object: Counter[str] = Counter()
        self.api_usage: tuple[int, int] | None = None
        self.reauths = 0
        self.retries = 0
        self._object: str | None = None
        self._content_type = ""  # of the latest response: names what came back when a body is not JSON
        self._token: Token | None = None
        self.sf: Salesforce = None  # type: ignore[assignment]
        self.reauthenticate(initial=True)

    # ------------------------------------------------------------------ session
    def reauthenticate(self, *, initial: bool = False) -> None:
        """Log in (again) and rebuild the simple-salesforce client on the same HTTP session."""
        token = self._login()
        self._token = token
        self.sf = Salesforce(session_id=token.access_token, instance_url=token.instance_url, session=self.http,
                             version=self.settings.salesforce.api_version)
        if not initial:
            self.reauths += 1
            log.info("job=sync state=reauthenticated reauths=%d", self.reauths)

    @property
    def instance_url(self) -> str:
        return self._token.instance_url if self._token else ""

    @property
    def base_url(self) -> str:
        """``https://host/services/data/vXX.X/`` as simple-salesforce builds it."""
        return self.sf.base_url

    # ------------------------------------------------------------------ accounting
    def _on_response(self, response: requests.Response, *args: Any, **kwargs: Any) -> None:
        """Count every call to the org and remember the latest ``Sforce-Limit-Info`` (Bulk included)."""
        if "/services/oauth2/" in response.url:
            return  # logins don't count against the API limit
        self.calls += 1
        self.calls_by_object[self._object or "-"] += 1
        self._content_type = response.headers.get("Content-Type", "")
        usage = parse_limit_info(response.headers.get("Sforce-Limit-Info"))
        if usage:
            self.api_usage = usage

    def budget_left(self) -> bool:
        if not self.api_usage or not self.api_usage[1]:
            return True
        used, limit = self.api_usage
        return used / limit < self.settings.sync.api_budget_share

    def check_budget(self, object_name: str | None = None) -> None:
        """Refuse to start a call once the org's usage has passed Retour's share of the daily limit."""
        if not self.budget_left():
            used, limit = self.api_usage  # type: ignore[misc]
            share = self.settings.sync.api_budget_share
            raise BudgetExhausted(
                f"The org has used {used} of its {limit} daily API requests, past the {share:.0%} Retour may use "
                f"([sync] api_budget_share). Retour stopped cleanly and resumes from its bookmarks on the next run.",
                code="RETOUR_BUDGET", object_name=object_name)

    # ------------------------------------------------------------------ the guarded call
    def call(self, fn: Callable[[Salesforce], T], *, object_name: str | None = None, retry: bool = True) -> T:
        """Run ``fn(sf)`` with re-auth, retries, budget check and counting; raise only taxonomy errors."""
        reauths = 0
        attempt = 0
        max_retries = self.settings.sync.max_retries if retry else 0
        while True:
            self.check_budget(object_name)
            previous, self._object = self._object, object_name or self._object
            try:
                return fn(self.sf)
            except (SalesforceError, requests.RequestException, RetourSalesforceError) as raw:
                err = translate(raw, object_name=object_name, content_type=self._content_type)
            finally:
                self._object = previous
            if isinstance(err, SessionExpired):
                if self.settings.salesforce.auth == "session":
                    raise AuthFailed("The Salesforce session id expired (401 INVALID_SESSION_ID) and a session given as "
                                     "[salesforce] session_id cannot be refreshed. Configure auth = \"jwt\" or "
                                     "\"client_credentials\" for unattended runs.", code=err.code, status=401,
                                     object_name=object_name) from None
                if reauths >= self.settings.salesforce.max_reauth:
                    raise AuthFailed(f"Salesforce kept rejecting the session after {reauths} re-authentication(s) "
                                     f"([salesforce] max_reauth). Check the integration user's session policies and "
                                     f"the app's permitted users.", code=err.code, status=401,
                                     object_name=object_name) from None
                reauths += 1
                self.reauthenticate()
                continue
            if isinstance(err, RetriableSalesforceError) and attempt < max_retries:
                delay = self.backoff(attempt)
                attempt += 1
                self.retries += 1
                log.warning("job=sync stream=%s state=retry attempt=%d code=%s wait_s=%.2f",
                            object_name or "-", attempt, err.code or err.status, delay)
                self._sleep(delay)
                continue
            if isinstance(err, RetriableSalesforceError):
                err.message = f"{err.message} (gave up after {attempt} retries; run again later)"
                err.args = (err.message,)
            raise err from None

    def backoff(self, attempt: int) -> float:
        """Exponential backoff with full jitter, capped: base·2^attempt·U(0.5, 1)."""
        cfg = self.settings.sync
        ceiling = min(cfg.backoff_max_seconds, cfg.backoff_base_seconds * (2 ** attempt))
        return ceiling * (0.5 + 0.5 * self._rng())

    # ------------------------------------------------------------------ conveniences
    def restful(self, path: str, method: str = "GET", data: Any = None, *, object_name: str | None = None,
                retry: bool = True, **kwargs: Any) -> Any:
        """``sf.restful`` under :meth:`call`; ``data`` may be a dict/list (JSON-encoded here) or a string."""
        if data is not None and not isinstance(data, (str, bytes)):
            data = json.dumps(data)
        kwargs.setdefault("timeout", self.settings.salesforce.timeout_seconds or None)
        return self.call(lambda sf: sf.restful(path, method=method, data=data, **kwargs),
                         object_name=object_name, retry=retry)

    def query_page(self, soql: str, *, object_name: str, include_deleted: bool = True,
                   headers: dict[str, str] | None = None) -> dict:
        """The first page of a query (``queryAll`` by default, so soft deletes arrive with IsDeleted)."""
        timeout = self.settings.salesforce.timeout_seconds or None
        return self.call(lambda sf: sf.query(soql, include_deleted=include_deleted, timeout=timeout,
                                             **({"headers": headers} if headers else {})),
                         object_name=object_name)

    def query_more(self, next_url: str, *, object_name: str, headers: dict[str, str] | None = None) -> dict:
        timeout = self.settings.salesforce.timeout_seconds or None
        return self.call(lambda sf: sf.query_more(next_url, identifier_is_url=True, timeout=timeout,
                                                  **({"headers": headers} if headers else {})),
                         object_name=object_name)

    def query_pages(self, soql: str, *, object_name: str, include_deleted: bool = True,
                    headers: dict[str, str] | None = None) -> Iterator[dict]:
        """Every page of a query, one guarded call each (a failed page is retried, not the whole query)."""
        page = self.query_page(soql, object_name=object_name, include_deleted=include_deleted, headers=headers)
        yield page
        while not page.get("done", True) and page.get("nextRecordsUrl"):
            page = self.query_more(page["nextRecordsUrl"], object_name=object_name, headers=headers)
            yield page

    def raw(self, method: str, path: str, *, object_name: str | None = None, stream: bool = False,
            expect: str | None = None, **kwargs: Any) -> requests.Response:
        """A guarded request under the instance's REST base (Bulk 2.0 CSV results, blobs): errors classified.

        ``expect`` (a media type such as ``text/csv``): a success whose Content-Type is HTML instead - a
        maintenance or proxy page - is an :class:`UnreadableResponse`, retried like any transient fault."""
        timeout = self.settings.salesforce.timeout_seconds or None
        extra_headers = kwargs.pop("headers", None) or {}

        def _do(sf: Salesforce) -> requests.Response:
            url = path if path.startswith("https://") else (
                f"https://{sf.sf_instance}{path}" if path.startswith("/") else f"{sf.base_url}{path}")
            headers = dict(sf.headers)
            headers.update(extra_headers)
            response = self.http.request(method, url, headers=headers, timeout=timeout, stream=stream, **kwargs)
            if response.status_code >= 300:
                raise from_response(response, object_name=object_name)
            content_type = response.headers.get("Content-Type", "")
            if expect and "html" in content_type.lower() and expect not in content_type.lower():
                try:
                    head = response.raw.read(1024, decode_content=True) if stream else response.content[:1024]
                finally:
                    response.close()
                raise unreadable(content_type, head.decode("utf-8", "replace"), status=response.status_code,
                                 object_name=object_name)
            return response

        return self.call(_do, object_name=object_name)


def connect(settings: Settings, *, http: requests.Session | None = None,
            sleep: Callable[[float], None] = time.sleep) -> OrgClient:
    """Log in per ``settings.salesforce`` and return a guarded client."""
    if not settings.salesforce.configured:
        raise FatalSalesforceError("Salesforce is not configured: set [salesforce] auth (RETOUR_SALESFORCE_AUTH).",
                                   code="config")
    return OrgClient(settings, http=http, sleep=sleep)
