"""Administrators deactivate accounts and change roles from the admin page; each change ends the account's open
sessions at once, the last active administrator cannot be removed, and only administrators may do it."""

from __future__ import annotations

from retour.models import AppUser

from .conftest import Auth


def _other(app) -> Auth:
    """A second browser: another person's live session beside the admin's."""
    return Auth(app.test_client())


def test_deactivating_an_account_ends_its_live_session_and_refuses_its_login(app, auth, users, session):
    viewer = _other(app)
    assert viewer.login("viewer").status_code == 302
    assert viewer.client.get("/").status_code == 200
    auth.login("admin")
    page = auth.client.get("/admin/").text
    assert f'action="/admin/users/{users["viewer"]}/active"' in page

    response = auth.post(f"/admin/users/{users['viewer']}/active", {"active": "false"}, follow_redirects=True)
    assert "viewer@example.com is deactivated; their open sessions have ended." in response.text
    session.expire_all()
    assert session.get(AppUser, users["viewer"]).is_active is False

    after = viewer.client.get("/")
    assert after.status_code == 302 and after.headers["Location"].startswith("/login")
    again = viewer.login("viewer")
    assert again.status_code == 403
    assert "This account is deactivated. Ask an administrator to reactivate it." in again.text
    # A wrong password on a deactivated account says no more than on any account.
    assert "Wrong e-mail or password." in viewer.login("viewer", password="not the password").text

    auth.post(f"/admin/users/{users['viewer']}/active", {"active": "true"})
    assert viewer.login("viewer").status_code == 302


def test_a_role_change_holds_from_the_accounts_next_request(app, auth, users, session):
    po = _other(app)
    po.login("product_owner")
    assert po.client.get("/themes/new").status_code == 200
    auth.login("admin")

    response = auth.post(f"/admin/users/{users['product_owner']}/role", {"role": "viewer"}, follow_redirects=True)
    assert "product_owner@example.com is now viewer; their open sessions have ended." in response.text
    session.expire_all()
    assert session.get(AppUser, users["product_owner"]).role == "viewer"

    assert po.client.get("/themes/new").headers["Location"].startswith("/login")  # the old session is over
    po.login("product_owner")
    assert po.client.get("/themes/new").status_code == 403  # and the new one has the new role
    assert po.client.get("/api/v1/me").get_json()["role"] == "viewer"


def test_the_last_active_admin_cannot_demote_or_deactivate_themselves(auth, users, session):
    auth.login("admin")
    me = users["admin"]
    for url, data in ((f"/admin/users/{me}/role", {"role": "product_owner"}), (f"/admin/users/{me}/active",
                                                                               {"active": "false"})):
        page = auth.post(url, data, follow_redirects=True).text
        assert ("admin@example.com is the last active administrator: make another account administrator first."
                in page)
    session.expire_all()
    admin = session.get(AppUser, me)
    assert (admin.role, admin.is_active) == ("admin", True)
    assert auth.client.get("/admin/").status_code == 200  # still signed in

    # With a second administrator, the first may step down; their own session goes on with the new role.
    auth.post(f"/admin/users/{users['product_owner']}/role", {"role": "admin"})
    response = auth.post(f"/admin/users/{me}/role", {"role": "product_owner"})
    assert response.headers["Location"] == "/"
    assert auth.client.get("/admin/").status_code == 403
    assert auth.client.get("/themes/new").status_code == 200


def test_an_unknown_role_is_refused_with_a_message(auth, users, session):
    auth.login("admin")
    page = auth.post(f"/admin/users/{users['viewer']}/role", {"role": "owner"}, follow_redirects=True).text
    assert "Choose one of the roles offered." in page
    session.expire_all()
    assert session.get(AppUser, users["viewer"]).role == "viewer"


def test_only_admins_change_accounts_and_only_with_the_csrf_token(auth, users, session):
    for role in ("viewer", "product_owner"):
        auth.login(role)
        assert auth.post(f"/admin/users/{users['viewer']}/active", {"active": "false"}).status_code == 403
        assert auth.post(f"/admin/users/{users['viewer']}/role", {"role": "admin"}).status_code == 403
        auth.client.post("/logout", data={"csrf_token": auth.csrf})
    auth.login("admin")
    forged = auth.client.post(f"/admin/users/{users['viewer']}/active", data={"active": "false"})
    assert forged.status_code == 400
    assert auth.post("/admin/users/999999/active", {"active": "false"}).status_code == 404
    session.expire_all()
    viewer = session.get(AppUser, users["viewer"])
    assert (viewer.role, viewer.is_active) == ("viewer", True)
