"""What every service's gunicorn config (deploy/gunicorn/*.conf.py) shares.

Gunicorn executes a config file as Python and takes its hooks by name, so a
config imports the hooks from here and defines only what is its own (ports,
worker counts, its metrics listener in `when_ready`). Imported by the master
before any app: nothing here imports a service.
"""

from __future__ import annotations

import logging
import os


def env_int(name: str, default: int) -> int:
    """Return the integer in environment variable `name`, or `default` if unset."""
    raw = os.environ.get(name, '').strip()
    return int(raw) if raw else default


class DropQueryString(logging.Filter):
    """Remove the query string from uvicorn's access lines: it may carry secrets."""

    def filter(self, record):
        # uvicorn logs ('%s - "%s %s HTTP/%s" %d', client, method, path?query, ...).
        if isinstance(record.args, tuple) and len(record.args) >= 3:
            args = list(record.args)
            args[2] = str(args[2]).split('?', 1)[0]
            record.args = tuple(args)
        return True


def post_worker_init(worker):
    """Finish configuring uvicorn inside each worker, before it serves."""
    logging.getLogger('uvicorn.access').addFilter(DropQueryString())
    config = getattr(worker, 'config', None)
    if config is not None:
        # UvicornWorker does not pass graceful_timeout on to uvicorn, which would
        # then wait for in-flight requests (and SSE streams) until gunicorn
        # SIGKILLs the worker. Give them a little less, so the worker exits cleanly.
        config.timeout_graceful_shutdown = max(1, worker.cfg.graceful_timeout - 2)


# Prometheus metrics (podium/metrics.py): workers write them to files under
# PROMETHEUS_MULTIPROC_DIR (a fresh directory per start: the launcher, systemd's
# RuntimeDirectory); the master serves their sum on its own loopback port, which
# nginx does not route (each config's `when_ready`).
def on_starting(server):
    """Start from empty metric files: the previous master's workers are gone."""
    directory = os.environ.get('PROMETHEUS_MULTIPROC_DIR')
    if directory:
        for name in os.listdir(directory):
            if name.endswith('.db'):
                os.remove(os.path.join(directory, name))


def child_exit(server, worker):
    """A dead worker's live gauges (open event streams) no longer count."""
    from podium.metrics import mark_process_dead

    mark_process_dead(worker.pid)


def on_exit(server):
    """Stop the metrics listener with the master."""
    listener = getattr(server, 'podium_metrics', None)
    if listener is not None:
        listener.close()
