"""`retour demo` closes the loop: the scheduler runs beside the web UI, pushes land on a weekend, what lands in the
demo org is printed, a taken port is one line, and a run that is not on a terminal still says what it does."""

from __future__ import annotations

import os
import socket
import urllib.request
from collections.abc import Iterator

import pytest
from click.testing import CliRunner

from connector.cli import SyncProgress
from retour import demo
from retour.cli import Context, _register, cli

_register()


class StubOrg:
    """The two things serve_demo and Landings ask of a demo org: its settings and its records."""

    def __init__(self) -> None:
        self.rows: dict[str, list[dict]] = {
            "User": [{"Id": "005A", "Name": "Camille Martin"}],
            "Opportunity": [{"Id": "006A", "Name": "Acme SA — renewal", "OwnerId": "005A"}],
            "Account": [{"Id": "001A", "Name": "Acme SA", "OwnerId": "005A"}],
            "Task": [{"Id": "00TSEED", "Subject": "Call back"}],  # a rep's own task: never reported
            "Retour_Insight__c": [],
        }

    def env(self) -> dict[str, str]:
        return {"RETOUR_SALESFORCE_AUTH": "jwt", "RETOUR_SALESFORCE_LOGIN_URL": "https://127.0.0.1:1",
                "RETOUR_SALESFORCE_INSTANCE_URL": "https://127.0.0.1:1"}

    def records(self, name: str) -> list[dict]:
        return [dict(r) for r in self.rows[name]]


@pytest.fixture
def clean_env() -> dict[str, str | None]:
    return {k: None for k in os.environ if k.startswith("RETOUR_")}


@pytest.fixture
def busy_port() -> Iterator[int]:
    with socket.socket() as sock:
        sock.bind(("127.0.0.1", 0))
        sock.listen()
        yield sock.getsockname()[1]


def test_the_demo_turns_quiet_weekends_off_and_runs_the_scheduler_in_minutes():
    settings = demo.demo_settings(StubOrg().env(), base={})
    assert settings.push.quiet_weekends is False
    assert (settings.scheduler.push_minutes, settings.scheduler.sync_minutes) == (1, 5)
    assert settings.salesforce.auth == "jwt"


def test_a_setting_the_user_gives_wins_over_the_demos_default():
    settings = demo.demo_settings(StubOrg().env(), base={"RETOUR_PUSH_QUIET_WEEKENDS": "true"})
    assert settings.push.quiet_weekends is True


def test_pushed_insights_link_back_to_the_demos_desk_unless_the_user_names_another_address():
    base = demo.demo_settings(StubOrg().env(), base={"RETOUR_WEB_PORT": "8123"})
    settings = demo.demo_settings(StubOrg().env(), base={}, defaults=demo.desk_address(base, None))
    assert settings.web.base_url == "http://127.0.0.1:8123/"
    assert demo.desk_address(base, 9000) == {"RETOUR_WEB_BASE_URL": "http://127.0.0.1:9000/"}
    mine = demo.demo_settings(StubOrg().env(), base={"RETOUR_WEB_BASE_URL": "https://retour.acme.example/"},
                              defaults=demo.desk_address(base, None))
    assert mine.web.base_url == "https://retour.acme.example/"


def test_the_demo_serves_the_web_ui_beside_a_running_scheduler_and_tells_other_shells_how_to_reach_it(tmp_path):
    org = StubOrg()
    ctx = Context()
    ctx._settings = demo.demo_settings(org.env(), base={"RETOUR_DATA_DIR": str(tmp_path / "data"),
                                                        "RETOUR_WEB_PORT": "0"},
                                       defaults={"RETOUR_WEB_BASE_URL": "http://127.0.0.1:8765/"})
    ctx.ensure_schema()
    running = demo.serve_demo(ctx, org, None)
    try:
        assert running.scheduler.running
        jobs = {j.id: j for j in running.scheduler.get_jobs()}
        assert set(jobs) == {"sync", "themes", "push", "lease"}
        assert jobs["push"].trigger.interval.total_seconds() == 60
        with urllib.request.urlopen(f"{running.url}login", timeout=10) as resp:
            assert resp.status == 200
    finally:
        running.stop()
        ctx.close()
    env_file = (tmp_path / "data" / "demo.env").read_text()
    assert "export RETOUR_SALESFORCE_AUTH=jwt\n" in env_file
    assert "export RETOUR_PUSH_QUIET_WEEKENDS=false\n" in env_file
    assert f"export RETOUR_DATA_DIR={tmp_path / 'data'}\n" in env_file
    assert "export RETOUR_WEB_BASE_URL=http://127.0.0.1:8765/\n" in env_file


