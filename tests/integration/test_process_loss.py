"""A service process killed: the others keep serving, it comes back, nothing is lost.

The real stack in local mode. Participants join and leave through local_video's
signalling WebSocket, so their callbacks are local_video's own, retried with
backoff (local_video/callbacks.py) as Twilio retries, while the webhooks service
is down. After every kill the stored state must equal the Rooms API's truth.
"""

from __future__ import annotations

import os
import signal
from collections.abc import Iterator
from pathlib import Path

import httpx
import pytest
from twilio.rest import Client

from launcher import Ports, Stack, StackError
from podium.store import Store
from tests.integration.conftest import HTTP_TIMEOUT, SMALL_STACK
from tests.integration.test_redis_loss import JOIN_WAIT, join, view_shows, wait_until

pytestmark = [pytest.mark.integration, pytest.mark.timeout(60)]

# local_video retries a callback after 0.5, 1, 2, 4, 8 and 15 s: a webhooks
# restart of a few seconds is covered by the attempt at 7.5 s or 15.5 s.
DELIVERY_WAIT = 20.0


@pytest.fixture(scope='module')
def local_stack(tmp_path_factory) -> Iterator[Stack]:
    ports = Ports.free()
    env = {
        **SMALL_STACK,
        # Two workers, so one can be killed while the other serves.
        'PODIUM_TOKEN_WORKERS': '2',
        'PODIUM_WEBHOOKS_WORKERS': '2',
        'PODIUM_PUBLIC_URL': f'http://127.0.0.1:{ports.http}',
    }
    running = Stack(env, tmp_path_factory.mktemp('process-loss'), ports)
    try:
        running.start()
    except StackError as ex:
        pytest.fail(f'the local stack did not start: {ex}')
    try:
        yield running
    finally:
        running.stop()


@pytest.fixture
def client(local_stack) -> Iterator[httpx.Client]:
    with httpx.Client(base_url=local_stack.url, timeout=HTTP_TIMEOUT) as http:
        yield http


def create(client: httpx.Client) -> tuple[str, str]:
    created = client.post('/api/presentations', json={'title': 'Resilient'})
    assert created.status_code == 201, created.text
    return created.json()['id'], created.json()['presenter_key']


def rooms_api(stack: Stack) -> Client:
    settings = stack.settings
    api = Client(
        settings['TWILIO_API_KEY_SID'],
        settings['TWILIO_API_KEY_SECRET'],
        settings['TWILIO_ACCOUNT_SID'],
    )
    api.video.base_url = settings['PODIUM_VIDEO_API_URL']
    return api


def assert_matches_the_rooms_api(client, stack, pid) -> None:
    """The stored view agrees with local_video's own record of the room."""
    view = client.get(f'/live/presentations/{pid}').json()
    people = (
        rooms_api(stack)
        .video.v1.rooms(view['room']['sid'])
        .participants.list(status='connected')
    )
    identities = [p.identity for p in people]
    assert view['attendees']['count'] == sum(
        i.startswith('attendee-') for i in identities
    )
    assert view['presenter']['connected'] is ('presenter' in identities)


def stored_matches_the_rooms_api(client, stack, pid) -> bool:
    """Whether the stored connected participants are the ones local_video lists."""
    view = client.get(f'/live/presentations/{pid}').json()
    sid = view['room']['sid']
    listed = rooms_api(stack).video.v1.rooms(sid).participants.list(status='connected')
    store = Store.from_url(stack.settings['PODIUM_REDIS_URL'])
    try:
        stored = store.connected_participants(sid)
    finally:
        store.client.close()
    return {p.sid for p in listed} == {r['sid'] for r in stored}


def workers(master: int) -> set[int]:
    """Return the pids of a gunicorn master's workers."""
    children = Path(f'/proc/{master}/task/{master}/children').read_text()
    return {int(pid) for pid in children.split()}


def others_serve(client: httpx.Client, killed: str) -> None:
    checks = {
        'token': '/api/healthz',
        'webhooks': '/webhooks/healthz',
        'web': '/live/healthz',
    }
    for name, path in checks.items():
        if name != killed:
            response = client.get(path)
            assert response.status_code == 200, (name, response.text)


@pytest.mark.parametrize('name', ['token', 'web'])
def test_a_killed_service_leaves_the_others_serving(local_stack, client, name):
    pid, key = create(client)
    presenter = join(client, local_stack, pid, role='presenter', key=key)
    wait_until(lambda: view_shows(client, pid, 0), JOIN_WAIT, 'the presenter')

    local_stack.process(name).kill()
    others_serve(client, name)
    if name == 'token':
        assert client.post('/api/presentations', json={'title': 'x'}).status_code in (
            502,
            503,
            504,
        )
        # Pages keep showing the live state.
        assert view_shows(client, pid, 0)
    else:
        assert client.get(f'/live/presentations/{pid}').status_code in (502, 503, 504)
        # People can still join; their callbacks are stored for when pages return.
        attendee = join(client, local_stack, pid, role='attendee')

    local_stack.process(name).restart()
    assert local_stack.dead_child() is None
    others_serve(client, '')
    if name == 'web':
        wait_until(lambda: view_shows(client, pid, 1), JOIN_WAIT, 'the new attendee')
        attendee.close()
    else:
        assert create(client)
    assert_matches_the_rooms_api(client, local_stack, pid)
    presenter.close()


def test_no_callback_is_lost_while_webhooks_is_down(local_stack, client):
    pid, key = create(client)
    presenter = join(client, local_stack, pid, role='presenter', key=key)
    first = join(client, local_stack, pid, role='attendee')
    wait_until(lambda: view_shows(client, pid, 1), JOIN_WAIT, 'the first attendee')

    local_stack.process('webhooks').kill()
    others_serve(client, 'webhooks')
    # Joins and leaves while nobody receives callbacks: local_video retries them.
    joined = [join(client, local_stack, pid, role='attendee') for _ in range(3)]
    joined[0].leave()
    first.leave()
    assert view_shows(client, pid, 1), 'the stored state moved without webhooks?'

    local_stack.process('webhooks').restart()

    # Exactly two attendees remain: every join and every leave arrived, once.
    # The retried callbacks are applied concurrently and in any order, so a
    # count of 2 can pass by on the way; wait for the very attendees the Rooms
    # API lists.
    wait_until(
        lambda: (
            view_shows(client, pid, 2)
            and stored_matches_the_rooms_api(client, local_stack, pid)
        ),
        DELIVERY_WAIT,
        'the retried callbacks',
    )
    assert_matches_the_rooms_api(client, local_stack, pid)
    for item in (*joined[1:], presenter):
        item.close()


@pytest.mark.parametrize('name', ['token', 'webhooks', 'web'])
def test_a_killed_worker_is_replaced(local_stack, client, name):
    master = local_stack.process(name).pid
    before = workers(master)
    victim = min(before)

    os.kill(victim, signal.SIGKILL)

    replaced = wait_until(
        lambda: (
            (now := workers(master)) and victim not in now and len(now) == len(before)
        ),
        10.0,
        f'gunicorn replacing the {name} worker',
    )
    assert replaced
    assert local_stack.process(name).alive  # the master itself carried on
    others_serve(client, '')
    # And it does real work again, through nginx.
    pid, key = create(client)
    presenter = join(client, local_stack, pid, role='presenter', key=key)
    wait_until(lambda: view_shows(client, pid, 0), JOIN_WAIT, 'the presenter')
    presenter.close()
