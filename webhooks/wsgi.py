"""Entry point for gunicorn: `gunicorn webhooks.wsgi:app`."""

import logging

from webhooks.app import create_app

# One line per callback goes to stderr unless the server already set up logging.
logging.basicConfig(
    level=logging.INFO, format='%(asctime)s %(levelname)s %(name)s %(message)s'
)

app = create_app()
