"""Gunicorn settings for the token service (`token_service.wsgi:app`).

    gunicorn -c deploy/gunicorn/token_service.conf.py token_service.wsgi:app

Every value that differs between machines comes from the environment (the same
variables `.env.example` documents), so one file serves the dev stack, systemd and
containers. Gunicorn executes this file as Python when it starts the master.
"""

import os


def _env_int(name, default):
    """Return the integer in environment variable `name`, or `default` if unset."""
    raw = os.environ.get(name, '').strip()
    return int(raw) if raw else default


# Loopback only: nginx is the one public entry point (docs/architecture.md).
bind = f'127.0.0.1:{_env_int("PODIUM_TOKEN_PORT", 8002)}'

# gthread: each request may wait on Twilio's Rooms REST API (hundreds of ms), so
# threads keep a worker useful while it waits; a whole audience asks for tokens
# within seconds of a talk starting.
worker_class = 'gthread'

# Processes; a few are enough because threads absorb the I/O waits.
workers = _env_int('PODIUM_TOKEN_WORKERS', min(2 * (os.cpu_count() or 1), 4))

# Concurrent requests per worker process.
threads = _env_int('PODIUM_TOKEN_THREADS', 8)

# A request (including its Twilio calls) that takes longer than this is killed
# and its worker replaced; Twilio answers in well under a second normally.
timeout = _env_int('PODIUM_TOKEN_TIMEOUT', 30)

# On SIGTERM, in-flight requests get this long to finish before workers are killed.
graceful_timeout = _env_int('PODIUM_GRACEFUL_TIMEOUT', 30)

# Recycle each worker after this many requests (plus up to `max_requests_jitter`,
# so they do not all restart at once) to bound slow memory growth. Not lower: at
# full load a restart every few seconds showed up in p99 (bench/README.md).
max_requests = 20000
max_requests_jitter = 2000

# Seconds an idle keep-alive connection from nginx stays open. Must be longer than
# the `keepalive_timeout` of the matching nginx upstream (4 s) so nginx never
# reuses a connection gunicorn is closing (which would turn a POST into a 502).
keepalive = 5

# Request limits: our requests are small JSON bodies with a short path; anything
# far beyond this is abuse. (Body size is capped by nginx: client_max_body_size.)
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
accesslog = '-'
errorlog = '-'
loglevel = os.environ.get('PODIUM_LOG_LEVEL', 'info')

# Path WITHOUT the query string (%(U)s, not %(r)s), no Referer, no Authorization
# user (%(u)s): those can carry tokens or keys. The client address is the one nginx
# forwarded.
access_log_format = (
    '%({x-forwarded-for}i)s "%(m)s %(U)s %(H)s" %(s)s %(B)s %(M)sms "%(a)s"'
)
