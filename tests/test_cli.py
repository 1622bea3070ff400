import json
import os

import pytest
from click.testing import CliRunner

from retour.cli import _register, cli
from retour.db import head_revision

_register()


@pytest.fixture
def run(tmp_path):
    """Invoke `retour …` with a clean RETOUR_* environment pointing at a throw-away data dir."""
    def _run(*args, env=None):
        clean = {k: None for k in os.environ if k.startswith("RETOUR_")}
        clean.update({"RETOUR_DATA_DIR": str(tmp_path / "data")})
        clean.update(env or {})
        return CliRunner().invoke(cli, list(args), env=clean, catch_exceptions=False)
    return _run


def test_init_writes_a_file_that_check_reads_and_that_still_lacks_an_org(run, tmp_path):
    path = tmp_path / "retour.toml"
    result = run("init", str(path))
    assert result.exit_code == 0, result.output
    assert path.read_text().startswith("# Retour configuration")
    again = run("init", str(path))
    assert again.exit_code != 0 and "--force" in again.output
    checked = run("check", "--json", env={"RETOUR_CONFIG": str(path)})
    assert checked.exit_code == 1, checked.output
    report = json.loads(checked.output)
    by_name = {c["check"]: c for c in report["checks"]}
    assert report["ok"] is False
    assert by_name["configuration"]["ok"]
    assert by_name["database"]["ok"] and not by_name["salesforce"]["ok"]


def test_check_without_any_configuration_fails_and_names_what_is_missing(run):
    result = run("check")
    assert result.exit_code == 1
    lines = result.output.splitlines()
    assert lines[0] == "ok   configuration: parsed"
    assert any(line.startswith("FAIL salesforce: not configured: set [salesforce] auth (RETOUR_SALESFORCE_AUTH")
               for line in lines), result.output
    assert "retour init" in result.output and "retour demo" in result.output


def test_check_names_the_bad_setting_and_exits_2(run):
    result = run("check", env={"RETOUR_SYNC_API_BUDGET_SHARE": "abc"})
    assert result.exit_code == 2
    assert "RETOUR_SYNC_API_BUDGET_SHARE" in result.output


def test_check_reports_an_unreachable_database(run):
    result = run("check", env={"RETOUR_DATABASE_URL": "postgresql+psycopg://nobody@127.0.0.1:1/none"})
    assert result.exit_code == 1
    assert "FAIL database" in result.output and "RETOUR_DATABASE_URL" in result.output


def test_db_upgrade_brings_the_embedded_default_to_head(run, tmp_path):
    result = run("db", "upgrade")
    assert result.exit_code == 0, result.output
    assert f"database at {head_revision()}" in result.output
    assert (tmp_path / "data" / "retour.db").exists()
