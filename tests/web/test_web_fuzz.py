"""Every route, every parameter, hostile values: the answer may be 2xx, 3xx or 4xx, never a 5xx.

The routes come from the app's own URL map and the parameter names from the views' source, so a new route or a
new parameter is fuzzed without touching this file. Signed in as an admin with a valid CSRF token, so requests
reach the views (not just the login wall), with real rows behind the ids so the parameters are read.
"""

from __future__ import annotations

import json
import re
from pathlib import Path

import pytest

from retour.models import Decision, ThemeProposal

WEBAPP = Path(__file__).resolve().parents[2] / "webapp"
HOSTILE = ["²", "٣", "9223372036854775808", "-1", "", "x" * 10_000, "\x00", "../", "%00", "1e9", "NaN"]
# What a JSON body can hold that a form cannot: numbers past 64 bits, floats, NaN, lists, objects, null.
HOSTILE_JSON = [*HOSTILE, 2**63, 2**64 + 1, -1, 1e9, float("nan"), None, True, [], ["²"], {"a": 1}, [2**63]]
# Signs the session out or ends it: fuzzed last, then nothing else runs.
LAST = ("auth.logout",)

_READ = re.compile(r"""(?:\.get|\.getlist|\[)\(?\s*["']([A-Za-z_][A-Za-z0-9_.]*)["']""")


def parameter_names() -> list[str]:
    """Every name a view reads from the query string, the form or the JSON body (and the board's filters)."""
    names: set[str] = set()
    for path in [*WEBAPP.joinpath("views").glob("*.py"), WEBAPP / "queries.py", WEBAPP / "actions.py"]:
        for line in path.read_text(encoding="utf-8").splitlines():
            if any(word in line for word in ("request.", "args.get", "body", "data.get", "data[")):
                names.update(_READ.findall(line))
    return sorted(names | {"attr.speaks_basque", "csrf_token"} - {"X-CSRF-Token", "HX-Request", "HX-Target"})


def _json_body(names: list[str], value) -> bytes:
    return json.dumps(dict.fromkeys(names, value), allow_nan=True).encode()


@pytest.fixture
def rows(session, factory, users, app):
    """Real rows behind every kind of id a URL can carry, so the views read their parameters."""
    made = factory.theme("Slow sync", items=3)
    other = factory.theme("Pricing", items=2)
    suggested = factory.suggest(made.theme, "The sync is slow at month end")
    draft = Decision(theme_id=made.theme.id, status="planned", insight_en="Coming in May.", title_en="May",
                     state="draft")
    cancelled = Decision(theme_id=other.theme.id, status="planned", insight_en="Later.", title_en="Later",
                         state="cancelled")
    proposal = ThemeProposal(kind="merge", theme_id=made.theme.id, other_theme_id=other.theme.id, payload={})
    session.add_all([draft, cancelled, proposal])
    session.commit()
    return {"theme_id": made.theme.id, "evidence_id": made.evidence[0].id, "decision_id": draft.id,
            "proposal_id": proposal.id, "user_id": users["viewer"], "suggested": suggested.id,
            "cancelled": cancelled.id}


def _url(rule, values: dict) -> str:
    out = rule.rule
    for name in rule.arguments:
        out = re.sub(rf"<(?:[a-z]+:)?{name}>", str(values[name]), out)
    return out


def test_no_route_answers_a_server_error_to_hostile_parameters(app, auth, rows):
    auth.login("admin")
    names = parameter_names()
    assert {"page", "window", "target_id", "theme_id", "into", "status", "label"} <= set(names), names
    failures: list[str] = []
    rules = sorted((r for r in app.url_map.iter_rules() if r.endpoint != "static"),
                   key=lambda r: (r.endpoint in LAST, r.rule))
    seen = 0

    def check(method: str, url: str, response, what: str) -> None:
        nonlocal seen
        seen += 1
        response.close()  # a file route (favicon) holds its file open until closed
        if response.status_code >= 500:
            failures.append(f"{method} {url[:120]} {what[:60]!r} -> {response.status_code}")

    def send(method: str, url: str, value, *, api: bool) -> None:
        if method == "GET":
            response = auth.client.get(url, query_string=dict.fromkeys(names, value))
        elif api:
            response = auth.client.open(url, method=method, data=_json_body(names, value),
                                        headers={"X-CSRF-Token": auth.csrf, "Content-Type": "application/json"})
        else:
            response = auth.client.open(url, method=method, data={**dict.fromkeys(names, value),
                                                                  "csrf_token": auth.csrf})
        check(method, url, response, repr(value))

    for rule in rules:
        ids = dict(rows)
        if rule.endpoint.endswith("send_now"):  # an approved draft would try Salesforce: a cancelled one refuses
            ids["decision_id"] = rows["cancelled"]
        if "suggestions" in rule.rule:
            ids["evidence_id"] = rows["suggested"]
        url = _url(rule, ids)
        methods = sorted(rule.methods - {"HEAD", "OPTIONS"})
        api = rule.rule.startswith("/api/")
        for method in methods:
            for value in (HOSTILE_JSON if api and method != "GET" else HOSTILE):
                send(method, url, value, api=api)
        # Each URL variable on its own hostile (the others real), as a path segment.
        for name in rule.arguments:
            for value in HOSTILE:
                if value in ("", "../"):
                    continue  # an empty or parent segment is another URL, not this route's variable
                send(methods[0], _url(rule, {**ids, name: value.replace("%", "%25")}), "", api=api)
        if rule.endpoint not in LAST:
            assert auth.client.get("/api/v1/me").status_code == 200, f"{rule.rule} signed the admin out"
    assert seen > 500
    assert not failures, "\n".join(failures)
