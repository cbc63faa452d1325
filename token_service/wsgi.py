"""Entry point for gunicorn: `gunicorn token_service.wsgi:app`."""

from token_service.app import create_app

app = create_app()
