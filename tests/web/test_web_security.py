"""Access control, CSRF, login throttling, cookies, headers and the secret key."""

from __future__ import annotations

import os
import re
import stat

import pytest

from retour.models import AppUser, Decision, ThemeProposal
from webapp import create_app
from webapp.security import PERMISSIONS, PUBLIC, LoginLimiter, secret_key
from webapp.users import role_rank

from .conftest import PASSWORD, ROLES, Auth


def _concrete(rule, ids: dict[str, int]) -> str:
    url = rule.rule
    for name, value in ids.items():
        url = url.replace(f"<int:{name}>", str(value))
    assert "<" not in url, f"no test value for a parameter of {rule.rule}"
    return url


def test_every_route_declares_a_minimum_role(app):
    endpoints = {rule.endpoint for rule in app.url_map.iter_rules()}
    undeclared = sorted(endpoints - PERMISSIONS.keys())
    assert not undeclared, f"routes without a permission in webapp.security.PERMISSIONS: {undeclared}"
    assert not sorted(PERMISSIONS.keys() - endpoints), "PERMISSIONS lists endpoints that no longer exist"


@pytest.mark.parametrize("cache_seconds", [0, 60], ids=["no-cache", "page-cache"])
def test_role_matrix_every_route_for_every_role(app, session, factory, users, connection, capsys, cache_seconds):
    """Every route x (anonymous + each role): refused below its minimum role, never refused at or above it,
    with the page cache off and on (a page cached for one role is never served to a role below it)."""
    app.config["RETOUR_CACHE_SECONDS"] = cache_seconds
    made = factory.theme("Matrix theme", items=2)
    other = factory.theme("Matrix other", items=1)
    decision = Decision(theme_id=made.theme.id, status="planned", title_en="Streaming exports", insight_en="Coming in May.",
                        state="draft")
    session.add(decision)
    proposal = ThemeProposal(kind="merge", theme_id=made.theme.id, other_theme_id=other.theme.id, payload={})
    session.add(proposal)
    session.commit()
    ids = {"theme_id": made.theme.id, "evidence_id": made.evidence[0].id, "decision_id": decision.id,
           "proposal_id": proposal.id, "user_id": users["viewer"]}
    anonymous = Auth(app.test_client())
    anonymous.csrf = ""
    clients = {"anonymous": anonymous}
    for role in ROLES:
        clients[role] = Auth(app.test_client())
        assert clients[role].login(role).status_code == 302
    bodies = {"api.merge": {"target_id": other.theme.id}, "api.set_pause": {"paused": False}}
    lines, wrong = [], []
    for rule in sorted(app.url_map.iter_rules(), key=lambda r: r.rule):
        if rule.endpoint == "static":
            continue
        url = _concrete(rule, ids)
        for method in sorted(rule.methods - {"HEAD", "OPTIONS"}):
            cells = []
            for who, a in clients.items():
                nested = connection.begin_nested()  # every cell starts from the same data
                try:
                    if rule.endpoint.startswith("api."):
                        resp = a.client.open(url, method=method, json=bodies.get(rule.endpoint, {}),
                                             headers={"X-CSRF-Token": a.csrf})
                    else:
                        resp = a.client.open(url, method=method, data={"csrf_token": a.csrf})
                finally:
                    nested.rollback()
                    session.expire_all()
                if rule.endpoint == "auth.logout" and who != "anonymous":
                    assert a.login(who).status_code == 302  # log back in for the next routes
                code = resp.status_code
                to_login = code == 302 and resp.headers["Location"].startswith("/login")
                needed = PERMISSIONS[rule.endpoint]
                allowed = needed == PUBLIC or (who != "anonymous" and role_rank(who) >= role_rank(needed))
                refused = code == 403 or (needed != PUBLIC and (to_login or code == 401))
                if allowed == refused or code >= 500:
                    wrong.append(f"{method} {rule.rule} as {who}: {code}")
                cells.append(f"{who[:5]}={code}{'L' if to_login else ''}")
            lines.append(f"{method:<6} {rule.rule:<58} min={needed:<13} " + " ".join(cells))
    summary = "\n".join(lines)
    print(summary)
    assert not wrong, "role matrix mismatches:\n" + "\n".join(wrong)
    # Spot checks on the printed matrix (L = redirected to the login page)
    assert re.search(r"POST\s+/themes/<int:theme_id>/merge\s+min=product_owner\s+anony=302L viewe=403 produ=302 admin=302", summary)
    assert re.search(r"GET\s+/admin/\s+min=admin\s+anony=302L viewe=403 produ=403 admin=200", summary)
    assert re.search(r"GET\s+/api/v1/themes\s+min=viewer\s+anony=401 viewe=200 produ=200 admin=200", summary)
    assert re.search(r"POST\s+/proposals/<int:proposal_id>/accept\s+min=product_owner\s+anony=302L viewe=403 produ=302 admin=302",
                     summary)
    # What the product owner teaches the theme pass: read by viewers, written by product owners only.
    for route in (r"POST\s+/themes/<int:theme_id>/suggestions/<int:evidence_id>/accept",
                  r"POST\s+/themes/<int:theme_id>/evidence/<int:evidence_id>/not-feedback",
                  r"POST\s+/themes/<int:theme_id>/name"):
        assert re.search(route + r"\s+min=product_owner\s+anony=302L viewe=403 produ=302 admin=302", summary), route
    for route in (r"POST\s+/evidence/make-theme", r"POST\s+/evidence/file"):  # refused (nothing ticked): the search again
        assert re.search(route + r"\s+min=product_owner\s+anony=302L viewe=403 produ=400 admin=400", summary), route
    # Sending now spends the org's API calls outside the schedule: admins only.
    assert re.search(r"POST\s+/decisions/<int:decision_id>/send\s+min=admin\s+anony=302L viewe=403 produ=403 admin=302",
                     summary)
    assert re.search(r"GET\s+/themes/new\s+min=product_owner\s+anony=302L viewe=403 produ=200 admin=200", summary)
    assert re.search(r"POST\s+/themes/new\s+min=product_owner\s+anony=302L viewe=403 produ=400 admin=400", summary)
    assert re.search(r"GET\s+/evidence/search\s+min=viewer\s+anony=302L viewe=200 produ=200 admin=200", summary)
    assert re.search(r"GET\s+/api/v1/themes/<int:theme_id>/suggestions\s+min=viewer\s+anony=401 viewe=200", summary)
    assert re.search(r"POST\s+/api/v1/themes\s+min=product_owner\s+anony=401 viewe=403 produ=400 admin=400", summary)
    assert len(lines) == sum(len(r.methods - {"HEAD", "OPTIONS"}) for r in app.url_map.iter_rules() if r.endpoint != "static")


