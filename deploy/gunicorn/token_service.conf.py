"""Gunicorn settings for the token service (`token_service.asgi:app`, ASGI).

    gunicorn -c deploy/gunicorn/token_service.conf.py token_service.asgi:app

Gunicorn manages the processes; uvicorn's worker (`uvicorn_worker.UvicornWorker`)
runs the ASGI app inside each.

Every value that differs between machines comes from the environment (the same
variables `.env.example` documents), so one file serves the dev stack, systemd and
containers. Gunicorn executes this file as Python when it starts the master.
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

# Loopback only: nginx is the one public entry point (docs/architecture.md).
bind = f'127.0.0.1:{env_int("PODIUM_TOKEN_PORT", 8002)}'

# An event loop per worker (uvicorn's worker: uvloop, httptools). A token is one
# Redis round trip (redis.asyncio) and a signature, so one process keeps many in
# flight; gunicorn's sync worker cost more per request than the token itself
# (bench/README.md). The other routes are sync resources run in threads
# (token_service/on_the_loop.py), so a Rooms API wait holds up its own request
# only.
worker_class = 'uvicorn_worker.UvicornWorker'

# One event loop per core keeps every core busy; more only adds processes.
workers = env_int('PODIUM_TOKEN_WORKERS', min(os.cpu_count() or 1, 8))

# A request (including its Twilio calls) that takes longer than this is killed
# and its worker replaced; Twilio answers in well under a second normally.
timeout = env_int('PODIUM_TOKEN_TIMEOUT', 30)

# On SIGTERM, in-flight requests get this long to finish before workers are killed.
graceful_timeout = env_int('PODIUM_GRACEFUL_TIMEOUT', 30)

# Recycle each worker after this many requests (plus up to `max_requests_jitter`,
# so they do not all restart at once) to bound slow memory growth. Not lower: at
# full load a restart every few seconds showed up in p99 (bench/README.md).
max_requests = 20000
max_requests_jitter = 2000

# Seconds an idle keep-alive connection from nginx stays open. Must be longer
# than the `keepalive_timeout` of the matching nginx upstream (4 s) so nginx
# never reuses a connection the worker is closing (a POST -> 502).
keepalive = 5

# Request limits: our requests are small JSON bodies with a short path; anything
# far beyond this is abuse. (Body size is capped by nginx: client_max_body_size.)
# Gunicorn enforces these for its own workers only; uvicorn applies its own.
limit_request_line = 4094
limit_request_fields = 50
limit_request_field_size = 8190

# Only nginx on loopback may set X-Forwarded-* (client address and scheme).
forwarded_allow_ips = '127.0.0.1,::1'

# Trust X-Forwarded-Proto alone: nginx always overwrites it, whereas a client could
# smuggle X-Forwarded-Ssl through nginx and make gunicorn reject the request.
secure_scheme_headers = {'X-FORWARDED-PROTO': 'https'}

# We do not mount under a prefix; never let a header rewrite SCRIPT_NAME/PATH_INFO.
forwarder_headers = ''

# Build the app in each worker, after fork: Redis and HTTP clients are never
# shared between processes.
preload_app = False

# Gunicorn >= 25.1 opens a control socket under $HOME by default; several
# gunicorns (and parallel test runs) would fight over it, and systemd's
# ProtectHome forbids it. Podium is managed by signals, so turn it off.
control_socket_disable = True

# Name shown by ps/top (when setproctitle is installed).
proc_name = 'podium-token'

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

    server.podium_metrics = serve(MetricsConfig.from_env('token'))
