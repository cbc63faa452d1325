"""The webhooks service's metrics listener: shared metrics plus the open rooms.

The audience per presentation is read from Redis at scrape time (open rooms
only), not kept in gauges: a gauge per presentation would outlive its talk in
every worker's metric files.
"""

from __future__ import annotations

import logging
import os

import redis
from prometheus_client.core import GaugeMetricFamily

from podium import metrics
from podium.config import DEFAULT_REDIS_URL, MetricsConfig
from podium.store import Store

log = logging.getLogger(__name__)


class RoomAudience:
    """Collector: attendees and presenters connected to each open room."""

    def __init__(self, store: Store):
        self._store = store

    def collect(self):
        attendees = GaugeMetricFamily(
            'podium_room_attendees',
            'Attendees connected to an open room, by presentation.',
            labels=['presentation'],
        )
        presenters = GaugeMetricFamily(
            'podium_room_presenters',
            'Presenter connections to an open room, by presentation.',
            labels=['presentation'],
        )
        rooms = GaugeMetricFamily('podium_rooms_open', 'Rooms not ended.')
        try:
            audiences = self._store.open_room_audiences()
        except redis.RedisError as ex:
            log.warning('metrics: Redis is unreachable: %s', type(ex).__name__)
            metrics.count_redis_error('webhooks')
            return
        for presentation_id, attendee_count, presenter_count in audiences:
            attendees.add_metric([presentation_id], attendee_count)
            presenters.add_metric([presentation_id], presenter_count)
        rooms.add_metric([], len(audiences))
        yield from (attendees, presenters, rooms)


def serve_metrics(environ=None) -> metrics.MetricsServer:
    """Start the webhooks metrics listener (gunicorn master: `when_ready`)."""
    env = os.environ if environ is None else environ
    store = Store.from_url(env.get('PODIUM_REDIS_URL') or DEFAULT_REDIS_URL)
    return metrics.serve(
        MetricsConfig.from_env('webhooks', env), extra=[RoomAudience(store)]
    )
