"""Small things a user hits (issue 17.7): the site icon, the pause banner's who/when/why, moving a quote to a theme
picked by name, and a merge sent with no theme chosen."""

from __future__ import annotations

import datetime as dt
import re

from retour.models import AppSetting
from retour.switches import PUSH_PAUSE


# --------------------------------------------------------------------------------------------- favicon
def test_favicon_is_an_image_and_every_page_links_it(client, auth):
    with client.get("/favicon.ico") as response:
        assert response.status_code == 200
        assert response.mimetype.startswith("image/")
        assert response.get_data().lstrip().startswith(b"<svg")
        assert "max-age" in response.headers["Cache-Control"]
    assert '<link rel="icon" href="/static/favicon.svg"' in client.get("/login").text
    with client.get("/static/favicon.svg") as icon:
        assert icon.status_code == 200 and icon.mimetype == "image/svg+xml"


# --------------------------------------------------------------------------------------------- pause banner
def _banner(html: str) -> str:
    match = re.search(r'<div class="banner paused"[^>]*id="pause-banner">(.*?)</div>', html, re.S)
    assert match, "no pause banner"
    return " ".join(re.sub(r"<[^>]+>", " ", match.group(1)).split())


def _pause(auth, session, reason: str, at: dt.datetime) -> None:
    auth.post("/admin/pause", {"paused": "true", "reason": reason, "next": "/admin/"})
    row = session.get(AppSetting, PUSH_PAUSE)
    session.refresh(row)
    row.value = {**row.value, "at": at.isoformat()}  # a known moment, to read it back in each language
    session.commit()


def test_the_pause_banner_says_who_paused_when_and_why_in_the_readers_language(auth, session):
    auth.login("admin")
    _pause(auth, session, "Quarter close <b>", dt.datetime(2026, 3, 4, 15, 30, tzinfo=dt.timezone.utc))
    html = auth.client.get("/evidence/search").text
    banner = _banner(html)
    assert re.search(r"Paused by admin@example\.com on 3/4/26, 3:30[ \u202f]PM\.", banner), banner
    assert "Reason: Quarter close &lt;b&gt;" in banner  # typed by a person: escaped like any text
    assert "<b>" not in html.split('id="pause-banner"')[1].split("</div>")[0]

    auth.post("/language", {"lang": "fr"})
    banner = _banner(auth.client.get("/evidence/search").text)
    assert "Mis en pause par admin@example.com le 04/03/2026 15:30." in banner
    assert "Motif : Quarter close &lt;b&gt;" in banner


def test_a_pause_without_a_reason_says_so_and_resuming_removes_the_banner(auth, session):
    auth.login("product_owner")
    _pause(auth, session, "", dt.datetime(2026, 3, 4, 15, 30, tzinfo=dt.timezone.utc))
    banner = _banner(auth.client.get("/evidence/search").text)
    assert "Paused by product_owner@example.com" in banner and "No reason given." in banner
    auth.post("/admin/pause", {"paused": "false"})
    assert 'id="pause-banner"' not in auth.client.get("/evidence/search").text
