"""`retour web` and `retour user add`, added to `retour` by retour.cli."""

from __future__ import annotations

from pathlib import Path

import click

from retour.cli import Context, pass_ctx


WORKERS = 2  # the app is CPU-bound once pages are cached: one worker per core of a small host
THREADS = 4  # threads overlap a worker's waits on PostgreSQL when a page is rendered afresh


def gunicorn_options(bind: str, workers: int, threads: int) -> dict:
    """What `retour web` and deploy/entrypoint.sh give gunicorn: gthread workers, keep-alive connections."""
    return {"bind": [bind], "workers": workers, "threads": threads, "worker_class": "gthread", "keepalive": 5,
            "accesslog": "-"}


@click.command()
@click.option("--host", default=None, help="Address to listen on (default: [web] host).")
@click.option("--port", type=int, default=None, help="Port (default: [web] port; 0 picks a free one).")
@click.option("--workers", type=int, default=WORKERS, show_default=True, help="gunicorn worker processes.")
@click.option("--threads", type=int, default=THREADS, show_default=True, help="Threads per worker.")
@pass_ctx
def web(ctx: Context, host: str | None, port: int | None, workers: int, threads: int) -> None:
    """Serve the web UI with gunicorn (gthread workers), as the container image does."""
    import socket

    from gunicorn.app.base import BaseApplication

    ctx.ensure_schema()
    ctx.close()  # each worker opens its own engine: no connection may cross the fork
    settings = ctx.settings
    # Bound here, so --port 0 can print the port it got; gunicorn serves on the inherited socket.
    listener = socket.create_server((host or settings.web.host, settings.web.port if port is None else port),
                                    backlog=2048)
    listener.set_inheritable(True)
    address = listener.getsockname()

    class Server(BaseApplication):
        def load_config(self) -> None:
            for key, value in gunicorn_options(f"fd://{listener.fileno()}", workers, threads).items():
                self.cfg.set(key, value)

        def load(self):
            from webapp import create_app
            return create_app(settings)

    click.echo(f"Retour web UI at http://{address[0]}:{address[1]}/ — Ctrl-C to stop", err=False)
    Server().run()


@click.group()
def user() -> None:
    """Local accounts of the web UI."""


@user.command("add")
@click.argument("email")
@click.option("--role", type=click.Choice(["admin", "product_owner", "viewer"]), required=True)
@click.option("--password-file", type=click.Path(exists=True, dir_okay=False, path_type=Path),
              help="Read the password from this file (first line) instead of prompting.")
@pass_ctx
def user_add(ctx: Context, email: str, role: str, password_file: Path | None) -> None:
    """Create an account, or reset its password and role. The password is never echoed."""
    from retour.db import session_scope
    from webapp.users import UserError, create_or_reset_user

    if password_file is not None:
        lines = password_file.read_text(encoding="utf-8").splitlines()
        password = lines[0] if lines else ""
    else:
        password = click.prompt("Password", hide_input=True, confirmation_prompt=True)
    ctx.ensure_schema()
    try:
        with session_scope(ctx.session_factory) as session:
            create_or_reset_user(session, email, password, role=role)
    except UserError as exc:
        raise click.ClickException(str(exc)) from None
    click.echo(f"account {email.strip().lower()} ready with role {role}")


commands = [web, user]
