"""`retour web` and `retour user add`, added to `retour` by retour.cli."""

from __future__ import annotations

from pathlib import Path

import click

from retour.cli import Context, pass_ctx


@click.command()
@click.option("--host", default=None, help="Address to listen on (default: [web] host).")
@click.option("--port", type=int, default=None, help="Port (default: [web] port).")
@click.option("--threads", type=int, default=8, show_default=True, help="Worker threads of the built-in server.")
@pass_ctx
def web(ctx: Context, host: str | None, port: int | None, threads: int) -> None:
    """Serve the web UI (for production, run gunicorn with 'webapp.wsgi:app')."""
    from werkzeug.serving import make_server

    from webapp import create_app

    ctx.ensure_schema()
    settings = ctx.settings
    app = create_app(settings, session_factory=ctx.session_factory)
    server = make_server(host or settings.web.host, settings.web.port if port is None else port, app,
                         threaded=threads > 1)
    click.echo(f"Retour web UI at http://{server.server_address[0]}:{server.server_address[1]}/ — Ctrl-C to stop")
    try:
        server.serve_forever()
    except KeyboardInterrupt:
        click.echo("stopping", err=True)
    finally:
        server.server_close()


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
