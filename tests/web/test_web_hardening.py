"""Hostile input the web layer must shrug off: redirects that leave the site, numbers that are not numbers, ids past
64 bits, and text that reorders what the reader sees. Each answers 4xx or goes home; none is a 500."""

from __future__ import annotations

import pytest

from .conftest import csrf_from

HOSTILE_NEXT = ["//evil.com", "/\t/evil.com", "/\n/evil.com", "/\\evil.com", "/\\\\evil.com", "https://evil.com",
                "/%0d%0aSet-Cookie:x=1", "/ok\r\nSet-Cookie: x=1", " //evil.com", "/\x00/evil.com", "javascript:alert(1)"]


def _location(response) -> str:
    return response.headers.get("Location", "")


@pytest.mark.parametrize("target", HOSTILE_NEXT)
def test_login_never_redirects_off_the_site(client, users, target):
    page = client.get("/login")
    response = client.post("/login", data={"email": "viewer@example.com", "password": "correct horse battery",
                                           "csrf_token": csrf_from(page.text), "next": target})
    assert response.status_code == 302
    location = _location(response)
    assert location == "/" or (location.startswith("/") and not location.startswith("//")
                               and "\n" not in location and "\r" not in location and "\t" not in location
                               and "\\" not in location), location


@pytest.mark.parametrize("target", ["/ok\r\nSet-Cookie: x=1", "/\t/evil.com"])
def test_the_language_switch_goes_home_on_a_hostile_next_and_keeps_the_change(client, target):
    page = client.get("/login")
    response = client.post("/language", data={"lang": "fr", "next": target, "csrf_token": csrf_from(page.text)})
    assert response.status_code == 302 and _location(response) == "/"
    assert "Connexion" in client.get("/login").text or "connecter" in client.get("/login").text.lower()


def test_a_local_path_with_a_query_is_kept(client, users):
    page = client.get("/login")
    response = client.post("/login", data={"email": "viewer@example.com", "password": "correct horse battery",
                                           "csrf_token": csrf_from(page.text), "next": "/themes/3?page=2"})
    assert _location(response) == "/themes/3?page=2"


@pytest.mark.parametrize("url", ["/themes/9223372036854775808", "/decisions/99999999999999999999",
                                 "/themes/9223372036854775808/decisions/new"])
def test_an_id_past_64_bits_is_not_found_not_a_server_error(auth, url):
    auth.login("admin")
    assert auth.client.get(url).status_code == 404


@pytest.mark.parametrize("value", ["9223372036854775808", "²", "1e3", " 12 ", "-", "12a", ""])
def test_a_merge_target_that_is_not_a_row_id_is_refused_plainly(auth, factory, value):
    made = factory.theme("Slow sync")
    auth.login("product_owner")
    response = auth.post(f"/themes/{made.theme.id}/merge", data={"target_id": value})
    assert response.status_code < 500


@pytest.mark.parametrize("query", ["page=²", "window=²", "page=٣", "window=٣", "page=9223372036854775808",
                                   "window=99999999999999999999999", "page=" + "9" * 5000])
def test_a_page_or_window_that_is_not_ascii_digits_is_a_bad_request(auth, factory, query):
    made = factory.theme("Slow sync")
    auth.login("viewer")
    for url in ("/", "/api/v1/themes", f"/api/v1/themes/{made.theme.id}"):
        response = auth.client.get(f"{url}?{query}")
        assert response.status_code == 400, (url, query, response.status_code)
        if url.startswith("/api/"):  # the error names the value, it does not echo 5,000 digits back
            assert len(response.get_json()["error"]["message"]) < 200
    # The theme page shows all feedback rather than failing on a filter the board would refuse.
    assert auth.client.get(f"/themes/{made.theme.id}?{query}").status_code == 200


@pytest.mark.parametrize("body", [{"target_id": 2**63}, {"target_id": 2**64 + 1}, {"target_id": "9223372036854775808"},
                                  {"target_id": "²"}, {"target_id": 1e30}, {"target_id": [2**63]}])
def test_an_api_merge_target_past_64_bits_is_refused_plainly(auth, factory, body):
    made = factory.theme("Slow sync")
    auth.login("product_owner")
    response = auth.api("POST", f"/api/v1/themes/{made.theme.id}/merge", json=body)
    assert response.status_code in (400, 404), response.status_code
    assert response.get_json()["error"]["code"] == response.status_code


