"""Prometheus metrics: what moves when, the private listener, multiprocess sums."""

from __future__ import annotations

import json
import os
import socket
import subprocess
import sys
import textwrap
from datetime import UTC, datetime
from urllib.parse import urlencode

import falcon.testing
import httpx
from prometheus_client import REGISTRY

from podium import metrics
from podium.config import WEBHOOK_PATH, MetricsConfig
from podium.room_state import RoomEvent
from tests.unit.test_publish_guard import FakeRoomsClient
from tests.unit.test_signatures import twilio_signature
from tests.unit.test_token_service import FakeClock, FakeRooms
from token_service.app import create_app as token_app
from token_service.rate_limits import RateLimitSettings
from webhooks.app import create_app as webhooks_app
from webhooks.metrics import RoomAudience


def sample(name: str, **labels) -> float:
    return REGISTRY.get_sample_value(name, labels) or 0.0


def free_port() -> int:
    with socket.socket() as sock:
        sock.bind(('127.0.0.1', 0))
        return sock.getsockname()[1]


def test_requests_are_counted_by_route_template_and_status(config, store):
    app = token_app(
        config,
        store=store,
        rooms=FakeRooms(),
        clock=FakeClock(),
        rate_limits=RateLimitSettings(presentations_per_minute=0, tokens_per_minute=0),
    )
    client = falcon.testing.TestClient(app)
    route = '/api/presentations/{presentation_id:presentation_id}/tokens'
    created_labels = {
        'service': 'token_service',
        'method': 'POST',
        'route': '/api/presentations',
        'status': '201',
    }
    before = sample('podium_http_requests_total', **created_labels)
    issued = sample('podium_tokens_issued_total', role='attendee')
    talk = client.simulate_post('/api/presentations', json={'title': 'T'}).json
    client.simulate_post(
        f'/api/presentations/{talk["id"]}/tokens', json={'role': 'attendee'}
    )
    client.simulate_get('/api/nowhere/secret-looking-path')
    assert sample('podium_http_requests_total', **created_labels) == before + 1
    assert sample('podium_tokens_issued_total', role='attendee') == issued + 1
    labels = {'service': 'token_service', 'method': 'POST', 'route': route}
    assert sample('podium_http_requests_total', **labels, status='200') >= 1
    assert sample('podium_http_request_duration_seconds_count', **labels) >= 1
    unrouted = {'service': 'token_service', 'method': 'GET', 'route': 'unrouted'}
    assert sample('podium_http_requests_total', **unrouted, status='404') >= 1
    # A raw path never becomes a label value.
    exported = b''.join(
        line for line in _exposition().splitlines(keepends=True) if b'secret' in line
    )
    assert exported == b''


def _exposition() -> bytes:
    from prometheus_client import generate_latest

    return generate_latest(REGISTRY)


def _form(name: str, ts_ms: int, **fields) -> dict[str, str]:
    moment = datetime.fromtimestamp(ts_ms / 1000, UTC)
    return {
        'AccountSid': 'AC' + '0' * 32,
        'RoomSid': 'RM' + 'm' * 32,
        'RoomName': 'podium-metrics',
        'StatusCallbackEvent': name,
        'Timestamp': moment.isoformat(timespec='milliseconds').replace('+00:00', 'Z'),
        **fields,
    }


def test_callbacks_are_counted_by_outcome_and_reason(webhooks_config, store):
    app = webhooks_app(
        webhooks_config,
        store=store,
        watch=False,
        client_factory=lambda config: FakeRoomsClient(),
    )
    client = falcon.testing.TestClient(app)
    url = webhooks_config.public_url + WEBHOOK_PATH

    def post(form, signature=None):
        body = urlencode(form)
        sig = signature or twilio_signature(webhooks_config.auth_token, url, form)
        return client.simulate_post(
            WEBHOOK_PATH,
            body=body,
            headers={
                'Content-Type': 'application/x-www-form-urlencoded',
                'X-Twilio-Signature': sig,
            },
        )

    event = 'participant-connected'
    counts = {
        outcome: sample(
            'podium_callbacks_total', event=event, outcome=outcome, reason=''
        )
        for outcome in ('applied', 'duplicate')
    }
    lag = sample('podium_callback_lag_seconds_count')
    forged = sample(
        'podium_callbacks_total',
        event='unknown',
        outcome='rejected',
        reason='signature',
    )
    invalid = sample(
        'podium_callbacks_total', event=event, outcome='rejected', reason='invalid'
    )
    form = _form(
        event,
        1_714_564_800_000,
        ParticipantSid='PA' + '1' * 32,
        ParticipantIdentity='attendee-1',
    )
    assert post(form).status_code == 204
    assert post(form).status_code == 204
    assert post(form, signature='forged').status_code == 403
    assert post({**form, 'Timestamp': 'yesterday'}).status_code == 400
    assert (
        sample('podium_callbacks_total', event=event, outcome='applied', reason='')
        == counts['applied'] + 1
    )
    assert (
        sample('podium_callbacks_total', event=event, outcome='duplicate', reason='')
        == counts['duplicate'] + 1
    )
    assert sample('podium_callback_lag_seconds_count') == lag + 1
    assert (
        sample(
            'podium_callbacks_total',
            event='unknown',
            outcome='rejected',
            reason='signature',
        )
        == forged + 1
    )
    assert (
        sample(
            'podium_callbacks_total', event=event, outcome='rejected', reason='invalid'
        )
        == invalid + 1
    )


