"""Gunicorn settings for the webhooks service (`webhooks.asgi:app`, ASGI).

    gunicorn -c deploy/gunicorn/webhooks.conf.py webhooks.asgi:app

Gunicorn manages the processes; uvicorn's worker (`uvicorn_worker.UvicornWorker`,
with uvloop and httptools) runs the ASGI app inside each.

Every value that differs between machines comes from the environment (the same
variables `.env.example` documents). Gunicorn executes this file as Python.
"""

import logging
import os


def _env_int(name, default):
    """Return the integer in environment variable `name`, or `default` if unset."""
    raw = os.environ.get(name, '').strip()
    return int(raw) if raw else default


# Loopback only: Twilio reaches us through nginx at PODIUM_PUBLIC_URL.
bind = f'127.0.0.1:{_env_int("PODIUM_WEBHOOKS_PORT", 8003)}'

# An event loop per worker: a callback is a signature check and one Redis round
# trip (redis.asyncio), so one process keeps many in flight, and gunicorn's sync
# worker cost more per request than the callback itself (bench/README.md).
worker_class = 'uvicorn_worker.UvicornWorker'

# One event loop per core keeps every core busy; more only adds processes.
workers = _env_int('PODIUM_WEBHOOKS_WORKERS', min(os.cpu_count() or 1, 8))

# Twilio gives a callback about 15 s in all; answering later is pointless.
timeout = _env_int('PODIUM_WEBHOOKS_TIMEOUT', 15)

# On SIGTERM, in-flight callbacks get this long to finish before workers are killed.
graceful_timeout = _env_int('PODIUM_GRACEFUL_TIMEOUT', 30)

# Recycle each worker after this many requests (plus jitter so they do not all
# restart together) to bound slow memory growth.
max_requests = 50000
max_requests_jitter = 5000

# Seconds an idle keep-alive connection stays open (uvicorn reads it too).
keepalive = 5

# A callback is a form of a dozen short fields; refuse anything far larger.
# Gunicorn enforces these for its own workers only; uvicorn applies its own
# parser limits, and webhooks/form.py caps the body.
limit_request_line = 4094
limit_request_fields = 50
limit_request_field_size = 8190

# Only nginx on loopback may set X-Forwarded-* (client address and scheme).
forwarded_allow_ips = '127.0.0.1,::1'

# Trust X-Forwarded-Proto alone (nginx always overwrites it); the signature check
# rebuilds the URL from PODIUM_PUBLIC_URL anyway, never from these headers.
secure_scheme_headers = {'X-FORWARDED-PROTO': 'https'}

# We do not mount under a prefix; never let a header rewrite SCRIPT_NAME/PATH_INFO.
forwarder_headers = ''

# Build the app in each worker, after fork: asyncio Redis clients must belong to
# the worker's own event loop, and no connection crosses a fork.
preload_app = False

# Gunicorn >= 25.1 opens a control socket under $HOME by default; several
# gunicorns would fight over it and systemd's ProtectHome forbids it.
control_socket_disable = True

# Name shown by ps/top (when setproctitle is installed).
proc_name = 'podium-webhooks'

# Logs go to stdout/stderr; systemd's journal or the dev stack collects them.
# UvicornWorker sends uvicorn's access log to gunicorn's access handlers, so
# `accesslog` must be set for requests to be logged at all. Its lines carry no
# Referer, no X-Twilio-Signature and (see below) no query string.
accesslog = '-'
errorlog = '-'
loglevel = os.environ.get('PODIUM_LOG_LEVEL', 'info')

# Used only if the worker class changes: uvicorn formats its own access lines.
access_log_format = (
    '%({x-forwarded-for}i)s "%(m)s %(U)s %(H)s" %(s)s %(B)s %(M)sms "%(a)s"'
)


class _DropQueryString(logging.Filter):
    """Remove the query string from uvicorn's access lines: only the path is needed."""

    def filter(self, record):
        # uvicorn logs ('%s - "%s %s HTTP/%s" %d', client, method, path?query, ...).
        if isinstance(record.args, tuple) and len(record.args) >= 3:
            args = list(record.args)
            args[2] = str(args[2]).split('?', 1)[0]
            record.args = tuple(args)
        return True


# The app's background work (rebuilding room state from the Rooms API when Redis
# comes back empty) starts and stops with the ASGI lifespan (webhooks/app.py).
def post_worker_init(worker):
    """Finish configuring uvicorn inside each worker, before it serves."""
    logging.getLogger('uvicorn.access').addFilter(_DropQueryString())
    config = getattr(worker, 'config', None)
    if config is not None:
        # UvicornWorker does not pass graceful_timeout on to uvicorn; in-flight
        # callbacks get it (a little less), then the worker exits cleanly.
        config.timeout_graceful_shutdown = max(1, worker.cfg.graceful_timeout - 2)


# Prometheus metrics (podium/metrics.py): workers write them to files under
# PROMETHEUS_MULTIPROC_DIR (a fresh directory per start: the launcher, systemd's
# RuntimeDirectory); the master serves their sum on its own loopback port
# (PODIUM_WEBHOOKS_METRICS_PORT), which nginx does not route.
def on_starting(server):
    """Start from empty metric files: the previous master's workers are gone."""
    directory = os.environ.get('PROMETHEUS_MULTIPROC_DIR')
    if directory:
        for name in os.listdir(directory):
            if name.endswith('.db'):
                os.remove(os.path.join(directory, name))


def when_ready(server):
    """Start the metrics listener in the master, once it is ready."""
    from webhooks.metrics import serve_metrics

    server.podium_metrics = serve_metrics()


def child_exit(server, worker):
    """A dead worker's live gauges (open event streams) no longer count."""
    from podium.metrics import mark_process_dead

    mark_process_dead(worker.pid)


def on_exit(server):
    """Stop the metrics listener with the master."""
    listener = getattr(server, 'podium_metrics', None)
    if listener is not None:
        listener.close()
