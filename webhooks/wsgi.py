"""Entry point for gunicorn: `gunicorn webhooks.wsgi:app`."""

from podium import logs
from podium.config import Config
from podium.rebuild import watch_state
from webhooks.app import create_app

# One line per callback goes to stderr unless the server already set up logging.
logs.configure()

config = Config.from_env()
app = create_app(config)
# Each worker (preload_app is off: this runs after the fork) rebuilds room state
# from the Rooms API at start and whenever Redis comes back empty; a Redis lock
# lets one of them do it.
state_watcher = watch_state(config)