def test_a_busy_org_port_is_one_line_and_a_failure_before_anything_starts(tmp_path, clean_env, busy_port):
    env = {**clean_env, "RETOUR_DATA_DIR": str(tmp_path / "data")}
    result = CliRunner().invoke(cli, ["demo", "--once", "--org-port", str(busy_port)], env=env)
    assert result.exit_code != 0
    assert result.output.strip().splitlines() == [
        f"Error: Cannot serve the demo org on 127.0.0.1:{busy_port}: Address already in use. "
        "Stop what uses it or choose another port with --org-port."]
    assert not (tmp_path / "data").exists()  # nothing seeded, nothing synced


def test_a_busy_web_port_is_one_line_before_the_demo_syncs(tmp_path, clean_env, busy_port):
    env = {**clean_env, "RETOUR_DATA_DIR": str(tmp_path / "data")}
    result = CliRunner().invoke(cli, ["demo", "--port", str(busy_port)], env=env)
    assert result.exit_code != 0
    assert result.output.strip().splitlines() == [
        f"Error: Cannot serve the web UI on 127.0.0.1:{busy_port}: Address already in use. "
        "Stop what uses it or choose another port with --port."]


def test_sync_progress_off_a_terminal_is_a_line_per_object_one_every_few_seconds_and_its_final_count(capsys):
    now = [0.0]
    progress = SyncProgress(tty=False, every=5.0, clock=lambda: now[0])
    for stream, fetched, at in [("Account", 450, 0.0), ("Opportunity", 1000, 0.5), ("Opportunity", 2000, 1.0),
                                ("Opportunity", 3000, 6.0), ("Opportunity", 3300, 6.2), ("Task", 2000, 6.5),
                                ("Task", 4000, 7.0)]:
        now[0] = at
        progress(stream, fetched, 3300 if stream == "Opportunity" else None)
    progress.done()
    assert capsys.readouterr().err.splitlines() == [
        "  Account: 450 records", "  Opportunity: 1000/3300 records", "  Opportunity: 3000/3300 records",
        "  Opportunity: 3300/3300 records", "  Task: 2000 records", "  Task: 4000 records"]


def test_a_long_step_says_it_is_still_going_when_nobody_watches_a_terminal(capsys):
    import time
    with demo._ticking("discovering themes", every=0.05):
        time.sleep(0.18)
    err = capsys.readouterr().err.splitlines()
    assert err[0] == "… discovering themes"
    assert len(err) >= 3 and all(line.startswith("… discovering themes: still going, ") for line in err[1:])


def test_what_lands_in_the_demo_org_is_printed_once_with_its_record_and_rep():
    org = StubOrg()
    landings = demo.Landings(org)
    assert landings.poll() == []
    org.rows["Retour_Insight__c"].append({"Id": "a0RA", "Name": "Single sign-on", "Opportunity__c": "006A",
                                          "Status__c": "active"})
    first = landings.poll()
    org.rows["Task"].append({"Id": "00TA", "Subject": "Re-engage Acme SA — Single sign-on is planned for Q3",
                             "OwnerId": "005A", "WhatId": "006A", "Retour_Key__c": "d1-task-006A"})
    second = landings.poll()  # the tasks' batch follows the insights' batch
    assert first == ["In the demo org: 1 Retour insight(s) and 0 follow-up task(s) landed on the reps' records, "
                     "for example:",
                     "  Opportunity “Acme SA — renewal” (Camille Martin): insight “Single sign-on” [a0RA]"]
    assert second == ["In the demo org: 0 Retour insight(s) and 1 follow-up task(s) landed on the reps' records, "
                      "for example:",
                      "  Task for Camille Martin on “Acme SA — renewal”: Re-engage Acme SA — Single sign-on is planned "
                      "for Q3 [00TA]"]
    assert landings.poll() == []
    org.rows["Retour_Insight__c"][0]["Status__c"] = "withdrawn"
    assert landings.poll() == ["In the demo org: 1 Retour insight(s) marked withdrawn."]
