"""WSGI entry point for any WSGI server (``waitress-serve webapp.wsgi:app``; settings from RETOUR_* / RETOUR_CONFIG).

`retour web` is the supported way to serve the desk (webapp/serve.py says why); this is for hosts that bring their own.
"""

from webapp import create_app

app = create_app()
