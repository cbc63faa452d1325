"""local_video's Prometheus metrics: requests, rooms and Janus's media figures.

Served on the service's private metrics port (podium.config.MetricsConfig,
PODIUM_LOCAL_VIDEO_METRICS_PORT), started and stopped with the ASGI lifespan by
`LocalVideoMetrics`, a middleware added to the app. Rooms, publishers and
subscribers come from the registry at scrape time. Media figures (bitrate in and
out, packet loss, NACKs) come from Janus's admin API (`handle_info` of every
handle), polled in the event loop every few seconds and cached: a scrape never
waits on Janus. Slow-link events are counted as Janus sends them (janus_api).
"""

from __future__ import annotations

import asyncio
import contextlib
import logging
import secrets
from collections.abc import Callable

import httpx
from prometheus_client import Counter
from prometheus_client.core import GaugeMetricFamily

from podium import metrics
from podium.config import MetricsConfig

log = logging.getLogger(__name__)

POLL_INTERVAL = 5.0
JANUS_TIMEOUT = 2.0
# The figures summed over every PeerConnection Janus has open, by our name.
JANUS_FIGURES = {
    'bitrate_in': 'Bits per second Janus receives (last second, all handles).',
    'bitrate_out': 'Bits per second Janus sends (last second, all handles).',
    'packets_lost': 'Packets lost, as RTCP reports, of the PeerConnections open now.',
    'nacks': 'NACKs sent and received on the PeerConnections open now.',
    'handles': 'Plugin handles Janus has open (one per PeerConnection).',
}


SLOW_LINKS = Counter(
    'podium_janus_slow_links',
    "Janus's slowlink events (many NACKs on a PeerConnection), by direction.",
    ['direction'],
)


def count_slow_link(event: dict) -> None:
    """Count a Janus core `slowlink` event (uplink: the peer's sending side)."""
    SLOW_LINKS.labels('uplink' if event.get('uplink') else 'downlink').inc()


def media_figures(handle_infos: list[dict]) -> dict[str, float]:
    """Sum the figures of Janus `handle_info` answers (their `info` objects).

    Janus 1.1 reports per handle `webrtc.media.<mid>.stats.in|out` (bytes_lastsec,
    nacks) and `webrtc.media.<mid>.rtcp.<layer>` (lost, lost-by-remote).
    """
    totals = dict.fromkeys(JANUS_FIGURES, 0.0)
    totals['handles'] = float(len(handle_infos))
    for info in handle_infos:
        media = (info.get('webrtc') or {}).get('media') or {}
        for stream in media.values() if isinstance(media, dict) else ():
            if not isinstance(stream, dict):
                continue
            stats = stream.get('stats') or {}
            incoming, outgoing = stats.get('in') or {}, stats.get('out') or {}
            totals['bitrate_in'] += 8 * _number(incoming, 'bytes_lastsec')
            totals['bitrate_out'] += 8 * _number(outgoing, 'bytes_lastsec')
            totals['nacks'] += _number(incoming, 'nacks') + _number(outgoing, 'nacks')
            rtcp = stream.get('rtcp') or {}
            for layer in rtcp.values() if isinstance(rtcp, dict) else ():
                if isinstance(layer, dict):
                    totals['packets_lost'] += _number(layer, 'lost')
                    totals['packets_lost'] += _number(layer, 'lost-by-remote')
    return totals


def _number(values: dict, key: str) -> float:
    value = values.get(key, 0)
    return float(value) if isinstance(value, int | float) else 0.0


class JanusAdmin:
    """Janus's admin API on loopback: list sessions, handles, and their info."""

    def __init__(self, http: httpx.AsyncClient, url: str, secret: str):
        self._http = http
        self._url = url.rstrip('/')
        self._secret = secret

    async def _call(self, path: str, request: str) -> dict:
        body = {
            'janus': request,
            'transaction': secrets.token_hex(6),
            'admin_secret': self._secret,
        }
        response = await self._http.post(
            self._url + path, json=body, timeout=JANUS_TIMEOUT
        )
        response.raise_for_status()
        return response.json()

    async def handle_infos(self) -> list[dict]:
        infos = []
        sessions = (await self._call('', 'list_sessions')).get('sessions') or []
        for session in sessions:
            handles = (await self._call(f'/{session}', 'list_handles')).get(
                'handles'
            ) or []
            for handle in handles:
                answer = await self._call(f'/{session}/{handle}', 'handle_info')
                if isinstance(answer.get('info'), dict):
                    infos.append(answer['info'])
        return infos


class LocalVideoCollector:
    """Collector: the registry's rooms and participants, Janus's last figures."""

    def __init__(self, registry, janus_figures: Callable[[], dict[str, float]]):
        self._registry = registry
        self._janus_figures = janus_figures

    def collect(self):
        rooms = GaugeMetricFamily('podium_local_rooms', 'Rooms in progress.')
        publishers = GaugeMetricFamily(
            'podium_local_publishers', 'Connected participants publishing a track.'
        )
        subscribers = GaugeMetricFamily(
            'podium_local_subscribers',
            'Connected participants publishing nothing (the audience).',
        )
        open_rooms = [r for r in list(self._registry.rooms()) if r.in_progress]
        connected = [p for r in open_rooms for p in list(r.connected())]
        publishing = sum(1 for p in connected if p.tracks)
        rooms.add_metric([], len(open_rooms))
        publishers.add_metric([], publishing)
        subscribers.add_metric([], len(connected) - publishing)
        yield from (rooms, publishers, subscribers)
        for name, value in self._janus_figures().items():
            family = GaugeMetricFamily(f'podium_janus_{name}', JANUS_FIGURES[name])
            family.add_metric([], value)
            yield family


class LocalVideoMetrics(metrics.RequestMetrics):
    """Middleware: request metrics, and the metrics listener with the lifespan."""

    def __init__(self, registry, media, config: MetricsConfig | None = None):
        super().__init__('local_video')
        self._registry = registry
        self._media = media
        self._config = config or MetricsConfig.from_env('local_video')
        self._figures: dict[str, float] = {}
        self._server: metrics.MetricsServer | None = None
        self._poller: asyncio.Task | None = None
        self._http: httpx.AsyncClient | None = None

    def figures(self) -> dict[str, float]:
        return dict(self._figures)

    async def process_startup(self, scope, event) -> None:
        collector = LocalVideoCollector(self._registry, self.figures)
        self._server = metrics.serve(self._config, extra=[collector])
        if self._media is not None and self._config.port:
            self._http = httpx.AsyncClient()
            self._poller = asyncio.create_task(self._poll())

    async def process_shutdown(self, scope, event) -> None:
        if self._poller is not None:
            self._poller.cancel()
            with contextlib.suppress(asyncio.CancelledError):
                await self._poller
        if self._http is not None:
            await self._http.aclose()
        if self._server is not None:
            await asyncio.to_thread(self._server.close)

    async def _poll(self) -> None:
        while True:
            await asyncio.sleep(POLL_INTERVAL)
            settings = getattr(self._media, 'settings', None)
            if settings is None or self._http is None:
                continue
            admin = JanusAdmin(
                self._http,
                f'http://127.0.0.1:{settings.admin_port}/admin',
                settings.admin_secret,
            )
            try:
                self._figures = media_figures(await admin.handle_infos())
            except (httpx.HTTPError, ValueError) as ex:
                # Janus restarting: the last figures would be stale, drop them.
                log.info('metrics: Janus admin API unavailable: %s', type(ex).__name__)
                self._figures = {}
