"""Gunicorn settings for the webhooks service (`webhooks.wsgi:app`).

    gunicorn -c deploy/gunicorn/webhooks.conf.py webhooks.wsgi:app

Every value that differs between machines comes from the environment (the same
variables `.env.example` documents). Gunicorn executes this file as Python.
"""

import os


def _env_int(name, default):
    """Return the integer in environment variable `name`, or `default` if unset."""
    raw = os.environ.get(name, '').strip()
    return int(raw) if raw else default


# Loopback only: Twilio reaches us through nginx at PODIUM_PUBLIC_URL.
bind = f'127.0.0.1:{_env_int("PODIUM_WEBHOOKS_PORT", 8003)}'

# sync: a callback is a signature check plus one short Redis transaction, all CPU
# or loopback I/O, and nginx buffers slow clients for us.
worker_class = 'sync'

# Gunicorn's rule of thumb for sync workers (2 x cores + 1), capped for small hosts.
workers = _env_int('PODIUM_WEBHOOKS_WORKERS', min(2 * (os.cpu_count() or 1) + 1, 8))

# Twilio gives a callback about 15 s in all; answering later is pointless.
timeout = _env_int('PODIUM_WEBHOOKS_TIMEOUT', 15)

# On SIGTERM, in-flight callbacks get this long to finish before workers are killed.
graceful_timeout = _env_int('PODIUM_GRACEFUL_TIMEOUT', 30)

# Recycle each worker after this many requests (plus jitter so they do not all
# restart together) to bound slow memory growth.
max_requests = 50000
max_requests_jitter = 5000

# Sync workers close every connection after the response; the setting only
# matters if worker_class changes. nginx's webhooks upstream keeps no idle
# connections for that reason.
keepalive = 2

# A callback is a form of a dozen short fields; refuse anything far larger.
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

# Build the app in each worker, after fork: no Redis connection crosses a fork.
preload_app = False

# Gunicorn >= 25.1 opens a control socket under $HOME by default; several
# gunicorns would fight over it and systemd's ProtectHome forbids it.
control_socket_disable = True

# Name shown by ps/top (when setproctitle is installed).
proc_name = 'podium-webhooks'

# Logs go to stdout/stderr; systemd's journal or the dev stack collects them.
accesslog = '-'
errorlog = '-'
# The same access lines, built without gunicorn's per-request dicts of every
# header and environ entry (~15% of a request's CPU; podium/access_log.py).
logger_class = 'podium.access_log.AccessLogger'
loglevel = os.environ.get('PODIUM_LOG_LEVEL', 'info')

# Path without query string, no Referer, no X-Twilio-Signature, no Basic-auth
# user: only what is needed to follow a request.
access_log_format = (
    '%({x-forwarded-for}i)s "%(m)s %(U)s %(H)s" %(s)s %(B)s %(M)sms "%(a)s"'
)


# The app's background work (rebuilding room state from the Rooms API when Redis
# comes back empty) runs per worker, started after the fork and stopped on exit.
def post_worker_init(worker):
    """Start the webhooks app's background work in a new worker."""
    worker.wsgi.start()


def worker_exit(server, worker):
    """Stop the webhooks app's background work as the worker leaves."""
    app = getattr(worker, 'wsgi', None)
    if app is not None:
        app.stop()


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
