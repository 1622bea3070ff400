"""What stops a command from outside Retour's code ends it with one line and a non-zero exit, never a traceback:
an unreachable database, a driver not installed, an unknown dialect, a CA bundle that is not there, a key file that
is not a key, a setting out of range, a critical-mass scope the theme pass cannot read."""

from __future__ import annotations

import os
import sys

import pytest
from click.testing import CliRunner

from retour.cli import _register, cli

_register()

# Salesforce set up enough for `retour sync` to reach the database first; nothing listens on port 9.
SESSION = {"RETOUR_SALESFORCE_AUTH": "session", "RETOUR_SALESFORCE_SESSION_ID": "00Dx!fake",
           "RETOUR_SALESFORCE_INSTANCE_URL": "https://127.0.0.1:9", "RETOUR_SALESFORCE_MAX_REAUTH": "0",
           "RETOUR_SYNC_MAX_RETRIES": "0"}
UNREACHABLE = "postgresql+psycopg://nobody@127.0.0.1:1/none"  # connection refused at once, no shared database
COMMANDS = [["db", "upgrade"], ["sync"], ["push"], ["themes"], ["scheduler"], ["web", "--port", "0"],
            ["run", "--port", "0"], ["user", "add", "a@example.com", "--role", "admin"]]


@pytest.fixture
def run(tmp_path):
    """`retour …` in this process with a clean RETOUR_* environment; an exception not mapped to a line is raised."""
    def _run(*args, env=None):
        clean = {k: None for k in os.environ if k.startswith("RETOUR_")}
        clean.update({"RETOUR_DATA_DIR": str(tmp_path / "data"), **SESSION, **(env or {})})
        return CliRunner().invoke(cli, list(args), env=clean, catch_exceptions=False, input="a long passphrase\n" * 2)
    return _run


def one_line(result) -> str:
    """The command's output, asserted to be one line without a traceback."""
    out = result.output.strip()
    assert "Traceback" not in out and "File \"" not in out, out
    assert result.exit_code not in (0, None), (result.exit_code, out)
    # stderr alone: stdout holds the password prompts of `user add`; log lines (job=…, timestamps) are not errors.
    lines = [line for line in result.stderr.splitlines() if line.strip() and not line.startswith(("job=", "20"))]
    assert len(lines) == 1, out
    return lines[0]


@pytest.mark.parametrize("args", COMMANDS, ids=" ".join)
def test_an_unreachable_database_is_one_line_from_every_command(run, args):
    line = one_line(run(*args, env={"RETOUR_DATABASE_URL": UNREACHABLE}))
    assert line.startswith("Database error:") and "Connection refused" in line and "RETOUR_DATABASE_URL" in line


@pytest.mark.parametrize("args", COMMANDS, ids=" ".join)
def test_an_unknown_dialect_is_one_configuration_line(run, args):
    result = run(*args, env={"RETOUR_DATABASE_URL": "mongodb://x@127.0.0.1/y"})
    line = one_line(result)
    assert result.exit_code == 2
    assert "'mongodb'" in line and "postgresql+psycopg://" in line and "RETOUR_DATABASE_URL" in line


@pytest.mark.parametrize("args", [["db", "upgrade"], ["sync"], ["themes"]], ids=" ".join)
def test_a_missing_database_driver_is_one_line(run, monkeypatch, args):
    monkeypatch.setitem(sys.modules, "psycopg", None)  # `import psycopg` raises ModuleNotFoundError, as uninstalled
    line = one_line(run(*args, env={"RETOUR_DATABASE_URL": UNREACHABLE}))
    assert line.startswith("The database driver 'psycopg'") and "pip install 'psycopg[binary]'" in line


def test_a_sqlite_file_that_cannot_be_made_is_one_line(run, tmp_path):
    (tmp_path / "a-file").write_text("x")
    line = one_line(run("db", "upgrade", env={"RETOUR_DATABASE_URL": f"sqlite:///{tmp_path}/a-file/retour.db"}))
    assert str(tmp_path / "a-file") in line


def test_a_ca_bundle_that_is_not_there_is_one_line(run, tmp_path):
    line = one_line(run("sync", env={"RETOUR_SALESFORCE_CA_BUNDLE": str(tmp_path / "nope.pem")}))
    assert "nope.pem" in line and "[salesforce] ca_bundle" in line


@pytest.mark.parametrize("content", [b"not a key\n", b"\x30\x82\x04\xa4\x02\x01\x00\xff\xfe", None],
                         ids=["text", "binary", "a directory"])
def test_a_private_key_file_that_cannot_be_used_is_one_line(run, tmp_path, content):
    key = tmp_path / "server.key"
    if content is None:
        key.mkdir()
    else:
        key.write_bytes(content)
    line = one_line(run("sync", env={"RETOUR_SALESFORCE_AUTH": "jwt", "RETOUR_SALESFORCE_CONSUMER_KEY": "3MVG9",
                                     "RETOUR_SALESFORCE_USERNAME": "u@example.com",
                                     "RETOUR_SALESFORCE_PRIVATE_KEY_FILE": str(key)}))
    assert "private_key_file" in line


@pytest.mark.parametrize("env,needle", [
    ({"RETOUR_SCHEDULER_SYNC_MINUTES": "0"}, "[scheduler] sync_minutes (RETOUR_SCHEDULER_SYNC_MINUTES) is 0; allowed: 1"),
    ({"RETOUR_WEB_PORT": "99999"}, "[web] port (RETOUR_WEB_PORT) is 99999; allowed: 0 to 65535"),
    ({"RETOUR_CRITICAL_MASS_SCOPES": "region=EMEA acounts=3"}, "unknown key 'acounts'"),
    ({"RETOUR_CRITICAL_MASS_SCOPES": "region=EMEA window=0"}, "window=0; allowed: at least 1"),
    ({"RETOUR_CRITICAL_MASS_SCOPES": "attr.tier=Gold"}, "attr.tier, which is not a [mapping] extra field"),
])
@pytest.mark.parametrize("args", [["check"], ["sync"], ["scheduler"]], ids=" ".join)
def test_a_bad_setting_or_scope_stops_every_command_in_one_line(run, env, needle, args):
    result = run(*args, env=env)
    assert needle in one_line(result)
    assert result.exit_code == 2


def test_a_scope_on_a_mapped_field_passes_the_check(run):
    result = run("check", "--json", env={"RETOUR_CRITICAL_MASS_SCOPES": "attr.tier=Gold accounts=2",
                                        "RETOUR_MAPPING_EXTRA": "tier=Tier__c:picklist",
                                        "RETOUR_SALESFORCE_AUTH": None})
    assert '"check": "configuration"' in result.output and "Configuration error" not in result.output


@pytest.mark.parametrize("args", [["web", "--port", "99999"], ["run", "--port", "-1"], ["demo", "--port", "70000"],
                                  ["web", "--workers", "0"], ["web", "--threads", "-2"]], ids=" ".join)
def test_command_line_numbers_out_of_range_are_refused(run, args):
    result = run(*args)
    assert result.exit_code == 2 and "is not in the range" in result.output
