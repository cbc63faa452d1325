"""Entry point for gunicorn: `gunicorn -c <the deploy config> token_service.asgi:app`.

Uvicorn's worker (uvloop, httptools) runs the ASGI app in each gunicorn worker.
"""

from podium import logs
from token_service.app import create_app

logs.configure()
app = create_app()