def test_form_post_without_csrf_token_is_rejected_and_changes_nothing(auth, factory, session):
    made = factory.theme("Keep my name")
    session.commit()
    auth.login("product_owner")
    resp = auth.client.post(f"/themes/{made.theme.id}/rename", data={"label": "Hijacked"})
    assert resp.status_code == 400
    assert "CSRF" in resp.text
    session.refresh(made.theme)
    assert made.theme.label == "Keep my name"


def test_api_write_with_a_wrong_csrf_header_is_rejected(auth, factory, session):
    made = factory.theme("Keep my name too")
    session.commit()
    auth.login("product_owner")
    resp = auth.client.post(f"/api/v1/themes/{made.theme.id}/rename", json={"label": "X"},
                            headers={"X-CSRF-Token": "forged"})
    assert resp.status_code == 400 and resp.get_json()["error"]["code"] == 400
    ok = auth.api("POST", f"/api/v1/themes/{made.theme.id}/rename", {"label": "Renamed properly"})
    assert ok.status_code == 200 and ok.get_json()["theme"]["label"] == "Renamed properly"


def test_login_without_csrf_token_is_rejected(client, users):
    resp = client.post("/login", data={"email": "admin@example.com", "password": PASSWORD})
    assert resp.status_code == 400


def test_wrong_password_then_throttled_per_ip_and_email(client, users, app):
    a = Auth(client)
    limit = app.extensions["retour.settings"].web.login_attempts_per_minute
    for _ in range(limit):
        assert a.login("viewer", password="wrong password").status_code == 401
    blocked = a.login("viewer")  # even the right password waits
    assert blocked.status_code == 429 and "Too many attempts" in blocked.text
    assert a.login("admin").status_code == 302  # another e-mail from the same IP is not blocked


