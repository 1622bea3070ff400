"""`retour demo --once --json`: the whole loop over real HTTPS on the embedded default, at a small scale."""

import json
import os

from click.testing import CliRunner
from sqlalchemy import func, select, update

from retour.cli import _register, cli
from retour.db import make_engine
from retour.models import FeedbackItem, Opportunity, Theme

_register()


def test_demo_once_syncs_the_demo_org_over_https_and_finds_themes(tmp_path):
    env = {k: None for k in os.environ if k.startswith("RETOUR_")}
    env["RETOUR_DATA_DIR"] = str(tmp_path / "data")
    result = CliRunner().invoke(cli, ["demo", "--once", "--json", "--scale", "0.05"], env=env, catch_exceptions=False)
    assert result.exit_code == 0, result.output
    figures = json.loads(result.output.strip().splitlines()[-1])

    engine = make_engine(f"sqlite:///{tmp_path / 'data' / 'retour.db'}")
    with engine.connect() as conn:
        opportunities = conn.scalar(select(func.count()).select_from(Opportunity))
        items = conn.scalar(select(func.count()).select_from(FeedbackItem))
        themes = conn.scalar(select(func.count()).select_from(Theme))
    engine.dispose()

    assert figures["synced"]["Opportunity"] == opportunities > 0
    assert figures["synced"]["Task"] > 0 and figures["synced"]["Event"] > 0
    assert figures["feedback_items"] == items > 0
    assert figures["themes"] == themes > 0
    assert 0 <= figures["themes_critical"] <= figures["themes"]
    # every call the client made reached the org's counter, and a full pull is paged, not per-record
    assert figures["api_calls"] == figures["org_api_calls"]
    assert figures["api_calls"] < opportunities


def test_demo_once_off_a_terminal_prints_progress_lines_on_stderr_and_only_json_on_stdout(tmp_path):
    """A run in CI or behind a pipe is not silent for a minute: CliRunner's streams are not terminals."""
    env = {k: None for k in os.environ if k.startswith("RETOUR_")}
    env["RETOUR_DATA_DIR"] = str(tmp_path / "data")
    result = CliRunner().invoke(cli, ["demo", "--once", "--json", "--scale", "0.05"], env=env, catch_exceptions=False)
    assert result.exit_code == 0, result.output
    assert len(result.stdout.strip().splitlines()) == 1 and json.loads(result.stdout)["themes"] > 0
    progress = result.stderr.splitlines()
    assert progress[0].startswith("… starting the demo org")
    assert any(line.startswith("… syncing the demo org at https://127.0.0.1:") for line in progress)
    assert any(line.startswith("  Opportunity: ") and line.endswith(" records") for line in progress)
    assert "… discovering themes" in progress


def test_demo_rebuilds_themes_a_previous_version_built_in_another_space(tmp_path):
    env = {k: None for k in os.environ if k.startswith("RETOUR_")}
    env["RETOUR_DATA_DIR"] = str(tmp_path / "data")
    args = ["demo", "--once", "--json", "--scale", "0.05"]
    assert CliRunner().invoke(cli, args, env=env, catch_exceptions=False).exit_code == 0
    engine = make_engine(f"sqlite:///{tmp_path / 'data' / 'retour.db'}")
    with engine.begin() as conn:
        ids = set(conn.scalars(select(Theme.id)))
        conn.execute(update(Theme).values(embedding_model="older-space"))

    result = CliRunner().invoke(cli, args, env=env, catch_exceptions=False)

    assert result.exit_code == 0, result.output
    figures = json.loads(result.output.strip().splitlines()[-1])
    assert figures["theme_pass"]["rebuild"] is True
    with engine.connect() as conn:
        active = conn.execute(select(Theme.id, Theme.embedding_model)
                              .where(Theme.status.not_in(["merged", "dismissed"]))).all()
    models = {model for _id, model in active}
    kept = ids & {tid for tid, _model in active}
    engine.dispose()
    assert models == {figures["theme_pass"]["backend"]}
    assert kept  # old themes were mapped onto the new clusters, not replaced wholesale


def test_demo_help_names_every_fault_switch():
    from connector.demo_org.faults import FAULTS

    result = CliRunner().invoke(cli, ["demo", "--help"], terminal_width=400)
    assert result.exit_code == 0, result.output
    flat = " ".join(result.output.split())
    assert "--faults" in flat and all(f"{name}:" in flat for name in FAULTS), flat


def test_demo_refuses_an_unknown_fault_and_faults_without_org_only(tmp_path):
    env = {"RETOUR_DATA_DIR": str(tmp_path / "data")}
    unknown = CliRunner().invoke(cli, ["demo", "--org-only", "--faults", "html-200,slow"], env=env)
    assert unknown.exit_code == 2
    assert "unknown demo org fault(s): slow; known: deleted-15-days" in unknown.output
    alone = CliRunner().invoke(cli, ["demo", "--once", "--faults", "html-200"], env=env)
    assert alone.exit_code == 2 and "--faults needs --org-only" in alone.output
    assert not (tmp_path / "data" / "demo-org").exists()  # refused before any org was started


def test_demo_org_only_serves_the_org_with_the_fault_switches_on(tmp_path, monkeypatch):
    import requests

    import retour.demo as demo_module

    started, answers = [], []
    start_org = demo_module._start_org

    def remember(*args, **kwargs):
        started.append(start_org(*args, **kwargs))
        return started[-1]

    def one_request() -> None:  # instead of serving until Ctrl-C: ask the org's login host for client credentials
        org = started[0]
        port = org.base_url.rsplit(":", 1)[1]
        session = requests.Session()
        session.verify, session.trust_env = str(org.ca_bundle), False
        answers.append(session.post(f"https://localhost:{port}/services/oauth2/token", timeout=30,
                                    data={"grant_type": "client_credentials"},
                                    auth=(org.consumer_key, org.consumer_secret)))

    monkeypatch.setattr(demo_module, "_start_org", remember)
    monkeypatch.setattr(demo_module, "_wait_forever", one_request)
    env = {"RETOUR_DATA_DIR": str(tmp_path / "data")}
    result = CliRunner().invoke(cli, ["demo", "--org-only", "--scale", "0.05", "--faults", "cc-my-domain-only,html-200"],
                                env=env, catch_exceptions=False)
    assert result.exit_code == 0, result.output
    assert started[0].faults == {"cc-my-domain-only", "html-200"}
    assert "fault switches on: cc-my-domain-only, html-200" in result.stderr
    assert "export RETOUR_SALESFORCE_LOGIN_URL=" in result.stdout
    assert answers[0].status_code == 400
    assert answers[0].json() == {"error": "invalid_grant", "error_description": "request not supported on this domain"}