def test_the_room_audience_is_read_from_redis_at_scrape_time(store):
    store.create_presentation({'id': 'aud', 'title': 'Audience'})
    room = 'RM' + 'z' * 32

    def event(name, sid, identity, ts):
        return RoomEvent(
            name=name,
            room_sid=room,
            room_name='podium-aud',
            timestamp=ts,
            participant_sid=sid,
            identity=identity,
        )

    store.apply_event(RoomEvent('room-created', room, 'podium-aud', 1))
    store.apply_event(event('participant-connected', 'PA0', 'presenter', 2))
    store.apply_event(event('participant-connected', 'PA1', 'attendee-a', 3))
    store.apply_event(event('participant-connected', 'PA2', 'attendee-b', 4))
    store.apply_event(event('participant-disconnected', 'PA2', 'attendee-b', 5))
    families = {f.name: f for f in RoomAudience(store).collect()}
    attendees = families['podium_room_attendees'].samples
    assert [(s.labels, s.value) for s in attendees] == [({'presentation': 'aud'}, 1)]
    assert families['podium_room_presenters'].samples[0].value == 1
    assert families['podium_rooms_open'].samples[0].value == 1


def test_the_listener_serves_on_its_own_port_and_port_0_is_off():
    assert metrics.serve(MetricsConfig(port=0)).port is None
    port = free_port()
    server = metrics.serve(MetricsConfig(port=port))
    try:
        response = httpx.get(f'http://127.0.0.1:{port}/metrics', timeout=5)
        assert response.status_code == 200
        assert 'podium_http_requests_total' in response.text
    finally:
        server.close()


def test_metrics_config_reads_each_services_port(env):
    env |= {'PODIUM_TOKEN_METRICS_PORT': '9999', 'PODIUM_METRICS_HOST': '127.0.0.2'}
    assert MetricsConfig.from_env('token', env) == MetricsConfig('127.0.0.2', 9999)
    assert MetricsConfig.from_env('webhooks', {}).port == 9103


WORKER = textwrap.dedent(
    """
    import sys
    from podium import metrics
    metrics.TOKENS.labels('attendee').inc(int(sys.argv[1]))
    metrics.EVENT_STREAMS.labels('web_service').inc()
    print(__import__('os').getpid())
    """
)
SCRAPE = textwrap.dedent(
    """
    import json, sys
    from podium import metrics
    for pid in sys.argv[1:]:
        metrics.mark_process_dead(int(pid))
    registry = metrics.collecting_registry()
    print(json.dumps({
        'tokens': registry.get_sample_value(
            'podium_tokens_issued_total', {'role': 'attendee'}),
        'streams': registry.get_sample_value(
            'podium_event_streams_open', {'service': 'web_service'}),
    }))
    """
)


def test_multiprocess_mode_sums_workers_and_forgets_dead_ones(tmp_path):
    env = {**os.environ, 'PROMETHEUS_MULTIPROC_DIR': str(tmp_path)}

    def run(code, *args):
        done = subprocess.run(
            [sys.executable, '-c', code, *args],
            env=env,
            capture_output=True,
            text=True,
            check=True,
            timeout=60,
        )
        return done.stdout.strip()

    first, second = run(WORKER, '2'), run(WORKER, '3')
    # Both workers exited: with nobody marked dead yet their gauges still count.
    assert json.loads(run(SCRAPE)) == {'tokens': 5.0, 'streams': 2.0}
    # gunicorn's child_exit marks them dead: counters stay, live gauges go.
    assert json.loads(run(SCRAPE, first, second)) == {'tokens': 5.0, 'streams': None}
