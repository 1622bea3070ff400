"""Logging in to Salesforce: Retour does the OAuth token exchange itself.

simple-salesforce's own OAuth logins only ever reach ``https://<domain>.salesforce.com`` and its
re-login on expired sessions is unbounded in some paths. So Retour posts to the configured login URL
itself (JWT bearer or client credentials), and builds the client from the resulting session id +
instance URL; the client re-runs :func:`authenticate` - a bounded number of times - when a session expires.

Secrets (private key, consumer secret, password, token, session id) are never logged or put in messages.
"""

from __future__ import annotations

import dataclasses
import logging
import time
from pathlib import Path
from urllib.parse import urlsplit

import jwt
import requests

from connector.errors import AuthFailed
from retour.config import SalesforceSettings, client_credentials_host_problem

log = logging.getLogger(__name__)

JWT_GRANT = "urn:ietf:params:oauth:grant-type:jwt-bearer"
JWT_LIFETIME_SECONDS = 180  # Salesforce accepts at most 3 minutes

# What people usually have to do when the token endpoint says no.
_OAUTH_HINTS = {
    "invalid_client_id": "The consumer key is not known: check [salesforce] consumer_key (the External Client App's key).",
    "invalid_client": "The consumer key/secret pair is wrong: check [salesforce] consumer_key and consumer_secret.",
    "invalid_grant": "Check [salesforce] username, that the certificate uploaded to the app matches "
                     "[salesforce] private_key_file, and that the integration user is pre-authorized on the app "
                     "(\"user hasn't approved this consumer\").",
    "unsupported_grant_type": "Enable this OAuth flow on the External Client App (JWT bearer or client credentials).",
    "invalid_request": "The login request was malformed: check [salesforce] login_url (e.g. https://login.salesforce.com, "
                       "https://test.salesforce.com or https://yourdomain.my.salesforce.com).",
}


@dataclasses.dataclass(frozen=True)
class Token:
    """A usable session: what the REST API needs, and nothing else."""

    access_token: str
    instance_url: str

    def __repr__(self) -> str:  # never print the token
        return f"Token(instance_url={self.instance_url!r}, access_token=<hidden>)"


def login_host_url(login_url: str) -> str:
    """Normalise the login setting: a URL, or Salesforce's shorthands ``login``, ``test``, ``acme.my``."""
    value = login_url.strip().rstrip("/")
    if not value:
        return "https://login.salesforce.com"
    if "://" not in value:
        if value in ("login", "test"):
            return f"https://{value}.salesforce.com"
        if "." in value and not value.endswith(".com"):
            return f"https://{value}.salesforce.com"  # My Domain shorthand: acme.my, acme--uat.sandbox.my
        return f"https://{value}"
    return value


def jwt_audience(login_url: str) -> str:
    """The ``aud`` claim: the login server. My Domain hosts use the production or sandbox login server."""
    host = urlsplit(login_url).hostname or ""
    if host.endswith(".sandbox.my.salesforce.com"):
        return "https://test.salesforce.com"
    if host.endswith(".my.salesforce.com"):
        return "https://login.salesforce.com"
    return login_url


def jwt_assertion(consumer_key: str, username: str, audience: str, private_key: str, *, now: float | None = None) -> str:
    """An RS256 JWT for the bearer flow: iss = consumer key, sub = username, aud = login server, exp ≤ 3 min."""
    issued = int(now if now is not None else time.time())
    claims = {"iss": consumer_key, "sub": username, "aud": audience, "exp": issued + JWT_LIFETIME_SECONDS}
    return jwt.encode(claims, private_key, algorithm="RS256")


def _read_private_key(path: str) -> str:
    if not path:
        raise AuthFailed("JWT login needs [salesforce] private_key_file (RETOUR_SALESFORCE_PRIVATE_KEY_FILE): the PEM "
                         "key whose certificate is uploaded to the External Client App.")
    try:
        return Path(path).expanduser().read_text(encoding="utf-8")
    except OSError as exc:
        raise AuthFailed(f"Cannot read [salesforce] private_key_file {path}: {exc.strerror}. Fix the path or its "
                         "permissions.") from None
    except UnicodeDecodeError:  # a DER (binary) key, or not a key at all
        raise AuthFailed(f"[salesforce] private_key_file {path} is not a PEM text file (a binary DER key? convert it: "
                         "openssl pkey -in server.der -inform DER -out server.key).") from None


