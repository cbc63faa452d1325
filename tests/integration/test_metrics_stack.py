"""Metrics on the real stack: they move when an attendee joins and leaves, each
service serves them on its own loopback port, and nginx does not route them.

Twilio mode at FakeTwilio; callbacks are signed and posted through nginx. The
gunicorn services run in multiprocess mode (the launcher's PROMETHEUS_MULTIPROC_DIR).
"""

from __future__ import annotations

import httpx
import pytest
from prometheus_client.parser import text_string_to_metric_families

from tests.integration.conftest import HTTP_TIMEOUT, participant_sid
from tests.integration.test_stack import (
    create_presentation,
    open_room,
    send,
)

pytestmark = [pytest.mark.integration, pytest.mark.timeout(60)]


def scrape(port: int) -> dict[tuple[str, tuple], float]:
    """Return every sample of a metrics port as {(name, sorted labels): value}."""
    response = httpx.get(f'http://127.0.0.1:{port}/metrics', timeout=HTTP_TIMEOUT)
    assert response.status_code == 200, response.text
    return {
        (s.name, tuple(sorted(s.labels.items()))): s.value
        for family in text_string_to_metric_families(response.text)
        for s in family.samples
    }


def value(samples, name: str, **labels) -> float:
    return samples.get((name, tuple(sorted(labels.items()))), 0.0)


def test_metrics_move_when_an_attendee_joins_and_leaves(stack, client):
    ports = stack.ports
    presentation = create_presentation(client, 'Metrics talk')
    pid = presentation['id']
    tokens_before = value(
        scrape(ports.token_metrics), 'podium_tokens_issued_total', role='attendee'
    )
    calls = open_room(client, presentation)  # issues an attendee token
    token_samples = scrape(ports.token_metrics)
    assert (
        value(token_samples, 'podium_tokens_issued_total', role='attendee')
        == tokens_before + 1
    )
    route = '/api/presentations/{presentation_id:presentation_id}/tokens'
    assert (
        value(
            token_samples,
            'podium_http_requests_total',
            service='token_service',
            method='POST',
            route=route,
            status='200',
        )
        >= 1
    )

    attendee = participant_sid()
    send(client, stack, calls.event('room-created'))
    send(
        client,
        stack,
        calls.participant('participant-connected', attendee, 'attendee-m1'),
    )
    joined = scrape(ports.webhooks_metrics)
    assert value(joined, 'podium_room_attendees', presentation=pid) == 1
    applied = value(
        joined,
        'podium_callbacks_total',
        event='participant-connected',
        outcome='applied',
        reason='',
    )
    assert applied >= 1
    assert value(joined, 'podium_callback_lag_seconds_count') >= 2

    send(
        client,
        stack,
        calls.participant('participant-disconnected', attendee, 'attendee-m1'),
    )
    left = scrape(ports.webhooks_metrics)
    assert value(left, 'podium_room_attendees', presentation=pid) == 0
    assert (
        value(
            left,
            'podium_callbacks_total',
            event='participant-disconnected',
            outcome='applied',
            reason='',
        )
        >= 1
    )


def test_open_event_streams_are_counted_while_they_last(stack):
    with httpx.Client(base_url=stack.url, timeout=HTTP_TIMEOUT) as client:
        presentation = create_presentation(client, 'Streams')
        before = value(
            scrape(stack.ports.web_metrics),
            'podium_event_streams_open',
            service='web_service',
        )
        url = f'/live/presentations/{presentation["id"]}/events'
        with client.stream('GET', url) as response:
            assert response.status_code == 200
            # Held: a dropped line iterator would close the stream.
            lines = response.iter_lines()
            assert next(lines).startswith('event:')
            during = value(
                scrape(stack.ports.web_metrics),
                'podium_event_streams_open',
                service='web_service',
            )
        assert during == before + 1
        del lines


def test_metrics_are_not_routed_by_nginx(stack, client):
    for path in ('/metrics', '/api/metrics', '/webhooks/metrics', '/live/metrics'):
        response = client.get(path)
        assert response.status_code == 404, (path, response.status_code)
        assert 'podium_http_requests_total' not in response.text
