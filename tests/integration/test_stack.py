"""Podium end to end through nginx: real redis-server, gunicorn services, nginx.

Twilio is `FakeTwilio`; its room status callbacks are played by the test, signed
independently with hmac against the public URL, and sent through nginx.
"""

from __future__ import annotations

import re
import secrets
import time
from pathlib import Path

import httpx
import pytest

from podium.config import SECRET_VARS, SERVICE_SECRETS
from tests.conftest import TEST_ENV
from tests.integration.conftest import (
    WEBHOOK_PATH,
    Callbacks,
    next_state,
    participant_sid,
    post_callback,
    sse_events,
)

pytestmark = [pytest.mark.integration, pytest.mark.timeout(60)]

AUTH_TOKEN = TEST_ENV['TWILIO_AUTH_TOKEN']
ACCOUNT_SID = TEST_ENV['TWILIO_ACCOUNT_SID']


def create_presentation(client: httpx.Client, title: str = 'Integration talk') -> dict:
    response = client.post('/api/presentations', json={'title': title})
    assert response.status_code == 201, response.text
    return response.json()


def token(client: httpx.Client, presentation_id: str, **body) -> httpx.Response:
    return client.post(f'/api/presentations/{presentation_id}/tokens', json=body)


def view(client: httpx.Client, presentation_id: str) -> dict:
    response = client.get(f'/live/presentations/{presentation_id}')
    assert response.status_code == 200, response.text
    return response.json()


def open_room(client: httpx.Client, presentation: dict) -> Callbacks:
    """Ask for an attendee token (which opens the room); return its callback maker."""
    response = token(client, presentation['id'], role='attendee')
    assert response.status_code == 200, response.text
    room_sid = view(client, presentation['id'])['room']['sid']
    assert room_sid, 'issuing a token did not record the room'
    return Callbacks(ACCOUNT_SID, room_sid, response.json()['room'])


def send(client, stack, form: dict) -> None:
    response = post_callback(client, stack.url, AUTH_TOKEN, form)
    assert response.status_code == 204, response.text


def test_presentation_lifecycle_through_nginx(stack, client, fake_twilio):
    presentation = create_presentation(client)
    pid, key = presentation['id'], presentation['presenter_key']
    assert presentation['attendee_url'] == f'{stack.url}/presentations/{pid}'

    attendee = token(client, pid, role='attendee')
    assert attendee.status_code == 200, attendee.text
    assert attendee.json()['backend'] == 'twilio'
    assert attendee.json()['identity'].startswith('attendee-')
    assert token(client, pid, role='presenter', key='not-the-key').status_code == 403
    presenter = token(client, pid, role='presenter', key=key)
    assert presenter.status_code == 200, presenter.text
    assert presenter.json()['identity'] == 'presenter'

    # The room lives at the fake, with callbacks aimed at the public URL.
    room_sid = view(client, pid)['room']['sid']
    room = fake_twilio.rooms[room_sid]
    assert room['unique_name'] == f'podium-{pid}'
    assert room['status_callback'] == stack.url + WEBHOOK_PATH
    calls = Callbacks(ACCOUNT_SID, room_sid, room['unique_name'])

    with client.stream('GET', f'/live/presentations/{pid}/events') as stream:
        assert stream.status_code == 200
        assert stream.headers['content-type'].startswith('text/event-stream')
        events = sse_events(stream)
        assert next_state(events)['status'] == 'waiting'

        presenter_sid = participant_sid()
        send(client, stack, calls.event('room-created'))
        send(
            client,
            stack,
            calls.participant('participant-connected', presenter_sid, 'presenter'),
        )
        send(
            client,
            stack,
            calls.track('track-added', presenter_sid, 'presenter', 'video'),
        )
        live = next_state(
            events, lambda v: v['status'] == 'live' and v['presenter']['tracks']
        )
        assert live['presenter']['connected'] is True
        assert [t['kind'] for t in live['presenter']['tracks']] == ['video']

        first, second = participant_sid(), participant_sid()
        send(
            client,
            stack,
            calls.participant('participant-connected', first, 'attendee-aa'),
        )
        send(
            client,
            stack,
            calls.participant('participant-connected', second, 'attendee-bb'),
        )
        two = next_state(events, lambda v: v['attendees']['count'] == 2)
        assert two['status'] == 'live'
        assert view(client, pid)['attendees']['count'] == 2

        send(
            client,
            stack,
            calls.participant('participant-disconnected', first, 'attendee-aa'),
        )
        one = next_state(events, lambda v: v['attendees']['count'] == 1)
        assert one['version'] > two['version']
        assert view(client, pid)['attendees']['count'] == 1

        wrong = client.post(f'/api/presentations/{pid}/end', json={'key': 'nope'})
        assert wrong.status_code == 403
        ended = client.post(f'/api/presentations/{pid}/end', json={'key': key})
        assert ended.status_code == 200, ended.text
        assert (
            next_state(events, lambda v: v['status'] == 'ended')['attendees']['count']
            == 0
        )

    assert view(client, pid)['status'] == 'ended'
    assert fake_twilio.rooms[room_sid]['status'] == 'completed'
    assert token(client, pid, role='attendee').status_code == 410


