"""The local server's real callback stream, under concurrent joins and leaves,
converges in the webhooks service whatever the order and however often each
callback arrives.

The callbacks are captured exactly as local_video sent them (body and
signature) and replayed into the webhooks app: in order, then shuffled with
duplicates. Every replay must give the same stored state, which must match what
the Rooms API says.
"""

from __future__ import annotations

from concurrent.futures import ThreadPoolExecutor
from urllib.parse import urlencode

import fakeredis
import falcon.testing
import pytest
from hypothesis import HealthCheck, given, settings
from hypothesis import strategies as st

from podium.config import WebhooksConfig
from podium.store import Store
from tests.conftest import TEST_ENV
from tests.local_video.helpers import Signal, make_token
from webhooks.app import create_app

PRESENTATION = 'load1'
ROOM = 'podium-' + PRESENTATION
ATTENDEES = 29
LEAVING = 12


@pytest.fixture
def captured(twilio, rest_server, lv_config, sink):
    """Join a presenter and attendees at once, let some leave; return the callbacks."""
    _, url = rest_server
    room = twilio.video.v1.rooms.create(unique_name=ROOM, status_callback=sink.url)
    identities = ['presenter'] + [f'attendee-{n:02d}' for n in range(ATTENDEES)]

    def join(identity):
        return Signal(url, make_token(lv_config, identity, ROOM))

    with ThreadPoolExecutor(max_workers=16) as pool:
        signals = list(pool.map(join, identities))
        list(pool.map(lambda s: s.leave(), signals[1 : 1 + LEAVING]))
    expected = 1 + len(identities) + LEAVING
    callbacks = [sink.next(timeout=15) for _ in range(expected)]
    connected = twilio.video.v1.rooms(room.sid).participants.list(status='connected')
    for signal in signals[1 + LEAVING :]:
        signal.close()
    return room.sid, callbacks, len(connected)


def replay(callbacks: list[dict], room_sid: str, origin: str) -> tuple[dict, dict]:
    """Post the captured callbacks to a fresh webhooks app; return view and state."""
    store = Store(
        fakeredis.FakeRedis(server=fakeredis.FakeServer(), decode_responses=True)
    )
    store.create_presentation(
        {'id': PRESENTATION, 'title': 'Load', 'room_name': ROOM, 'created_at': '0'}
    )
    store.set_room(PRESENTATION, room_sid, 0)
    client = falcon.testing.TestClient(create_app(webhooks_config(origin), store=store))
    for item in callbacks:
        result = client.simulate_post(
            '/webhooks/room-events',
            body=urlencode(item['params']),
            headers={
                'Content-Type': 'application/x-www-form-urlencoded',
                'X-Twilio-Signature': item['signature'],
            },
        )
        assert result.status_code == 204, result.text
    view = store.read_view(PRESENTATION)
    view.pop('version')
    state = {
        key: store.client.get(key) if store.client.type(key) == 'string'
        else sorted(store.client.smembers(key))
        for key in store.client.keys('podium:room:*')
    }  # fmt: skip
    return view, state


def webhooks_config(origin: str) -> WebhooksConfig:
    """Return the webhooks config whose public URL is where local_video posted."""
    return WebhooksConfig.from_env({**TEST_ENV, 'PODIUM_PUBLIC_URL': origin})


def test_the_real_stream_converges_under_any_order_and_duplicates(captured, sink):
    room_sid, callbacks, connected_per_api = captured
    origin = f'http://127.0.0.1:{sink.port}'  # the URL local_video signed for
    in_order, state = replay(callbacks, room_sid, origin)
    assert in_order['presenter']['connected'] is True
    assert in_order['attendees']['count'] == ATTENDEES - LEAVING
    assert connected_per_api == 1 + ATTENDEES - LEAVING

    @settings(
        max_examples=20,
        deadline=None,
        suppress_health_check=[HealthCheck.function_scoped_fixture],
    )
    @given(
        order=st.permutations(range(len(callbacks))),
        extra=st.lists(st.integers(0, len(callbacks) - 1), max_size=len(callbacks)),
    )
    def any_order(order, extra):
        shuffled = [callbacks[i] for i in order + extra]
        assert replay(shuffled, room_sid, origin) == (in_order, state)

    any_order()
