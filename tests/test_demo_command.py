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