def test_event_stream_resumes_from_last_event_id(stack, client):
    presentation = create_presentation(client)
    pid = presentation['id']
    calls = open_room(client, presentation)
    send(client, stack, calls.event('room-created'))
    current = view(client, pid)['version']
    path = f'/live/presentations/{pid}/events'

    # A client that already has the current version is not sent it again: the
    # first state it gets is the next change.
    with client.stream('GET', path, headers={'Last-Event-ID': str(current)}) as stream:
        events = sse_events(stream)
        sid = participant_sid()
        send(
            client, stack, calls.participant('participant-connected', sid, 'presenter')
        )
        resumed = next_state(events)
        assert resumed['version'] > current
        assert resumed['status'] == 'live'

    # A client that missed changes gets the current view at once.
    with client.stream('GET', path, headers={'Last-Event-ID': str(current)}) as stream:
        caught_up = next_state(sse_events(stream))
        assert caught_up['version'] == resumed['version']
        assert caught_up['status'] == 'live'


def test_forged_callbacks_are_refused_at_the_door(stack, client):
    presentation = create_presentation(client)
    calls = open_room(client, presentation)
    before = view(client, presentation['id'])
    form = calls.participant('participant-connected', participant_sid(), 'presenter')

    wrong_key = post_callback(client, stack.url, 'not-the-auth-token', form)
    assert wrong_key.status_code == 403
    # Signed with the right token but for another URL (a replay from elsewhere).
    elsewhere = post_callback(
        client,
        stack.url,
        AUTH_TOKEN,
        form,
        signed_url='https://evil.test' + WEBHOOK_PATH,
    )
    assert elsewhere.status_code == 403
    unsigned = client.post(WEBHOOK_PATH, data=form)
    assert unsigned.status_code == 403
    assert view(client, presentation['id'])['version'] == before['version']

    genuine = post_callback(client, stack.url, AUTH_TOKEN, form)
    assert genuine.status_code == 204
    assert view(client, presentation['id'])['status'] == 'live'


def test_oversized_bodies_stop_at_nginx(client):
    response = client.post(
        '/api/presentations',
        content=b'{"title": "' + b'x' * 100_000 + b'"}',
        headers={'Content-Type': 'application/json'},
    )
    assert response.status_code == 413


def test_logs_carry_no_query_strings_or_secrets(stack, client):
    presentation = create_presentation(client)
    marker = 'qs-secret-' + secrets.token_hex(8)
    path = f'/live/presentations/missing-{secrets.token_hex(6)}'
    assert client.get(path, params={'key': marker}).status_code == 404
    token_path = f'/api/presentations/{presentation["id"]}/tokens'
    assert client.post(
        token_path, params={'key': marker}, json={'role': 'x'}
    ).status_code
    # Wait until both requests were logged by nginx and by the services, so the
    # absence below means "not logged", not "not logged yet".
    logs = {name: stack.process(name).log_path for name in ('nginx', 'web', 'token')}
    deadline = time.monotonic() + 10
    while True:
        texts = {name: path_.read_text() for name, path_ in logs.items()}
        if (
            path in texts['nginx']
            and path in texts['web']
            and token_path in texts['token']
        ):
            break
        assert time.monotonic() < deadline, 'requests never reached the logs'
        time.sleep(0.05)

    everything = ''.join(p.read_text() for p in stack.run_dir.glob('logs/*.log'))
    assert re.search(re.escape(path) + r'\s', everything)
    assert marker not in everything
    for secret in (
        presentation['presenter_key'],
        TEST_ENV['TWILIO_API_KEY_SECRET'],
        TEST_ENV['TWILIO_AUTH_TOKEN'],
    ):
        assert secret not in everything


def test_a_killed_service_can_be_restarted(stack, client):
    """Fault-injection hook: kill one process by name, then bring it back."""
    presentation = create_presentation(client)
    calls = open_room(client, presentation)
    webhooks = stack.process('webhooks')
    old_pid = webhooks.pid

    webhooks.kill()
    assert not webhooks.alive
    assert stack.dead_child() is None  # a deliberate kill is not a crash
    down = post_callback(client, stack.url, AUTH_TOKEN, calls.event('room-created'))
    assert down.status_code == 502

    webhooks.restart()
    assert webhooks.pid != old_pid
    send(client, stack, calls.event('room-created'))
    assert view(client, presentation['id'])['room']['status'] == 'in-progress'


def process_environment(pid: int) -> dict[str, str]:
    raw = Path(f'/proc/{pid}/environ').read_bytes().split(b'\0')
    return dict(item.decode().partition('=')[::2] for item in raw if b'=' in item)


@pytest.mark.parametrize('service', ['web', 'token', 'webhooks', 'nginx', 'redis'])
def test_each_running_process_holds_only_its_own_secrets(stack, service):
    pid = stack.children[service].pid
    assert pid, f'{service} is not running'
    held = {name for name in SECRET_VARS if process_environment(pid).get(name)}
    assert held == set(SERVICE_SECRETS.get(service, ())) & set(stack.settings)
