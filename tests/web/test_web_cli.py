"""`retour user add`: password from a file or a hidden prompt, never echoed; roles checked."""

from __future__ import annotations

import pytest

from click.testing import CliRunner
from sqlalchemy import select

from retour.cli import Context, cli
from retour.models import AppUser
from webapp.cli import commands
from webapp.users import authenticate

for _command in commands:
    if _command.name not in cli.commands:
        cli.add_command(_command)


def _ctx(make_settings, session_factory) -> Context:
    ctx = Context()
    ctx._settings = make_settings()
    ctx._factory = session_factory
    ctx.ensure_schema = lambda: None  # the test database is migrated by the engine fixture
    return ctx


def test_user_add_reads_the_password_file_and_hashes_it(make_settings, session_factory, session, tmp_path):
    pw = tmp_path / "pw"
    pw.write_text("a long enough secret\n", encoding="utf-8")
    result = CliRunner().invoke(cli, ["user", "add", "PO@Example.com", "--role", "product_owner", "--password-file", str(pw)],
                                obj=_ctx(make_settings, session_factory))
    assert result.exit_code == 0, result.output
    assert "a long enough secret" not in result.output
    user = session.scalar(select(AppUser).where(AppUser.email == "po@example.com"))
    assert user.role == "product_owner" and user.password_hash.startswith("scrypt:")
    assert authenticate(session, "po@example.com", "a long enough secret") is not None


def test_user_add_prompts_without_echo_and_refuses_a_short_password(make_settings, session_factory):
    runner = CliRunner()
    ok = runner.invoke(cli, ["user", "add", "v@example.com", "--role", "viewer"], input="hunter2hunter2\nhunter2hunter2\n",
                       obj=_ctx(make_settings, session_factory))
    assert ok.exit_code == 0 and "hunter2hunter2" not in ok.output
    short = runner.invoke(cli, ["user", "add", "w@example.com", "--role", "viewer"], input="short\nshort\n",
                          obj=_ctx(make_settings, session_factory))
    assert short.exit_code == 1 and "at least 8 characters" in short.output


def test_user_add_rejects_an_unknown_role(make_settings, session_factory):
    result = CliRunner().invoke(cli, ["user", "add", "x@example.com", "--role", "owner"], obj=_ctx(make_settings, session_factory))
    assert result.exit_code == 2 and "owner" in result.output


def _start_web(tmp_path, *args: str):
    import os
    import subprocess
    import sys

    env = {**{k: v for k, v in os.environ.items() if not k.startswith("RETOUR_")},
           "RETOUR_DATABASE_URL": f"sqlite:///{tmp_path}/web.db", "RETOUR_DATA_DIR": str(tmp_path / "data")}
    proc = subprocess.Popen([sys.executable, "-m", "retour.cli", "web", "--host", "127.0.0.1", "--port", "0", *args],
                            env=env, stdout=subprocess.PIPE, stderr=subprocess.DEVNULL, text=True,
                            start_new_session=True)
    line = proc.stdout.readline()
    assert line.startswith("Retour web UI at http://127.0.0.1:"), line
    return proc, line.split()[4]


def _stop(proc) -> int:
    import os
    import signal

    os.killpg(proc.pid, signal.SIGTERM)
    code = proc.wait(timeout=30)
    proc.stdout.close()
    return code


@pytest.mark.parametrize("workers", ["1", "2"])
def test_retour_web_serves_on_the_port_it_prints_and_stops_cleanly(tmp_path, workers):
    """`retour web --port 0` binds a free port, prints it, its processes answer there, and SIGTERM ends it with 0."""
    import urllib.request

    proc, url = _start_web(tmp_path, "--workers", workers, "--threads", "2")
    try:
        with urllib.request.urlopen(url + "login", timeout=30) as resp:
            assert resp.status == 200 and "csrf_token" in resp.read().decode()
    finally:
        assert _stop(proc) == 0


def test_a_request_reaches_a_thread_only_once_its_body_is_in(tmp_path):
    """With ONE thread, five clients holding half-sent POST bodies must not keep a normal page from answering."""
    import socket
    import time
    import urllib.request

    proc, url = _start_web(tmp_path, "--workers", "1", "--threads", "1")
    host, port = url.split("//", 1)[1].rstrip("/").split(":")
    slow = []
    try:
        with urllib.request.urlopen(url + "login", timeout=30) as warm:
            warm.read()
        for _ in range(5):
            sock = socket.create_connection((host, int(port)), timeout=10)
            sock.sendall(b"POST /login HTTP/1.1\r\nHost: t\r\nContent-Type: application/x-www-form-urlencoded\r\n"
                         b"Content-Length: 5000\r\n\r\nemail=")
            slow.append(sock)
        time.sleep(0.5)
        t0 = time.perf_counter()
        with urllib.request.urlopen(url + "login", timeout=5) as resp:
            assert resp.status == 200
        assert time.perf_counter() - t0 < 2.0
    finally:
        for sock in slow:
            sock.close()
        _stop(proc)
