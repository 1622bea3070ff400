"""The connector's error taxonomy: every Salesforce failure is classified here, once.

Callers decide what to do from the class alone:

- :class:`RetriableSalesforceError` - a transient fault (timeout, reset, 5xx, SERVER_UNAVAILABLE,
  UNABLE_TO_LOCK_ROW): the client retries it with backoff; it escapes only when the bound is reached.
- :class:`BudgetExhausted` - the org's API budget for Retour is spent (our share, or Salesforce's own
  REQUEST_LIMIT_EXCEEDED): stop cleanly, keep every committed bookmark, run again later.
- :class:`AuthFailed` - the credentials or the connected app are wrong: nothing will work until fixed.
- :class:`PolicyBlocked` - a transaction security policy in the org blocks the integration user's calls
  (TXN_SECURITY_METERING_ERROR): nothing will work until an admin changes the policy; never retried.
- :class:`QueryTimeout` - Salesforce gave up running a query (QUERY_TIMEOUT): the same query would time out
  again, so the sync splits its SystemModstamp range instead of retrying it.
- :class:`FatalSalesforceError` - a permanent error (INVALID_FIELD, INSUFFICIENT_ACCESS, MALFORMED_QUERY…):
  retrying cannot help; the message says what to change.

Messages are meant for the person running Retour: they say what happened and what to do.
"""

from __future__ import annotations

import json
from typing import Any

import requests
from simple_salesforce.exceptions import SalesforceAuthenticationFailed, SalesforceError


class RetourSalesforceError(Exception):
    """Base of every connector error; ``code`` is Salesforce's errorCode when there is one."""

    def __init__(self, message: str, *, code: str = "", status: int | None = None, object_name: str | None = None):
        super().__init__(message)
        self.message = message
        self.code = code
        self.status = status
        self.object_name = object_name
        self.detail = ""  # Salesforce's own message, when the error came from one


class FatalSalesforceError(RetourSalesforceError):
    """Permanent: retrying will not help; the configuration or the org must change."""


class RetriableSalesforceError(RetourSalesforceError):
    """Transient: worth retrying after a pause."""


class BudgetExhausted(RetourSalesforceError):
    """The API budget is spent: stop now, resumably (committed bookmarks stay valid)."""


class AuthFailed(FatalSalesforceError):
    """Login or session refresh failed: credentials, connected app or permissions need fixing."""


class SessionExpired(RetourSalesforceError):
    """401 INVALID_SESSION_ID: the client re-authenticates (a bounded number of times) and retries."""


class PolicyBlocked(FatalSalesforceError):
    """A transaction security policy blocked the call: an org-wide refusal, so the whole run stops (not retried)."""


class QueryTimeout(FatalSalesforceError):
    """QUERY_TIMEOUT: the same query times out again; the caller narrows it (fatal where nothing can narrow it)."""


class UnreadableResponse(RetriableSalesforceError):
    """A success status whose body is not what the API returns (a maintenance or proxy page): retried."""


RETRIABLE_CODES = frozenset({"SERVER_UNAVAILABLE", "UNABLE_TO_LOCK_ROW", "REQUEST_RUNNING_TOO_LONG"})
POLICY_CODES = frozenset({"TXN_SECURITY_METERING_ERROR"})
# Run-wide: no other object can do better while one of these holds (budget, credentials, a security policy).
RUN_WIDE = (BudgetExhausted, AuthFailed, PolicyBlocked)
BUDGET_CODES = frozenset({"REQUEST_LIMIT_EXCEEDED", "API_CURRENTLY_DISABLED_TEMPORARILY"})

