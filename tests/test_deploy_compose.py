"""deploy/: one image, an entrypoint that dispatches web | scheduler | migrate, a compose file that wires them.

No Docker engine runs here, so the compose file is checked for structure and the entrypoint is run for real
with a stand-in ``retour`` executable that records how it was called.
"""

from __future__ import annotations

import os
import re
import subprocess
from pathlib import Path

import pytest
import yaml

REPO = Path(__file__).resolve().parents[1]
DEPLOY = REPO / "deploy"


@pytest.fixture(scope="module")
def compose() -> dict:
    return yaml.safe_load((DEPLOY / "compose.yaml").read_text(encoding="utf-8"))


def entrypoint_commands() -> set[str]:
    script = (DEPLOY / "entrypoint.sh").read_text(encoding="utf-8")
    return set(re.findall(r"^\s+([a-z]+)\)\s*$", script, flags=re.M))


def test_web_and_scheduler_share_one_environment_block_with_the_database_url(compose):
    services = compose["services"]
    assert {"db", "web", "scheduler", "migrate"} <= set(services)
    shared = compose["x-retour-env"]
    for name in ("web", "scheduler", "migrate"):
        assert services[name]["environment"] == shared, name
    assert services["web"]["environment"] is services["scheduler"]["environment"]  # one YAML anchor, not two copies
    assert shared["RETOUR_DATABASE_URL"].startswith("postgresql+psycopg://") and "@db:5432/" in shared["RETOUR_DATABASE_URL"]
    assert services["web"]["build"] == services["scheduler"]["build"] == {"context": "..", "dockerfile": "deploy/Dockerfile"}


def test_services_wait_for_a_healthy_postgresql_and_a_finished_migration(compose):
    services = compose["services"]
    db = services["db"]
    assert db["image"].startswith("postgres:") and "pg_isready" in " ".join(db["healthcheck"]["test"])
    for name in ("web", "scheduler", "migrate"):
        assert services[name]["depends_on"]["db"] == {"condition": "service_healthy"}, name
    for name in ("web", "scheduler"):
        assert services[name]["depends_on"]["migrate"] == {"condition": "service_completed_successfully"}
    assert services["migrate"]["restart"] == "no"
    assert any(str(p).endswith(":8080") for p in services["web"]["ports"])


def test_every_service_command_is_one_the_entrypoint_dispatches(compose):
    commands = entrypoint_commands()
    assert {"web", "scheduler", "migrate"} <= commands
    for name in ("web", "scheduler", "migrate"):
        assert compose["services"][name]["command"][0] in commands


def test_every_compose_variable_is_documented_in_env_example_with_placeholders_only(compose):
    text = (DEPLOY / "compose.yaml").read_text(encoding="utf-8")
    used = set(re.findall(r"\$\{(\w+)", text))
    example = dict(line.split("=", 1) for line in (DEPLOY / ".env.example").read_text(encoding="utf-8").splitlines()
                   if line and not line.startswith("#"))
    required = set(re.findall(r"\$\{(\w+):\?", text))
    assert required <= set(example), required - set(example)
    undocumented = {v for v in used - set(example) if not re.search(r"\$\{" + v + r":-", text)}
    assert not undocumented, undocumented
    for key in ("POSTGRES_PASSWORD", "RETOUR_WEB_SECRET_KEY"):
        assert "change-me" in example[key]  # a placeholder, never a real secret


def test_the_image_is_python_311_slim_runs_as_a_non_root_user_and_enters_through_the_dispatcher():
    dockerfile = (DEPLOY / "Dockerfile").read_text(encoding="utf-8")
    assert re.search(r"^FROM python:3\.11-slim\s*$", dockerfile, flags=re.M)
    users = re.findall(r"^USER (\S+)", dockerfile, flags=re.M)
    assert users and users[-1] not in ("root", "0")
    assert 'pip install ".[postgres]"' in dockerfile
    copied = re.search(r"COPY \S*\s*deploy/entrypoint\.sh (\S+)", dockerfile).group(1)
    assert f'ENTRYPOINT ["{Path(copied).name}"]' in dockerfile and copied.startswith("/usr/local/bin/")
    for package in ("retour", "connector", "jobs", "webapp"):
        assert f"COPY {package} ./{package}" in dockerfile
    assert (REPO / "webapp" / "wsgi.py").is_file()


@pytest.fixture
def fake_bin(tmp_path: Path) -> tuple[Path, Path]:
    """A stand-in for `retour` that appends its argv to a log."""
    log = tmp_path / "calls.log"
    bin_dir = tmp_path / "bin"
    bin_dir.mkdir()
    for name in ("retour",):
        exe = bin_dir / name
        exe.write_text(f'#!/bin/sh\necho "{name} $*" >> "{log}"\n', encoding="utf-8")
        exe.chmod(0o755)
    return bin_dir, log


def run_entrypoint(fake_bin, *args: str) -> tuple[subprocess.CompletedProcess, list[str]]:
    bin_dir, log = fake_bin
    env = {"PATH": f"{bin_dir}:/usr/bin:/bin", "RETOUR_WEB_PORT": "8080"}
    proc = subprocess.run(["sh", str(DEPLOY / "entrypoint.sh"), *args], env=env, capture_output=True, text=True,
                          timeout=30)
    calls = log.read_text(encoding="utf-8").splitlines() if log.exists() else []
    return proc, calls


def test_web_migrates_then_execs_retour_web_as_a_single_machine_does(fake_bin):
    proc, calls = run_entrypoint(fake_bin, "web")
    assert proc.returncode == 0, proc.stderr
    assert calls[0] == "retour db upgrade"
    assert calls[1] == "retour web --host 0.0.0.0 --port 8080 --workers 2 --threads 4"
    assert len(calls) == 2


@pytest.mark.parametrize(("command", "expected"), [("scheduler", "retour scheduler"), ("migrate", "retour db upgrade"),
                                                   ("retour", "retour user add --help")])
def test_scheduler_migrate_and_retour_commands_dispatch(fake_bin, command, expected):
    extra = ["user", "add", "--help"] if command == "retour" else []
    proc, calls = run_entrypoint(fake_bin, command, *extra)
    assert proc.returncode == 0 and calls == [expected]


def test_an_unknown_role_fails_with_usage_and_runs_nothing(fake_bin):
    proc, calls = run_entrypoint(fake_bin, "worker")
    assert proc.returncode == 64 and "usage: retour-entrypoint web | scheduler | migrate" in proc.stderr
    assert calls == []
    assert os.access(DEPLOY / "entrypoint.sh", os.X_OK)
