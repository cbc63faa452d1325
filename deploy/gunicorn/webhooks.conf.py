"""Gunicorn settings for the webhooks service (`webhooks.asgi:app`, ASGI).

    gunicorn -c deploy/gunicorn/webhooks.conf.py webhooks.asgi:app

Gunicorn manages the processes; uvicorn's worker (`uvicorn_worker.UvicornWorker`,
with uvloop and httptools) runs the ASGI app inside each.

Every value that differs between machines comes from the environment (the same
variables `.env.example` documents). Gunicorn executes this file as Python.
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

# Loopback only: Twilio reaches us through nginx at PODIUM_PUBLIC_URL.
bind = f'127.0.0.1:{env_int("PODIUM_WEBHOOKS_PORT", 8003)}'

# An event loop per worker: a callback is a signature check and one Redis round
# trip (redis.asyncio), so one process keeps many in flight, and gunicorn's sync
# worker cost more per request than the callback itself (bench/README.md).
worker_class = 'uvicorn_worker.UvicornWorker'

# One event loop per core keeps every core busy; more only adds processes.
workers = env_int('PODIUM_WEBHOOKS_WORKERS', min(os.cpu_count() or 1, 8))

# Twilio gives a callback about 15 s in all; answering later is pointless.
timeout = env_int('PODIUM_WEBHOOKS_TIMEOUT', 15)

# On SIGTERM, in-flight callbacks get this long to finish before workers are killed.
graceful_timeout = env_int('PODIUM_GRACEFUL_TIMEOUT', 30)

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
# Referer, no X-Twilio-Signature and no query string (podium/gunicorn_hooks.py).
accesslog = '-'
errorlog = '-'
loglevel = os.environ.get('PODIUM_LOG_LEVEL', 'info')

# Used only if the worker class changes: uvicorn formats its own access lines.
access_log_format = (
    '%({x-forwarded-for}i)s "%(m)s %(U)s %(H)s" %(s)s %(B)s %(M)sms "%(a)s"'
)


def when_ready(server):
    """Start the metrics listener in the master, once it is ready."""
    from webhooks.metrics import serve_metrics

    server.podium_metrics = serve_metrics()