# What to do about the permanent errors people meet most; anything else gets Salesforce's own message.
HINTS = {
    "INVALID_FIELD": "A field Retour reads does not exist or is not visible to the integration user. Check the "
                     "[mapping] settings against the object's fields (`retour check` lists the closest names) and "
                     "the integration user's field-level security.",
    "INVALID_TYPE": "The object is not available to the integration user. Grant read access to it, or remove it from "
                    "[sync] objects.",
    "INSUFFICIENT_ACCESS": "The integration user lacks a permission. Give it read access to the object (and "
                           "'View All Data' or sharing to see every rep's records).",
    "INSUFFICIENT_ACCESS_OR_READONLY": "The integration user cannot write this record. Check its profile or permission set.",
    "MALFORMED_QUERY": "Salesforce rejected the query Retour built. This is a Retour bug or an unsupported field type: "
                       "report it with this message.",
    "API_DISABLED_FOR_ORG": "API access is not enabled for this org (Professional Edition needs the API add-on). "
                            "Use `retour import FILE.csv` with report exports instead.",
    "INVALID_QUERY_LOCATOR": "The query cursor expired. Run the sync again; it resumes from its bookmark.",
    "NOT_FOUND": "The requested Salesforce resource does not exist (wrong API version or object?). Check "
                 "[salesforce] api_version.",
    "REQUEST_LIMIT_EXCEEDED": "The org has used its daily API requests. Retour stopped and will resume from its "
                              "bookmarks on the next run; lower [sync] api_budget_share or run less often.",
    "QUERY_TIMEOUT": "Salesforce timed out running the query; the same query would time out again. Retour narrows "
                     "the SystemModstamp range of its sync queries; this one could not be narrowed further.",
}
SNIPPET = 80  # characters of an unreadable body quoted in the error


def unreadable(content_type: str | None, text: str, *, status: int | None = 200,
               object_name: str | None = None) -> UnreadableResponse:
    """The error for a body that is not the API's (HTML maintenance or proxy page): what came back, escaped."""
    where = f" ({object_name})" if object_name else ""
    head = " ".join(text.split())[:SNIPPET]  # one line: the page's own line breaks stay out of the log
    quoted = json.dumps(head, ensure_ascii=True)[1:-1]  # control and non-ASCII characters as escapes
    return UnreadableResponse(f"Salesforce answered HTTP {status} with a body that is not the API's{where} "
                              f"(Content-Type: {json.dumps(content_type or 'none')[1:-1]}; it begins: \"{quoted}\") "
                              f"- a maintenance or proxy page, most likely; retried.",
                              code="UNREADABLE_RESPONSE", status=status, object_name=object_name)


def bulk_budget(exc: RetourSalesforceError, *, object_name: str | None = None) -> RetourSalesforceError:
    """LIMIT_EXCEEDED on Bulk API 2.0 job creation is the org's daily allowance of query jobs: a budget stop."""
    if exc.code != "LIMIT_EXCEEDED":
        return exc
    return BudgetExhausted(f"Salesforce refused a new Bulk API 2.0 query job ({object_name or 'Bulk'}): "
                           f"LIMIT_EXCEEDED: {exc.detail.rstrip('.') or 'limit exceeded'}. "
                           f"The org's daily allowance of Bulk query jobs is spent; Retour stopped and resumes from "
                           f"its bookmarks on the next run.", code="LIMIT_EXCEEDED", status=exc.status,
                           object_name=object_name)


def _first_error(content: Any) -> tuple[str, str]:
    """(errorCode, message) from a Salesforce error body: ``[{"message","errorCode"}]`` or a Bulk object."""
    if isinstance(content, list) and content and isinstance(content[0], dict):
        first = content[0]
        return str(first.get("errorCode") or first.get("statusCode") or ""), str(first.get("message") or "")
    if isinstance(content, dict):
        if "error" in content:  # OAuth shape
            return str(content.get("error") or ""), str(content.get("error_description") or "")
        return (str(content.get("errorCode") or content.get("exceptionCode") or ""),
                str(content.get("message") or content.get("exceptionMessage") or ""))
    return "", str(content or "")[:500]


def classify(status: int | None, content: Any, *, object_name: str | None = None) -> RetourSalesforceError:
    """Turn an HTTP status and a Salesforce error body into one of the taxonomy's errors."""
    err = _classify(status, content, object_name=object_name)
    err.detail = _first_error(content)[1].strip()
    return err