def _post_token(http: requests.Session, login_url: str, data: dict, auth: tuple[str, str] | None, timeout: float) -> Token:
    url = f"{login_url}/services/oauth2/token"
    try:
        response = http.post(url, data=data, auth=auth, timeout=timeout,
                             headers={"Accept": "application/json"})
    except requests.exceptions.SSLError as exc:
        raise AuthFailed(f"TLS certificate check failed for {login_url}: {exc}. If the org uses a private CA, set "
                         "[salesforce] ca_bundle to its PEM file.") from None
    except (requests.ConnectionError, requests.Timeout) as exc:
        raise AuthFailed(f"Cannot reach the Salesforce login server {login_url}: {exc.__class__.__name__}. Check "
                         "[salesforce] login_url and the network.", code="unreachable") from None
    try:
        body = response.json()
    except ValueError:
        body = {}
    if response.status_code != 200 or "access_token" not in body:
        error = str(body.get("error") or f"HTTP {response.status_code}") if isinstance(body, dict) else f"HTTP {response.status_code}"
        description = str(body.get("error_description") or "").strip() if isinstance(body, dict) else ""
        if "not supported on this domain" in description.lower():
            # Salesforce's answer to client credentials on login.salesforce.com: not a key or user problem.
            hint = (client_credentials_host_problem(login_url) or
                    "This flow is served on the org's My Domain only: set [salesforce] login_url to "
                    "https://<domain>.my.salesforce.com.")
        elif "audience" in description.lower():
            hint = ("The assertion's audience must be the login server: https://login.salesforce.com, or "
                    "https://test.salesforce.com for a sandbox; Retour sends it for a *.my.salesforce.com login_url, "
                    "so set [salesforce] login_url to the org's My Domain URL or its login server.")
        else:
            hint = _OAUTH_HINTS.get(error, "Check the [salesforce] settings.")
        raise AuthFailed(f"Salesforce login at {login_url} failed: {error}"
                         f"{': ' + description if description else ''}. {hint}", code=error, status=response.status_code)
    instance_url = str(body.get("instance_url") or "").rstrip("/")
    if not instance_url:
        raise AuthFailed(f"Salesforce login at {login_url} returned no instance_url.", code="no_instance_url")
    return Token(access_token=str(body["access_token"]), instance_url=instance_url)


def _legacy_password_login(sf: SalesforceSettings, http: requests.Session) -> Token:
    """SOAP username/password/token login through simple-salesforce: only *.salesforce.com, being retired."""
    from simple_salesforce.exceptions import SalesforceAuthenticationFailed
    from simple_salesforce.login import SalesforceLogin

    log.warning("job=auth flow=password state=deprecated msg=\"username/password login uses SOAP login(), which "
                "Salesforce is retiring; switch [salesforce] auth to jwt or client_credentials\"")
    host = urlsplit(login_host_url(sf.login_url)).hostname or ""
    if not host.endswith(".salesforce.com"):
        raise AuthFailed(f"Legacy password login only reaches *.salesforce.com hosts, not {host}. Use auth = \"jwt\" "
                         "or \"client_credentials\" instead.", code="unsupported_host")
    domain = host[: -len(".salesforce.com")]
    try:
        session_id, instance = SalesforceLogin(username=sf.username, password=sf.password,
                                               security_token=sf.security_token, domain=domain,
                                               sf_version=sf.api_version, session=http)
    except SalesforceAuthenticationFailed as exc:
        raise AuthFailed(f"Salesforce password login failed: {exc.code}: {exc.auth_message}. Check [salesforce] "
                         "username, password and security_token - or better, move to the JWT bearer flow.",
                         code=str(exc.code)) from None
    return Token(access_token=session_id, instance_url=f"https://{instance}")


def authenticate(sf: SalesforceSettings, http: requests.Session) -> Token:
    """Obtain a session for the configured flow; raise :class:`AuthFailed` with what to fix."""
    login_url = login_host_url(sf.login_url)
    timeout = sf.timeout_seconds or None
    if sf.auth == "jwt":
        missing = [n for n in ("consumer_key", "username") if not getattr(sf, n)]
        if missing:
            raise AuthFailed(f"JWT login needs [salesforce] {' and '.join(missing)}.", code="config")
        assertion = jwt_assertion(sf.consumer_key, sf.username, jwt_audience(login_url), _read_private_key(sf.private_key_file))
        return _post_token(http, login_url, {"grant_type": JWT_GRANT, "assertion": assertion}, None, timeout)
    if sf.auth == "client_credentials":
        if not sf.consumer_key or not sf.consumer_secret:
            raise AuthFailed("Client-credentials login needs [salesforce] consumer_key and consumer_secret "
                             "(and a My Domain login_url).", code="config")
        problem = client_credentials_host_problem(sf.login_url)
        if problem:  # settings built in code skip the configuration check: refuse before Salesforce does
            raise AuthFailed(problem, code="config")
        return _post_token(http, login_url, {"grant_type": "client_credentials"},
                           (sf.consumer_key, sf.consumer_secret), timeout)
    if sf.auth == "session":
        if not sf.session_id or not sf.instance_url:
            raise AuthFailed("Session login needs [salesforce] session_id and instance_url.", code="config")
        return Token(access_token=sf.session_id, instance_url=sf.instance_url.rstrip("/"))
    if sf.auth == "password":
        return _legacy_password_login(sf, http)
    raise AuthFailed("Salesforce is not configured: set [salesforce] auth (RETOUR_SALESFORCE_AUTH) to jwt, "
                     "client_credentials, session or password.", code="config")
