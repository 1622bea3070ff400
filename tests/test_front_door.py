"""The front door composes what runs together; the packages below it point down and never at the web app."""

from __future__ import annotations

import ast
import json
import subprocess
import sys
import urllib.request
from pathlib import Path

import pytest

from retour.cli import PortBusy, serve_web, start_together
from retour.db import session_factory as make_factory

REPO = Path(__file__).resolve().parents[1]
FLASK = ("flask", "flask_babel", "werkzeug")
FRONT_DOOR = {"retour/cli.py", "retour/demo.py"}


def _imports(path: Path) -> set[str]:
    """Every module a file imports, at the top or inside a function (lazy imports count as much)."""
    names: set[str] = set()
    for node in ast.walk(ast.parse(path.read_text(encoding="utf-8"), filename=str(path))):
        if isinstance(node, ast.Import):
            names.update(alias.name for alias in node.names)
        elif isinstance(node, ast.ImportFrom) and node.module and node.level == 0:
            names.add(node.module)
    return names


def _offenders(package: str, forbidden: tuple[str, ...], skip: set[str] = frozenset()) -> dict[str, list[str]]:
    out = {}
    for path in sorted((REPO / package).rglob("*.py")):
        rel = path.relative_to(REPO).as_posix()
        if rel in skip:
            continue
        bad = sorted(n for n in _imports(path) if n.split(".")[0] in forbidden)
        if bad:
            out[rel] = bad
    return out


def test_no_module_of_jobs_or_connector_imports_the_web_app():
    assert _offenders("jobs", ("webapp",)) == {}
    assert _offenders("connector", ("webapp",)) == {}


def test_no_module_of_jobs_imports_flask_or_its_server():
    assert _offenders("jobs", FLASK) == {}


def test_the_core_imports_no_package_above_it_outside_the_front_door():
    assert _offenders("retour", ("connector", "jobs", "webapp", *FLASK), skip=FRONT_DOOR) == {}


def test_importing_every_jobs_and_connector_module_loads_neither_flask_nor_the_web_app():
    """What the import statements say, checked at run time: a module-level import in the front door that jobs.cli
    imports for its Context would pull Flask into the scheduler process."""
    modules = sorted(p.relative_to(REPO).with_suffix("").as_posix().replace("/", ".")
                     for pkg in ("jobs", "connector") for p in (REPO / pkg).rglob("*.py"))
    modules = [m.removesuffix(".__init__") for m in modules]
    code = ("import importlib, json, sys\n"
            f"for m in {modules!r}: importlib.import_module(m)\n"
            "print(json.dumps(sorted(n for n in sys.modules if n.split('.')[0] in ('flask', 'werkzeug', 'webapp'))))")
    done = subprocess.run([sys.executable, "-c", code], cwd=REPO, capture_output=True, text=True, timeout=120)
    assert done.returncode == 0, done.stderr
    assert json.loads(done.stdout.strip().splitlines()[-1]) == []


def test_run_serves_the_web_app_beside_a_started_scheduler(make_settings, engine):
    settings = make_settings({"web": {"port": 0, "secret_key": "k" * 32},
                              "scheduler": {"sync_minutes": 60, "themes_minutes": 60, "push_minutes": 60}})
    running = start_together(settings, make_factory(engine))
    try:
        assert running.scheduler.running
        assert {j.id for j in running.scheduler.get_jobs()} == {"sync", "themes", "push", "lease"}
        with urllib.request.urlopen(running.url, timeout=10) as resp:
            assert resp.status == 200
    finally:
        running.stop()
    assert not running.scheduler.running


def test_a_busy_web_port_is_one_line_naming_the_port_and_the_option(make_settings, engine):
    settings = make_settings({"web": {"port": 0, "secret_key": "k" * 32}})
    first = serve_web(settings, make_factory(engine))
    try:
        with pytest.raises(PortBusy) as caught:
            serve_web(settings, make_factory(engine), port=first.server_port)
    finally:
        first.shutdown()
        first.server_close()
    message = caught.value.format_message()
    assert "\n" not in message and str(first.server_port) in message and "--port" in message
