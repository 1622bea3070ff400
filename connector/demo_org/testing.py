"""Helpers for tests and benchmarks that talk to a DemoOrg over real HTTPS.

``shared_cache_dir()`` keeps seeded files between test sessions (seeding is deterministic, so the
cache is safe to share); ``Clock`` is the org's clock a test sets and moves (an org left on the wall
clock would place its history on the day the tests run); ``http_session(org)`` trusts the org's CA. It sets ``trust_env = False``
because requests lets ``REQUESTS_CA_BUNDLE``/``CURL_CA_BUNDLE`` from the environment override a
session's ``verify`` (psf/requests#3829), which would make the self-made certificate fail.
"""

from __future__ import annotations

import datetime as dt
import os
import tempfile
import time
from pathlib import Path

import jwt
import requests
from simple_salesforce import Salesforce

from .history import SEEDED_DAY
from .org import DemoOrg

__all__ = ["SEEDED_DAY", "Clock", "access_token", "http_session", "jwt_assertion", "salesforce", "seeded_org",
           "shared_cache_dir"]

JWT_GRANT = "urn:ietf:params:oauth:grant-type:jwt-bearer"


class Clock:
    """A clock a test holds: ``DemoOrg(..., clock=Clock(SEEDED_DAY))`` serves the seed's dates unchanged;
    ``clock.advance(days=10)`` lets ten days pass for the running org, and ``org.place_history()`` then starts
    that day as the next run of the demo would."""

    def __init__(self, when: dt.date | dt.datetime) -> None:
        if not isinstance(when, dt.datetime):
            when = dt.datetime(when.year, when.month, when.day, 9, tzinfo=dt.timezone.utc)  # a morning's work
        if when.tzinfo is None:
            raise ValueError("a clock tells aware times: give the datetime a tzinfo")
        self.now = when

    def __call__(self) -> dt.datetime:
        return self.now

    def advance(self, **delta: float) -> dt.datetime:
        self.now += dt.timedelta(**delta)
        return self.now


def shared_cache_dir() -> Path:
    path = Path(tempfile.gettempdir()) / f"retour-demo-org-cache-{os.getuid()}"
    path.mkdir(parents=True, exist_ok=True)
    return path


def seeded_org(path: Path, *, scale: float = 0.05, clock: Clock | None = None, **kwargs: object) -> DemoOrg:
    """A demo org for a test, seeded from the shared cache and on the seed's own day unless ``clock`` says
    otherwise; use it as a context manager (``with seeded_org(dir) as org:``), which starts and stops it."""
    return DemoOrg(path, scale=scale, cache_dir=shared_cache_dir(), clock=clock or Clock(SEEDED_DAY), **kwargs)


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
