"""Entry point for gunicorn: `gunicorn token_service.wsgi:app`."""

from podium import logs
from token_service.app import create_app

logs.configure()
app = create_app()