def test_login_limiter_forgets_attempts_after_a_minute():
    now = [1000.0]
    limiter = LoginLimiter(2, clock=lambda: now[0])
    limiter.failed("1.2.3.4", "a@x.io")
    limiter.failed("1.2.3.4", "a@x.io")
    assert limiter.blocked("1.2.3.4", "a@x.io")
    now[0] += 61
    assert not limiter.blocked("1.2.3.4", "a@x.io")


def test_session_cookie_is_httponly_samesite_and_secure_when_configured(make_settings, session_factory, users):
    settings = make_settings({"web": {"secret_key": "k" * 40, "secure_cookies": True}})
    app = create_app(settings, session_factory=session_factory)
    resp = Auth(app.test_client()).login("viewer")
    cookie = resp.headers["Set-Cookie"]
    assert "HttpOnly" in cookie and "SameSite=Lax" in cookie and "Secure" in cookie


def test_security_headers_forbid_inline_script_and_framing(client):
    resp = client.get("/login")
    csp = resp.headers["Content-Security-Policy"]
    assert "script-src 'self'" in csp and "unsafe-inline" not in csp and "frame-ancestors 'none'" in csp
    assert resp.headers["X-Content-Type-Options"] == "nosniff"
    assert resp.headers["Referrer-Policy"] == "no-referrer"
    assert "<script>" not in resp.text and " onclick=" not in resp.text


def test_generated_secret_key_is_persisted_with_owner_only_permissions(make_settings, tmp_path):
    settings = make_settings({"data_dir": str(tmp_path / "fresh")})
    first = secret_key(settings)
    path = tmp_path / "fresh" / "secret_key"
    assert stat.S_IMODE(os.stat(path).st_mode) == 0o600
    assert secret_key(settings) == first and len(first) >= 40


def test_secrets_never_appear_in_pages(make_settings, session_factory, users):
    settings = make_settings({"web": {"secret_key": "s3cr3t-web-key-value-abcdef"},
                              "salesforce": {"consumer_secret": "sf-consumer-secret-xyz", "password": "sf-pass-123"}})
    app = create_app(settings, session_factory=session_factory)
    a = Auth(app.test_client())
    a.login("admin")
    for url in ("/", "/admin/", "/api/v1/me", "/api/v1/openapi.json"):
        text = a.client.get(url).text
        for secret in ("s3cr3t-web-key-value-abcdef", "sf-consumer-secret-xyz", "sf-pass-123"):
            assert secret not in text, f"{secret} leaked in {url}"


def test_forbidden_page_is_clear_and_api_answers_json(auth):
    auth.login("viewer")
    page = auth.client.get("/admin/")
    assert page.status_code == 403 and "Your role does not allow this" in page.text
    api = auth.api("PUT", "/api/v1/pause", {"paused": True})
    assert api.status_code == 403 and api.get_json()["error"]["code"] == 403


def test_unknown_theme_is_a_404_page_and_api_404_json(auth):
    auth.login("viewer")
    assert auth.client.get("/themes/999999").status_code == 404
    resp = auth.client.get("/api/v1/themes/999999")
    assert resp.status_code == 404 and resp.get_json()["error"]["message"]


def test_login_redirect_never_leaves_the_site(client, users):
    page = client.get("/login")
    resp = client.post("/login", data={"email": "viewer@example.com", "password": PASSWORD, "next": "//evil.example/x",
                                       "csrf_token": re.search(r'name="csrf_token" value="([^"]+)"', page.text).group(1)})
    assert resp.status_code == 302 and resp.headers["Location"] == "/"


def test_deactivated_account_is_logged_out_on_next_request(auth, session, users):
    auth.login("viewer")
    assert auth.client.get("/").status_code == 200
    session.get(AppUser, users["viewer"]).is_active = False
    session.commit()
    assert auth.client.get("/").headers["Location"].startswith("/login")


@pytest.mark.parametrize("path", ["/static/htmx.min.js", "/static/app.js"])
def test_scripts_are_served_locally(client, path):
    resp = client.get(path)
    assert resp.status_code == 200 and len(resp.data) > 100
    resp.close()
