"""`retour push`: what is approved goes now, to the configured org (the demo org over HTTPS here).

The pause and each rep's daily cap hold; quiet days do not (they keep scheduled runs off weekends and holidays,
and a person sending by hand has chosen the day). What did not go is reported with its reason.
"""

from __future__ import annotations

import datetime as dt
import json
from collections import Counter
from collections.abc import Iterator

import pytest
from click.testing import CliRunner
from sqlalchemy import select

from connector import push
from connector.client import connect
from connector.demo_org import DemoOrg
from connector.demo_org.testing import shared_cache_dir
from retour.cli import Context, _register, cli
from retour.config import load_settings
from retour.db import make_engine, session_factory, upgrade
from retour.models import Decision, PushItem
from retour.switches import set_push_paused
from tests.conftest_push import NOW, TODAY, build_world

pytestmark = pytest.mark.demo_org
_register()


@pytest.fixture(scope="module")
def keys_dir(tmp_path_factory):
    return tmp_path_factory.mktemp("push-now-keys")


@pytest.fixture
def org(tmp_path, keys_dir) -> Iterator[DemoOrg]:
    demo = DemoOrg(tmp_path / "org", scale=0.05, cache_dir=shared_cache_dir(), keys_dir=keys_dir)
    demo.start()
    try:
        yield demo
    finally:
        demo.stop()


@pytest.fixture
def world(org, tmp_path):
    """A file database (the command opens its own engine) holding one approved decision for the org's reps.

    Today is a quiet date and a weekend counts as quiet: a scheduled run would send nothing today.
    """
    today = dt.datetime.now(dt.timezone.utc).date()
    url = f"sqlite:///{tmp_path / 'retour.db'}"

    def settings(cap: int):
        return load_settings({"database_url": url, "data_dir": str(tmp_path / "data"),
                              "push": {"per_rep_daily_cap": cap, "quiet_dates": [today.isoformat()],
                                       "quiet_weekends": True}}, environ=org.env())

    engine = make_engine(url)
    upgrade(engine)
    factory = session_factory(engine)
    with factory() as session:
        opps = org.records("Opportunity")
        lost = [o for o in opps if o["StageName"] == "Closed Lost"][:6]
        open_ = [o for o in opps if not o["IsClosed"]][:6]
        _theme, decision, user = build_world(session, {"User": org.records("User"), "Account": org.records("Account"),
                                                       "Opportunity": lost + open_})
        push.prepare(session, decision, settings(1000), today=TODAY)
        push.approve(session, decision, user.id, now=NOW)
        session.commit()
        ids = (decision.id, user.id)
    yield settings, factory, ids
    engine.dispose()


def _push(settings, *args: str):
    ctx = Context()
    ctx._settings = settings
    return CliRunner().invoke(cli, ["push", *args], obj=ctx, catch_exceptions=False)


def _landed(org: DemoOrg, decision_id: int) -> Counter[str]:
    return Counter(r["Retour_Key__c"] for obj in ("Retour_Insight__c", "Task") for r in org.records(obj)
                   if (r.get("Retour_Key__c") or "").startswith(f"d{decision_id}-"))


def test_push_sends_what_is_approved_on_a_quiet_day_and_says_what_the_cap_holds_back_and_until_when(org, world):
    settings, factory, (decision_id, _user) = world
    with factory() as session:
        assert push.send_pending(session, settings(1000), None, quiet_days=True).quiet  # a scheduled run: nothing
        waiting = push.waiting(session, decision_id)
        per_rep = Counter(i.owner_id for i in waiting)
    assert max(per_rep.values()) > 2  # some rep has more than the cap allows

    result = _push(settings(2), "--json")

    assert result.exit_code == 0, result.output
    report = json.loads(result.output)
    [decision] = [d for d in report["decisions"] if d["id"] == decision_id]
    held = sum(n - 2 for n in per_rep.values() if n > 2)
    assert decision["sent"] == report["sent"] == len(waiting) - held
    assert decision["deferred"] == {"per_rep_daily_cap": held} and report["deferred"] == held
    assert decision["cap_until"] > dt.datetime.now(dt.timezone.utc).date().isoformat()
    assert report["quiet_day_ignored"] is True and report["paused"] is None
    assert decision["sent_so_far"] == decision["sent"] and decision["since_push"]["tasks_sent"] >= 1
    assert decision["since_push"]["tasks_completed"] == 0 and decision["since_push_sentence"].startswith("Since the push")
    landed = _landed(org, decision_id)
    assert sum(landed.values()) == decision["sent"] and set(landed.values()) == {1}
    with factory() as session:
        states = Counter(i.state for i in session.scalars(select(PushItem).where(PushItem.decision_id == decision_id)))
    assert states["sent"] == decision["sent"] and states["approved"] == held