def _classify(status: int | None, content: Any, *, object_name: str | None) -> RetourSalesforceError:
    code, message = _first_error(content)
    where = f" ({object_name})" if object_name else ""
    if status == 401 and code in ("INVALID_SESSION_ID", ""):
        return SessionExpired(f"Salesforce session expired or invalid{where}.", code=code or "INVALID_SESSION_ID",
                              status=status, object_name=object_name)
    if code in POLICY_CODES:
        return PolicyBlocked(f"Salesforce refused the call{where}: a transaction security policy blocks the "
                             f"integration user ({code}). An admin must exempt that user from the policy or change it (Setup > "
                             f"Transaction Security Policies); Retour will not retry.",
                             code=code, status=status, object_name=object_name)
    if code == "QUERY_TIMEOUT":
        return QueryTimeout(f"Salesforce error{where}: HTTP {status} {code}: {message.strip()} {HINTS[code]}",
                            code=code, status=status, object_name=object_name)
    if status == 406 and not code and not message.strip():
        # An empty 406 is a front end's refusal of the moment, not an answer about the request: retried.
        return RetriableSalesforceError(f"Salesforce answered HTTP 406 with no body{where}.", code="", status=status,
                                        object_name=object_name)
    if code in BUDGET_CODES:
        return BudgetExhausted(f"Salesforce refused the request{where}: {code}: {message.strip()} "
                               f"{HINTS.get(code, 'Retour stopped and resumes from its bookmarks on the next run.')}",
                               code=code, status=status, object_name=object_name)
    if code in RETRIABLE_CODES or (status is not None and (status >= 500 or status in (408, 420, 429))):
        return RetriableSalesforceError(f"Salesforce is temporarily unavailable{where}: HTTP {status} {code} "
                                        f"{message.strip()}".rstrip(), code=code, status=status, object_name=object_name)
    hint = HINTS.get(code, "Check the message above; retrying will not help.")
    text = message.strip()
    return FatalSalesforceError(f"Salesforce error{where}: HTTP {status} {code}: {text}. {hint}".replace(".. ", ". "),
                                code=code, status=status, object_name=object_name)


def translate(exc: BaseException, *, object_name: str | None = None,
              content_type: str | None = None) -> RetourSalesforceError:
    """Map a simple-salesforce or requests exception into the taxonomy (already-translated errors pass through)."""
    if isinstance(exc, RetourSalesforceError):
        if object_name and not exc.object_name:
            exc.object_name = object_name
        return exc
    if isinstance(exc, SalesforceAuthenticationFailed):
        return AuthFailed(f"Salesforce login failed: {exc.code}: {exc.auth_message}. Check the [salesforce] credentials.",
                          code=str(exc.code), object_name=object_name)
    if isinstance(exc, SalesforceError):
        return classify(exc.status, exc.content, object_name=object_name)
    if isinstance(exc, requests.exceptions.JSONDecodeError):
        # A 200 whose body is not JSON: simple-salesforce's ``.json()`` failed on it. ``doc`` is the body's text.
        return unreadable(content_type, str(getattr(exc, "doc", "") or ""), object_name=object_name)
    if isinstance(exc, requests.exceptions.SSLError):
        return FatalSalesforceError(f"TLS certificate check failed talking to Salesforce: {exc}. If the org uses a "
                                    "private CA (e.g. the demo org), point [salesforce] ca_bundle at its PEM file.",
                                    code="SSL", object_name=object_name)
    if isinstance(exc, (requests.Timeout, requests.ConnectionError, requests.exceptions.ChunkedEncodingError)):
        where = f" ({object_name})" if object_name else ""
        return RetriableSalesforceError(f"Network fault talking to Salesforce{where}: {exc.__class__.__name__}: {exc}",
                                        code=exc.__class__.__name__, object_name=object_name)
    raise TypeError(f"not a Salesforce error: {exc!r}") from exc


def from_response(response: requests.Response, *, object_name: str | None = None) -> RetourSalesforceError:
    """Classify a raw ``requests`` response with an error status (used for Bulk 2.0 calls made directly)."""
    try:
        content: Any = response.json()
    except ValueError:
        content = response.text
    return classify(response.status_code, content, object_name=object_name)
