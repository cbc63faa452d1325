"""deploy/: every metric the Grafana dashboard queries is exported by a service,
and the Prometheus scrape config points at each service's metrics port."""

from __future__ import annotations

import json
import re
from pathlib import Path
from types import SimpleNamespace

import yaml
from prometheus_client import REGISTRY

import local_video.metrics
import podium.metrics  # noqa: F401 - registers the shared metrics
from podium.config import METRICS_PORTS
from webhooks.metrics import RoomAudience

DEPLOY = Path(__file__).resolve().parents[2] / 'deploy'
METRIC_NAME = re.compile(r'\b(podium_[a-z0-9_]+)\b')
# What a family of each type exposes, as Prometheus sees it.
SUFFIXES = {
    'counter': ('_total',),
    'histogram': ('_bucket', '_sum', '_count'),
    'gauge': ('',),
    'unknown': ('',),
}


def names_of(families) -> set[str]:
    return {
        family.name + suffix
        for family in families
        for suffix in SUFFIXES.get(family.type, ('',))
    }


class NoRooms:
    def open_room_audiences(self):
        return [('demo', 1, 1)]


def exported_names() -> set[str]:
    """Every metric some service exports, from the same collectors they serve."""
    registry = SimpleNamespace(rooms=lambda: [])
    figures = dict.fromkeys(local_video.metrics.JANUS_FIGURES, 0.0)
    collectors = [
        RoomAudience(NoRooms()),
        local_video.metrics.LocalVideoCollector(registry, lambda: figures),
    ]
    families = list(REGISTRY.collect())
    for collector in collectors:
        families += list(collector.collect())
    return names_of(families)


def dashboard_queries() -> list[str]:
    dashboard = json.loads((DEPLOY / 'grafana' / 'podium.json').read_text())
    return [t['expr'] for p in dashboard['panels'] for t in p.get('targets', [])]


def test_every_metric_the_dashboard_queries_is_exported():
    queries = dashboard_queries()
    assert len(queries) >= 10
    used = {name for q in queries for name in METRIC_NAME.findall(q)}
    missing = used - exported_names()
    assert not missing, f'the dashboard queries metrics nobody exports: {missing}'
    # The figures the issue asks for are all on it.
    for needed in (
        'podium_room_attendees',
        'podium_callback_lag_seconds_bucket',
        'podium_janus_bitrate_in',
        'podium_janus_packets_lost',
    ):
        assert needed in used


def test_the_check_would_catch_a_misspelt_metric():
    assert 'podium_room_attendee' not in exported_names()
    assert 'podium_http_requests_total' in exported_names()


def test_prometheus_scrapes_every_services_metrics_port():
    config = yaml.safe_load((DEPLOY / 'prometheus' / 'prometheus.yml').read_text())
    targets = {
        target
        for job in config['scrape_configs']
        for static in job['static_configs']
        for target in static['targets']
    }
    assert targets == {f'127.0.0.1:{port}' for _, port in METRICS_PORTS.values()}
