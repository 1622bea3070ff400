"""Helpers for tests and benchmarks that talk to a DemoOrg over real HTTPS.

``shared_cache_dir()`` keeps seeded files between test sessions (seeding is deterministic, so the
cache is safe to share); ``http_session(org)`` trusts the org's CA. It sets ``trust_env = False``
because requests lets ``REQUESTS_CA_BUNDLE``/``CURL_CA_BUNDLE`` from the environment override a
session's ``verify`` (psf/requests#3829), which would make the self-made certificate fail.
"""

from __future__ import annotations

import os
import tempfile
import time
from pathlib import Path

import jwt
import requests
from simple_salesforce import Salesforce

from .org import DemoOrg

JWT_GRANT = "urn:ietf:params:oauth:grant-type:jwt-bearer"


def shared_cache_dir() -> Path:
    path = Path(tempfile.gettempdir()) / f"retour-demo-org-cache-{os.getuid()}"
    path.mkdir(parents=True, exist_ok=True)
    return path


def http_session(org: DemoOrg) -> requests.Session:
    session = requests.Session()
    session.verify = str(org.ca_bundle)
    session.trust_env = False
    return session


def jwt_assertion(org: DemoOrg, *, key: bytes | None = None, audience: str | None = None, issuer: str | None = None,
                  subject: str | None = None, lifetime: int = 180) -> str:
    claims = {"iss": issuer or org.consumer_key, "sub": subject or org.username, "aud": audience or org.base_url,
              "exp": int(time.time()) + lifetime}
    return jwt.encode(claims, key or org.private_key_file.read_bytes(), algorithm="RS256")


def access_token(org: DemoOrg, session: requests.Session | None = None) -> str:
    session = session or http_session(org)
    resp = session.post(f"{org.base_url}/services/oauth2/token",
                        data={"grant_type": JWT_GRANT, "assertion": jwt_assertion(org)}, timeout=30)
    resp.raise_for_status()
    return resp.json()["access_token"]


def salesforce(org: DemoOrg) -> Salesforce:
    """A simple-salesforce client logged in with the JWT bearer flow, as Retour builds it."""
    session = http_session(org)
    return Salesforce(session_id=access_token(org, session), instance_url=org.base_url, session=session, version="59.0")
