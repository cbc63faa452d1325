"""Gunicorn settings for the web service (`web_service.asgi:app`, ASGI).

    gunicorn -c deploy/gunicorn/web_service.conf.py web_service.asgi:app

Gunicorn manages the processes; uvicorn (through `uvicorn_worker.UvicornWorker`)
runs the ASGI app inside each. Every value that differs between machines comes from
the environment (see `.env.example`). Gunicorn executes this file as Python.
"""

import logging
import os


def _env_int(name, default):
    """Return the integer in environment variable `name`, or `default` if unset."""
    raw = os.environ.get(name, '').strip()
    return int(raw) if raw else default


# Loopback only: pages and the live state stream are served through nginx.
bind = f'127.0.0.1:{_env_int("PODIUM_WEB_PORT", 8001)}'

# ASGI: every open page holds a Server-Sent Events stream for the whole talk, so
# the worker must hold thousands of idle connections, which only an event loop can.
worker_class = 'uvicorn_worker.UvicornWorker'

# Each worker runs one event loop; one per core is plenty, and each subscribes to
# Redis once.
workers = _env_int('PODIUM_WEB_WORKERS', min(os.cpu_count() or 1, 4))

# For async workers this is a heartbeat: a loop blocked this long is restarted.
# Long-lived SSE streams are fine, they do not block the loop.
timeout = _env_int('PODIUM_WEB_TIMEOUT', 30)

# SSE streams never finish on their own, so a graceful stop would always wait the
# full time; keep it short. Pages reconnect and resume with Last-Event-ID.
graceful_timeout = _env_int('PODIUM_GRACEFUL_TIMEOUT', 10)

# Recycle a worker after this many requests (plus jitter). Higher than the WSGI
# services because a recycle drops the worker's open streams (they reconnect).
max_requests = 10000
max_requests_jitter = 1000

# Seconds an idle keep-alive connection from nginx stays open; longer than the
# nginx upstream's keepalive_timeout (4 s) so nginx never reuses a closing one.
keepalive = 5

# Gunicorn enforces these for its own workers only; uvicorn applies its own
# parser limits. Kept for clarity and in case the worker class changes.
limit_request_line = 4094
limit_request_fields = 50
limit_request_field_size = 8190

# Only nginx on loopback may set X-Forwarded-* (uvicorn reads this list too).
forwarded_allow_ips = '127.0.0.1,::1'

# Trust X-Forwarded-Proto alone: nginx always overwrites it.
secure_scheme_headers = {'X-FORWARDED-PROTO': 'https'}

# We do not mount under a prefix; never let a header rewrite SCRIPT_NAME/PATH_INFO.
forwarder_headers = ''

# Build the app in each worker: asyncio Redis clients must belong to the worker's
# own event loop.
preload_app = False

# Gunicorn >= 25.1 opens a control socket under $HOME by default; several
# gunicorns would fight over it and systemd's ProtectHome forbids it.
control_socket_disable = True

# Name shown by ps/top (when setproctitle is installed).
proc_name = 'podium-web'

# Logs go to stdout/stderr; systemd's journal or the dev stack collects them.
# UvicornWorker sends uvicorn's access log to gunicorn's access handlers, so
# `accesslog` must be set for requests to be logged at all.
accesslog = '-'
errorlog = '-'
loglevel = os.environ.get('PODIUM_LOG_LEVEL', 'info')

# Used only if the worker class changes: uvicorn formats its own access lines
# (see `post_worker_init` below for how we keep query strings out of them).
access_log_format = (
    '%({x-forwarded-for}i)s "%(m)s %(U)s %(H)s" %(s)s %(B)s %(M)sms "%(a)s"'
)


class _DropQueryString(logging.Filter):
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
    logging.getLogger('uvicorn.access').addFilter(_DropQueryString())
    config = getattr(worker, 'config', None)
    if config is not None:
        # UvicornWorker does not pass graceful_timeout on to uvicorn, which would
        # then wait for SSE streams until gunicorn SIGKILLs the worker. Cancel them
        # a little before that instead, so the worker exits cleanly.
        config.timeout_graceful_shutdown = max(1, worker.cfg.graceful_timeout - 2)


# Prometheus metrics (podium/metrics.py): workers write them to files under
# PROMETHEUS_MULTIPROC_DIR (a fresh directory per start: the launcher, systemd's
# RuntimeDirectory); the master serves their sum on its own loopback port
# (PODIUM_WEB_METRICS_PORT), which nginx does not route.
def on_starting(server):
    """Start from empty metric files: the previous master's workers are gone."""
    directory = os.environ.get('PROMETHEUS_MULTIPROC_DIR')
    if directory:
        for name in os.listdir(directory):
            if name.endswith('.db'):
                os.remove(os.path.join(directory, name))


def when_ready(server):
    """Start the metrics listener in the master, once it is ready."""
    from podium.config import MetricsConfig
    from podium.metrics import serve

    server.podium_metrics = serve(MetricsConfig.from_env('web'))


def child_exit(server, worker):
    """A dead worker's live gauges (open event streams) no longer count."""
    from podium.metrics import mark_process_dead

    mark_process_dead(worker.pid)


def on_exit(server):
    """Stop the metrics listener with the master."""
    listener = getattr(server, 'podium_metrics', None)
    if listener is not None:
        listener.close()