def test_the_api_map_is_for_signed_in_users_only(client, auth):
    assert client.get("/api/v1/openapi.json").status_code == 401
    auth.login("viewer")
    assert auth.client.get("/api/v1/openapi.json").status_code == 200


def test_hsts_is_sent_when_cookies_are_secure_and_not_otherwise(make_settings, session_factory):
    from webapp import create_app

    for secure in (True, False):
        settings = make_settings({"web": {"secret_key": "test-secret-key-not-for-production", "secure_cookies": secure}})
        response = create_app(settings, session_factory=session_factory).test_client().get("/login")
        assert ("Strict-Transport-Security" in response.headers) is secure
        if secure:
            assert "max-age=31536000" in response.headers["Strict-Transport-Security"]


def test_a_right_to_left_override_in_crm_text_cannot_reorder_what_the_reader_sees(auth, factory):
    made = factory.theme("Invoice \u202egnp.exe", texts=["see attached invoice\u202efdp.exe for the \u2066wrong\u2069 total"])
    auth.login("viewer")
    for url in ("/", f"/themes/{made.theme.id}"):
        page = auth.client.get(url).text
        assert "\u202e" not in page and "\u2066" not in page and "\u2069" not in page, url
    assert "invoicefdp.exe" in auth.client.get(f"/themes/{made.theme.id}").text


def _stolen_copy(auth):
    """A second client holding a copy of the signed-in client's session cookie (what a thief would have)."""
    cookie = auth.client.get_cookie("retour_session")
    thief = auth.client.application.test_client()
    thief.set_cookie("retour_session", cookie.value)
    assert thief.get("/api/v1/me").status_code == 200  # the copy works while the session is open
    return thief


def test_logout_ends_every_copy_of_the_session(auth):
    auth.login("product_owner")
    thief = _stolen_copy(auth)
    auth.post("/logout")
    assert thief.get("/api/v1/me").status_code == 401
    assert thief.get("/").status_code == 302  # to the login page


@pytest.mark.parametrize("change", ["password", "role"])
def test_a_new_password_or_role_ends_the_accounts_open_sessions(auth, session, change):
    from webapp.users import create_or_reset_user

    auth.login("product_owner")
    thief = _stolen_copy(auth)
    if change == "password":
        create_or_reset_user(session, "product_owner@example.com", "a brand new passphrase", role="product_owner")
    else:
        create_or_reset_user(session, "product_owner@example.com", "correct horse battery", role="viewer")
    session.commit()
    assert thief.get("/api/v1/me").status_code == 401
    assert auth.client.get("/api/v1/me").status_code == 401  # the owner signs in again too


def test_a_deactivated_account_is_signed_out_at_once(auth, session):
    from retour.models import AppUser

    auth.login("viewer")
    thief = _stolen_copy(auth)
    session.get(AppUser, auth.client.get("/api/v1/me").get_json()["id"]).is_active = False
    session.commit()
    assert thief.get("/api/v1/me").status_code == 401


def test_the_admin_sees_the_records_the_sync_set_aside_with_why(auth, session):
    from retour.models import SetAside

    session.add(SetAside(object_name="Account", record_id="001000000000009AAA", reason="cannot be mapped: <b>bad</b>",
                         record={"Id": "001000000000009AAA", "Name": "x"}, times=3))
    session.commit()
    auth.login("admin")
    page = auth.client.get("/admin/").text
    assert "001000000000009AAA" in page and "cannot be mapped: &lt;b&gt;bad&lt;/b&gt;" in page
    assert "1 Salesforce record could not be stored" in page


def test_a_nul_or_broken_character_a_person_sends_is_refused_in_one_line_and_nothing_changes(auth, factory, session):
    """PostgreSQL refuses a NUL in any string (a 500 on rename, login, examples); a lone surrogate (only JSON can
    carry one: a form's bytes are decoded with replacement) cannot be encoded. The request is refused before any
    view runs, on every database, and the theme keeps its name."""
    made = factory.theme("Slow sync")
    session.commit()
    auth.login("product_owner")
    page = auth.post(f"/themes/{made.theme.id}/rename", data={"label": "Slow\x00 sync"})
    assert page.status_code == 400 and "no database can store" in page.text
    for text in ("Slow\x00 sync", "Slow \ud800 sync"):
        api = auth.api("POST", f"/api/v1/themes/{made.theme.id}/rename", json={"label": text})
        assert api.status_code == 400 and "no database can store" in api.get_json()["error"]["message"]
    session.expire_all()
    assert session.get(type(made.theme), made.theme.id).label == "Slow sync"
