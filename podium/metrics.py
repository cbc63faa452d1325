"""Prometheus metrics of every service, and the private listener that serves them.

Metrics are for operators, not the public: each service serves them on its own
loopback address and port (podium.config.MetricsConfig), which nginx does not
route. Under gunicorn each worker is a process of its own, so the client's
multiprocess mode is used whenever PROMETHEUS_MULTIPROC_DIR is set (the
launcher and the systemd units set it to a fresh directory per service): workers
write their values to files there, the gunicorn master serves the sum, and its
`child_exit` hook marks a dead worker's live gauges gone (deploy/gunicorn).

Label values are bounded: route *templates* (never raw paths), status codes,
event names Podium knows, a closed set of reasons.
"""

from __future__ import annotations

import logging
import os
import threading
import time
from collections.abc import Callable, Iterable

from prometheus_client import (
    REGISTRY,
    CollectorRegistry,
    Counter,
    Gauge,
    Histogram,
    start_http_server,
)
from prometheus_client import multiprocess as _multiprocess
from prometheus_client.registry import Collector

from podium.config import MetricsConfig

log = logging.getLogger(__name__)

MULTIPROC_VAR = 'PROMETHEUS_MULTIPROC_DIR'
UNROUTED = 'unrouted'  # a path that matched no route: never its text as a label

REQUESTS = Counter(
    'podium_http_requests',
    'HTTP requests answered, by service, method, route template and status.',
    ['service', 'method', 'route', 'status'],
)
LATENCY = Histogram(
    'podium_http_request_duration_seconds',
    'Time to answer an HTTP request (to the headers, for event streams).',
    ['service', 'method', 'route'],
    buckets=(0.002, 0.005, 0.01, 0.025, 0.05, 0.1, 0.25, 0.5, 1, 2.5, 5, 10),
)
CALLBACKS = Counter(
    'podium_callbacks',
    'Room status callbacks by event and outcome (applied, duplicate, ignored, '
    'rejected) and reason.',
    ['event', 'outcome', 'reason'],
)
CALLBACK_LAG = Histogram(
    'podium_callback_lag_seconds',
    "From a callback's Timestamp to its merge into Redis.",
    buckets=(0.05, 0.1, 0.25, 0.5, 1, 2, 5, 10, 30, 60, 300),
)
TOKENS = Counter(
    'podium_tokens_issued', 'Access tokens handed out, by role.', ['role']
)
EVENT_STREAMS = Gauge(
    'podium_event_streams_open',
    'Server-sent event streams open now.',
    ['service'],
    multiprocess_mode='livesum',
)
REDIS_ERRORS = Counter(
    'podium_redis_errors',
    'Redis commands that failed (connection lost, timeout, refused).',
    ['service'],
)

# Event names a callback may carry that Podium counts by name; others are 'other'.
KNOWN_CALLBACK_EVENTS = frozenset(
    {
        'room-created',
        'room-ended',
        'participant-connected',
        'participant-disconnected',
        'track-added',
        'track-removed',
        'track-enabled',
        'track-disabled',
        'recording-started',
        'recording-completed',
        'recording-failed',
    }
)


UNKNOWN_EVENT = 'unknown'  # refused before its event name was read


def callback_event_label(name: str) -> str:
    if name in KNOWN_CALLBACK_EVENTS or name == UNKNOWN_EVENT:
        return name
    return 'other'


def count_callback(event: str, outcome: str, reason: str = '') -> None:
    CALLBACKS.labels(callback_event_label(event), outcome, reason).inc()


def observe_callback_lag(timestamp_ms: int, now: float | None = None) -> None:
    """Record how late a callback arrived; a clock ahead of ours counts as 0."""
    now = time.time() if now is None else now
    CALLBACK_LAG.observe(max(0.0, now - timestamp_ms / 1000))


def count_redis_error(service: str) -> None:
    REDIS_ERRORS.labels(service).inc()


class RequestMetrics:
    """Falcon middleware (WSGI and ASGI): count and time every request by route."""

    def __init__(self, service: str, clock: Callable[[], float] = time.perf_counter):
        self._service = service
        self._clock = clock

    def process_request(self, req, resp) -> None:
        req.context.metrics_started = self._clock()

    def process_response(self, req, resp, resource, req_succeeded) -> None:
        started = getattr(req.context, 'metrics_started', None)
        route = req.uri_template or UNROUTED
        method = req.method if req.method in _METHODS else 'OTHER'
        REQUESTS.labels(self._service, method, route, str(resp.status_code)).inc()
        if started is not None:
            LATENCY.labels(self._service, method, route).observe(
                self._clock() - started
            )

    async def process_request_async(self, req, resp) -> None:
        self.process_request(req, resp)

    async def process_response_async(self, req, resp, resource, req_succeeded):
        self.process_response(req, resp, resource, req_succeeded)


_METHODS = frozenset({'GET', 'HEAD', 'POST', 'PUT', 'PATCH', 'DELETE', 'OPTIONS'})


def multiprocess_dir() -> str | None:
    return os.environ.get(MULTIPROC_VAR) or None


def collecting_registry(extra: Iterable[Collector] = ()) -> CollectorRegistry:
    """Return the registry a scrape reads: every worker's files, or this process."""
    directory = multiprocess_dir()
    registry = CollectorRegistry()
    if directory is None:
        registry.register(_ThisProcess())
    else:
        _multiprocess.MultiProcessCollector(registry, path=directory)
    for collector in extra:
        registry.register(collector)
    return registry


class _ThisProcess:
    """This process's default registry, inside a registry of the scrape's own."""

    def collect(self):
        yield from REGISTRY.collect()


class MetricsServer:
    """The private metrics listener; `close()` stops it (safe when never started)."""

    def __init__(self, server=None, thread: threading.Thread | None = None):
        self._server = server
        self._thread = thread

    @property
    def port(self) -> int | None:
        return self._server.server_address[1] if self._server else None

    def close(self) -> None:
        if self._server is not None:
            self._server.shutdown()
            self._server.server_close()
            self._server = None
        if self._thread is not None:
            self._thread.join(timeout=5)
            self._thread = None


def serve(
    config: MetricsConfig, extra: Iterable[Collector] = (), registry=None
) -> MetricsServer:
    """Serve the metrics on config's address (port 0 in config: not at all)."""
    if not config.port:
        log.info('metrics listener off (its port is 0)')
        return MetricsServer()
    registry = registry or collecting_registry(extra)
    server, thread = start_http_server(config.port, config.host, registry=registry)
    log.info('metrics on http://%s:%d/metrics', config.host, config.port)
    return MetricsServer(server, thread)


def mark_process_dead(pid: int) -> None:
    """gunicorn `child_exit`: a dead worker's live gauges no longer count."""
    directory = multiprocess_dir()
    if directory is not None:
        _multiprocess.mark_process_dead(pid, directory)
