"""Any order, any duplicates: the stored state converges to the in-order result.

Twilio promises neither ordering nor exactly-once delivery of room status
callbacks. These properties generate a realistic callback log for one
presentation, deliver a shuffled copy with duplicates, and require the same
stored records and the same view (its `version` counts changes, so it may differ).
"""

from __future__ import annotations

from datetime import UTC, datetime
from urllib.parse import urlencode

import fakeredis
from falcon import testing
from hypothesis import HealthCheck, given, settings
from hypothesis import strategies as st

from podium.config import WebhooksConfig
from podium.room_state import RoomEvent
from podium.store import Store
from tests.conftest import TEST_ENV
from tests.unit.test_publish_guard import FakeRoomsClient
from tests.unit.test_signatures import twilio_signature
from webhooks.app import create_app

PRESENTATION = 'conv'
ROOM = 'RM' + 'c' * 32
START_MS = 1_714_564_800_000
TRACKS = (('camera', 'video'), ('mic', 'audio'), ('screen', 'video'))


def _room_event(name: str) -> dict:
    return {'name': name}


@st.composite
def participant_script(draw, sid: str, identity: str) -> list[dict]:
    """Return one participant's events in the order they happen."""
    who = {'participant_sid': sid, 'identity': identity}
    script = [{'name': 'participant-connected', **who}]
    # Attendees in Podium publish nothing, but the merges must not care.
    count = draw(st.integers(0, 3 if identity == 'presenter' else 1))
    for index, (track_name, kind) in enumerate(draw(st.permutations(TRACKS))[:count]):
        track = {
            **who,
            'track_sid': f'MT{sid[2:]}{index}',
            'track_kind': kind,
            'track_name': track_name,
        }
        script.append({'name': 'track-added', **track})
        enabled = True
        for _ in range(draw(st.integers(0, 3))):
            enabled = not enabled
            script.append(
                {'name': 'track-enabled' if enabled else 'track-disabled', **track}
            )
        if draw(st.booleans()):
            script.append({'name': 'track-removed', **track})
    if draw(st.booleans()):
        script.append({'name': 'participant-disconnected', **who})
    return script


@st.composite
def callback_logs(draw) -> list[RoomEvent]:
    """Return a plausible callback log with strictly increasing Timestamps."""
    people = [('PA' + '0' * 32, 'presenter')]
    if draw(st.booleans()):  # the presenter reloaded the page: a second connection
        people.append(('PA' + '9' * 32, 'presenter'))
    attendees = draw(st.integers(1, 4))
    people += [(f'PA{i:032x}', f'attendee-{i:08x}') for i in range(1, attendees + 1)]
    scripts = [draw(participant_script(sid, identity)) for sid, identity in people]
    # Interleave the scripts, keeping each participant's own order.
    turns = draw(st.permutations([i for i, s in enumerate(scripts) for _ in s]))
    positions = [0] * len(scripts)
    steps = [_room_event('room-created')]
    for who in turns:
        steps.append(scripts[who][positions[who]])
        positions[who] += 1
    if draw(st.booleans()):
        # Twilio disconnects everyone still in the room before it reports the end.
        for script in scripts:
            if script[-1]['name'] != 'participant-disconnected':
                steps.append({**script[0], 'name': 'participant-disconnected'})
        steps.append(_room_event('room-ended'))
    gaps = draw(
        st.lists(st.integers(1, 5000), min_size=len(steps), max_size=len(steps))
    )
    log, now = [], START_MS
    for step, gap in zip(steps, gaps, strict=True):
        now += gap
        log.append(
            RoomEvent(
                room_sid=ROOM, room_name='podium-' + PRESENTATION, timestamp=now, **step
            )
        )
    return log


@st.composite
def deliveries(
    draw, max_duplicates: int = 8
) -> tuple[list[RoomEvent], list[RoomEvent]]:
    """Return (log, what arrives): the log shuffled, some callbacks sent again."""
    log = draw(callback_logs())
    again = draw(st.lists(st.sampled_from(log), max_size=max_duplicates))
    return log, draw(st.permutations(log + again))


def fresh_store() -> Store:
    store = Store(
        fakeredis.FakeRedis(server=fakeredis.FakeServer(), decode_responses=True)
    )
    store.create_presentation({'id': PRESENTATION, 'title': 'Convergence'})
    store.set_room(PRESENTATION, ROOM, 0)
    return store


def stored_state(store: Store) -> dict:
    """Return every room-state key and its value (records, indexes)."""
    client = store.client
    state = {}
    for key in client.keys('podium:room:*'):
        kind = client.type(key)
        state[key] = (
            client.get(key) if kind == 'string' else sorted(client.smembers(key))
        )
    return state


def view_without_version(store: Store) -> dict:
    view = store.read_view(PRESENTATION)
    del view['version']
    return view


def in_order(log: list[RoomEvent]) -> Store:
    store = fresh_store()
    for event in log:
        store.apply_event(event)
    return store


@settings(
    max_examples=60,
    deadline=None,
    suppress_health_check=[HealthCheck.too_slow, HealthCheck.data_too_large],
)
@given(deliveries())
def test_store_converges_whatever_the_delivery_order(delivery):
    log, arrived = delivery
    expected = in_order(log)
    store = fresh_store()
    for event in arrived:
        store.apply_event(event)
    assert stored_state(store) == stored_state(expected)
    assert view_without_version(store) == view_without_version(expected)


def form_of(event: RoomEvent) -> dict[str, str]:
    """Return the callback form Twilio would send for `event`."""
    moment = datetime.fromtimestamp(event.timestamp / 1000, UTC)
    form = {
        'AccountSid': TEST_ENV['TWILIO_ACCOUNT_SID'],
        'RoomSid': event.room_sid,
        'RoomName': event.room_name,
        'RoomType': 'group',
        'StatusCallbackEvent': event.name,
        'Timestamp': moment.isoformat(timespec='milliseconds').replace('+00:00', 'Z'),
        'SequenceNumber': '0',
    }
    if event.participant_sid:
        form |= {
            'ParticipantSid': event.participant_sid,
            'ParticipantIdentity': event.identity,
        }
    if event.track_sid:
        form |= {
            'TrackSid': event.track_sid,
            'TrackKind': event.track_kind,
            'TrackName': event.track_name,
        }
    return form


@settings(
    max_examples=15,
    deadline=None,
    suppress_health_check=[HealthCheck.too_slow, HealthCheck.data_too_large],
)
@given(deliveries(max_duplicates=4))
def test_http_endpoint_converges_whatever_the_delivery_order(delivery):
    log, arrived = delivery
    config = WebhooksConfig.from_env(TEST_ENV)
    store = fresh_store()
    # Attendees' track-added callbacks make the app remove them: not over the network.
    rooms_client = FakeRoomsClient()
    client = testing.TestClient(
        create_app(config, store=store, client_factory=lambda config: rooms_client)
    )
    for event in arrived:
        form = form_of(event)
        signature = twilio_signature(
            config.auth_token, config.status_callback_url, form
        )
        result = client.simulate_post(
            '/webhooks/room-events',
            body=urlencode(form),
            headers={
                'Content-Type': 'application/x-www-form-urlencoded',
                'X-Twilio-Signature': signature,
            },
        )
        assert result.status_code == 204, result.text
    expected = in_order(log)
    assert stored_state(store) == stored_state(expected)
    assert view_without_version(store) == view_without_version(expected)
