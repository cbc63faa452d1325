"""ASGI entry point: `gunicorn -k uvicorn_worker.UvicornWorker web_service.asgi:app`."""

from web_service.app import create_app

app = create_app()
