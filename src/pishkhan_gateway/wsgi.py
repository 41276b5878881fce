"""The production entry point: ``gunicorn 'pishkhan_gateway.wsgi:app'`` (configured by env)."""

from pishkhan_gateway.app import create_app

app = create_app()
