"""Log set-up shared by the service entry points."""

from __future__ import annotations

import logging

# twilio-python logs every request with its headers and query at INFO, and httpx
# logs every URL: useful for debugging, noise (and a risk of leaking) in production.
CHATTY_LOGGERS = ('twilio.http_client', 'httpx', 'httpcore')


def configure(level: int = logging.INFO) -> None:
    """Send our INFO lines to stderr (unless the server set up logging) and quiet
    libraries that log every outgoing request."""
    logging.basicConfig(
        level=level, format='%(asctime)s %(levelname)s %(name)s %(message)s'
    )
    for name in CHATTY_LOGGERS:
        logging.getLogger(name).setLevel(logging.WARNING)