def test_push_in_words_names_each_decision_what_went_and_why_the_rest_waits(world):
    settings, _factory, (decision_id, _user) = world

    result = _push(settings(2))

    assert result.exit_code == 0, result.output
    first = result.output.splitlines()[0]
    assert first.startswith(f"Decision {decision_id} — Single sign-on: ") and " sent now" in first
    assert "wait: over a rep's daily cap of 2, all gone by " in first
    assert result.output.splitlines()[1].startswith("  Since the push on ")  # what reps did since, in words
    assert " follow-up task" in result.output.splitlines()[1]
    assert "quiet day for scheduled runs" in result.output


def test_a_paused_push_sends_nothing_says_who_paused_and_why_and_exits_3(org, world):
    settings, factory, (decision_id, user_id) = world
    with factory() as session:
        set_push_paused(session, True, user_id=user_id, reason="board meeting")
        session.commit()
    calls = org.api_calls

    result = _push(settings(1000), "--json")

    assert result.exit_code == 3, result.output
    report = json.loads(result.output)
    assert report["sent"] == 0 and report["stopped"] == "paused"
    assert report["paused"]["reason"] == "board meeting" and report["paused"]["by"].startswith("po")
    [decision] = [d for d in report["decisions"] if d["id"] == decision_id]
    assert decision["deferred"] == {"paused": report["waiting_before"]}
    assert org.api_calls == calls and not _landed(org, decision_id)  # not even a login


def test_push_without_salesforce_configured_says_so_in_one_line(make_settings):
    result = _push(make_settings())
    assert result.exit_code == 1
    assert result.output.strip() == "Error: Salesforce is not configured: set RETOUR_SALESFORCE_AUTH (see `retour init`)."


def test_a_withdrawal_does_not_use_up_the_daily_cap_of_the_next_decisions_insights(org, world):
    """Decision 1 fills each rep's cap today and is withdrawn; decision 2, for the same reps, still goes today."""
    settings, factory, (first_id, user_id) = world
    today = dt.datetime.now(dt.timezone.utc).date()
    with factory() as session:
        cap = max(Counter(i.owner_id for i in push.waiting(session, first_id)).values())
        client = connect(settings(cap))
        first = push.send_pending(session, settings(cap), client, today=today, quiet_days=False)
        assert first.sent and not first.deferred_by_cap  # the busiest rep is now at the cap for today
        push.withdraw(session, session.get(Decision, first_id), user_id)
        taken_back = push.send_pending(session, settings(cap), client, today=today, quiet_days=False)
        assert taken_back.withdrawn == first.sent
        theme_id = session.get(Decision, first_id).theme_id
        second = Decision(theme_id=theme_id, status="shipped", insight_en="SSO has shipped.", title_en="SSO is here",
                          insight_fr="Le SSO est là.", title_fr="Le SSO est là", state="draft", created_by_id=user_id)
        session.add(second)
        session.flush()
        push.prepare(session, second, settings(cap), today=today)
        push.approve(session, second, user_id)
        session.commit()
        waiting_second = len(push.waiting(session, second.id))

        report = push.send_pending(session, settings(cap), client, today=today, quiet_days=False)
        session.commit()

    assert report.deferred_by_cap == 0 and report.sent == waiting_second
    assert sum(_landed(org, second.id).values()) == waiting_second
    statuses = Counter(r.get("Status__c") for r in org.records("Retour_Insight__c")
                       if (r.get("Retour_Key__c") or "").startswith(f"d{first_id}-"))
    assert set(statuses) == {"withdrawn"}
