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

# sync, one request per process at a time. A token request is CPU-bound: one
# loopback Redis round trip, then signing. Only the first token of a
# presentation, and then one per PODIUM_ROOM_CHECK_INTERVAL, waits on Twilio's
# Rooms API (hundreds of ms), and that blocks only its own worker while the
# others carry on. Measured on one worker (bench/README.md): gthread with 8
# threads cost ~0.89 ms CPU per token, 2 threads ~0.78, 1 thread ~0.70, sync
# ~0.57; the thread hand-off, keep-alive polling and GIL switching cost more
# than they save. The price: a sync worker closes every connection, so nginx's
# upstream keep-alive goes unused (a loopback connect, counted in those figures).
worker_class = 'sync'

# Processes: gunicorn's rule for sync workers (2 x cores + 1), capped for small
# hosts. They are what absorbs the occasional Rooms API wait now.
workers = _env_int('PODIUM_TOKEN_WORKERS', min(2 * (os.cpu_count() or 1) + 1, 8))

# Threads per worker. More than 1 makes gunicorn use gthread instead of sync
# (worth it only if Rooms API calls are slow and memory for processes is short).
threads = _env_int('PODIUM_TOKEN_THREADS', 1)

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

# Seconds an idle keep-alive connection from nginx stays open (gthread only; sync
# workers close each connection after the response, and nginx then opens a new
# one). Must be longer than the `keepalive_timeout` of the matching nginx upstream
# (4 s) so nginx never reuses a connection gunicorn is closing (a POST -> 502).
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
# The same access lines, built without gunicorn's per-request dicts of every
# header and environ entry (~15% of a request's CPU; podium/access_log.py).
logger_class = 'podium.access_log.AccessLogger'
loglevel = os.environ.get('PODIUM_LOG_LEVEL', 'info')

# Path WITHOUT the query string (%(U)s, not %(r)s), no Referer, no Authorization
# user (%(u)s): those can carry tokens or keys. The client address is the one nginx
# forwarded.
access_log_format = (
    '%({x-forwarded-for}i)s "%(m)s %(U)s %(H)s" %(s)s %(B)s %(M)sms "%(a)s"'
)


# Prometheus metrics (podium/metrics.py): workers write them to files under
# PROMETHEUS_MULTIPROC_DIR (a fresh directory per start: the launcher, systemd's
# RuntimeDirectory); the master serves their sum on its own loopback port
# (PODIUM_TOKEN_METRICS_PORT), which nginx does not route.
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

    server.podium_metrics = serve(MetricsConfig.from_env('token'))


def child_exit(server, worker):
    """A dead worker's live gauges (open event streams) no longer count."""
    from podium.metrics import mark_process_dead

    mark_process_dead(worker.pid)


def on_exit(server):
    """Stop the metrics listener with the master."""
    listener = getattr(server, 'podium_metrics', None)
    if listener is not None:
        listener.close()
