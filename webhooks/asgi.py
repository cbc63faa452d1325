"""Entry point for gunicorn: `gunicorn -c <the deploy config> webhooks.asgi:app`.

Uvicorn's worker (uvloop, httptools) runs the ASGI app in each gunicorn worker;
the app's background work (the room-state rebuild watcher) starts and stops
with the server's lifespan events.
"""

from podium import logs
from webhooks.app import create_app

# One line per callback goes to stderr unless the server already set up logging.
logs.configure()

app = create_app()
