"""Entry point for gunicorn: `gunicorn webhooks.wsgi:app`.

The app's background work (the room-state rebuild watcher) is started by the
`post_worker_init` hook of deploy/gunicorn/webhooks.conf.py, in each worker after
the fork, and stopped by its `worker_exit` hook.
"""

from podium import logs
from webhooks.app import create_app

# One line per callback goes to stderr unless the server already set up logging.
logs.configure()

app = create_app()
