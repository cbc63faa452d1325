"""Gunicorn settings for the web service (`web_service.asgi:app`, ASGI).

    gunicorn -c deploy/gunicorn/web_service.conf.py web_service.asgi:app

Gunicorn manages the processes; uvicorn (through `uvicorn_worker.UvicornWorker`)
runs the ASGI app inside each. Every value that differs between machines comes from
the environment (see `.env.example`). Gunicorn executes this file as Python.
"""

import os

# The hooks every service shares (gunicorn takes hooks by name from this module).
from podium.gunicorn_hooks import (  # noqa: F401
    child_exit,
    env_int,
    on_exit,
    on_starting,
    post_worker_init,
)

# Loopback only: pages and the live state stream are served through nginx.
bind = f'127.0.0.1:{env_int("PODIUM_WEB_PORT", 8001)}'

# ASGI: every open page holds a Server-Sent Events stream for the whole talk, so
# the worker must hold thousands of idle connections, which only an event loop can.
worker_class = 'uvicorn_worker.UvicornWorker'

# Each worker runs one event loop; one per core is plenty, and each subscribes to
# Redis once.
workers = env_int('PODIUM_WEB_WORKERS', min(os.cpu_count() or 1, 4))

# For async workers this is a heartbeat: a loop blocked this long is restarted.
# Long-lived SSE streams are fine, they do not block the loop.
timeout = env_int('PODIUM_WEB_TIMEOUT', 30)

# SSE streams never finish on their own, so a graceful stop would always wait the
# full time; keep it short. Pages reconnect and resume with Last-Event-ID.
graceful_timeout = env_int('PODIUM_GRACEFUL_TIMEOUT', 10)

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
# (podium/gunicorn_hooks.py keeps query strings out of them).
access_log_format = (
    '%({x-forwarded-for}i)s "%(m)s %(U)s %(H)s" %(s)s %(B)s %(M)sms "%(a)s"'
)


def when_ready(server):
    """Start the metrics listener in the master, once it is ready."""
    from podium.config import MetricsConfig
    from podium.metrics import serve

    server.podium_metrics = serve(MetricsConfig.from_env('web'))
