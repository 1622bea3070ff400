"""`retour web` and `retour user add`, added to `retour` by retour.cli."""

from __future__ import annotations

from pathlib import Path

import click

from retour.cli import Context, pass_ctx


@click.command()
@click.option("--host", default=None, help="Address to listen on (default: [web] host).")
@click.option("--port", type=click.IntRange(0, 65_535), default=None,
              help="Port (default: [web] port; 0 picks a free one).")
@click.option("--workers", type=click.IntRange(min=1), default=None,
              help="Processes serving the UI (default: 2, one per core).")
@click.option("--threads", type=click.IntRange(min=1), default=None, help="Threads per process (default: 4).")
@pass_ctx
def web(ctx: Context, host: str | None, port: int | None, workers: int | None, threads: int | None) -> None:
    """Serve the web UI (waitress: a request reaches a thread only once it is whole), as the container image does."""
    import socket

    from webapp import serve

    ctx.ensure_schema()
    ctx.close()  # each worker opens its own engine: no connection may cross the fork
    settings = ctx.settings
    # Bound here, so --port 0 can print the port it got; every worker serves this one socket.
    listener = socket.create_server((host or settings.web.host, settings.web.port if port is None else port),
                                    backlog=2048)
    address = listener.getsockname()

    def make_app():
        from webapp import create_app
        return create_app(settings)

    click.echo(f"Retour web UI at http://{address[0]}:{address[1]}/ — Ctrl-C to stop", err=False)
    raise SystemExit(serve.serve_forever(make_app, listener, workers=workers or serve.WORKERS,
                                         threads=threads or serve.THREADS))


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
