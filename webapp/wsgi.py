"""WSGI entry point for gunicorn: ``gunicorn 'webapp.wsgi:app'`` (settings from RETOUR_* / RETOUR_CONFIG)."""

from webapp import create_app

app = create_app()
