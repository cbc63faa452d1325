"""The room status callback endpoint, end to end over fakeredis."""

from __future__ import annotations

import importlib
import json
import logging
import sys
from urllib.parse import urlencode

import fakeredis
import falcon
import falcon.asgi
import pytest
from falcon import testing

from podium.config import ConfigError
from podium.store import CHANGES_CHANNEL, AsyncRoomState, Store
from tests.unit.test_signatures import twilio_signature
from webhooks.app import create_app


@pytest.fixture
def config(webhooks_config):
    """This module's service config stands in for the token service's."""
    return webhooks_config


TOKEN = 'test-auth-token-not-real'
URL = 'http://podium.test/webhooks/room-events'
PRESENTATION = 'abc'
ROOM = 'RM' + 'a' * 32
PRESENTER = 'PA' + '1' * 32
ATTENDEE = 'PA' + '2' * 32
TRACK = 'MT' + '3' * 32


def callback(event: str, second: int = 0, **fields: str) -> dict[str, str]:
    """Return the form of a callback in the presentation's room, like Twilio sends."""
    form = {
        'AccountSid': 'AC' + '0' * 32,
        'RoomName': 'podium-' + PRESENTATION,
        'RoomSid': ROOM,
        'RoomStatus': 'completed' if event == 'room-ended' else 'in-progress',
        'RoomType': 'group',
        'StatusCallbackEvent': event,
        'Timestamp': f'2024-05-01T12:{second // 60:02d}:{second % 60:02d}.000Z',
        'SequenceNumber': '1',
    }
    form.update(fields)
    return form


def participant(sid: str, identity: str) -> dict[str, str]:
    return {'ParticipantSid': sid, 'ParticipantIdentity': identity}


def track(
    sid: str = TRACK, kind: str = 'video', name: str = 'screen'
) -> dict[str, str]:
    return {'TrackSid': sid, 'TrackKind': kind, 'TrackName': name}


def send(client: testing.TestClient, form: dict[str, str], **kwargs):
    """POST a form signed for the configured public URL."""
    body = kwargs.pop('body', None) or urlencode(form)
    headers = {
        'Content-Type': 'application/x-www-form-urlencoded',
        'X-Twilio-Signature': twilio_signature(TOKEN, URL, form),
        **kwargs.pop('headers', {}),
    }
    return client.simulate_post('/webhooks/room-events', body=body, headers=headers)


def seed(store: Store) -> None:
    store.create_presentation({'id': PRESENTATION, 'title': 'Talk'})
    store.set_room(PRESENTATION, ROOM, 0)


@pytest.fixture
def client(config, store, async_room_state) -> testing.TestClient:
    """The app as deployed: callbacks merged through redis.asyncio (fakeredis's)."""
    seed(store)
    return testing.TestClient(
        create_app(config, store=store, room_state=async_room_state)
    )


def view(store: Store) -> dict:
    return store.read_view(PRESENTATION)


def test_presenter_connecting_makes_the_presentation_live(client, store):
    assert view(store)['status'] == 'waiting'
    result = send(
        client,
        callback('participant-connected', 1, **participant(PRESENTER, 'presenter')),
    )
    assert result.status_code == 204
    assert result.text == ''
    assert view(store)['status'] == 'live'
    assert view(store)['presenter'] == {'connected': True, 'tracks': []}


def test_tracks_appear_and_change(client, store):
    send(
        client,
        callback('participant-connected', 1, **participant(PRESENTER, 'presenter')),
    )
    send(
        client,
        callback('track-added', 2, **participant(PRESENTER, 'presenter'), **track()),
    )
    assert view(store)['presenter']['tracks'] == [
        {'sid': TRACK, 'kind': 'video', 'name': 'screen', 'enabled': True}
    ]
    send(
        client,
        callback('track-disabled', 3, **participant(PRESENTER, 'presenter'), **track()),
    )
    assert view(store)['presenter']['tracks'][0]['enabled'] is False
    send(
        client,
        callback('track-removed', 4, **participant(PRESENTER, 'presenter'), **track()),
    )
    assert view(store)['presenter']['tracks'] == []


def test_attendees_are_counted(client, store):
    attendee = participant(ATTENDEE, 'attendee-00ff')
    assert (
        send(client, callback('participant-connected', 1, **attendee)).status_code
        == 204
    )
    assert view(store)['attendees']['count'] == 1
    assert (
        send(client, callback('participant-disconnected', 5, **attendee)).status_code
        == 204
    )
    assert view(store)['attendees']['count'] == 0


def test_room_ended_closes_the_room(client, store):
    send(
        client,
        callback('participant-connected', 1, **participant(ATTENDEE, 'attendee-1')),
    )
    send(
        client,
        callback('participant-connected', 1, **participant(PRESENTER, 'presenter')),
    )
    assert send(client, callback('room-ended', 9)).status_code == 204
    state = view(store)
    assert state['room']['status'] == 'completed'
    assert state['attendees']['count'] == 0
    assert state['presenter']['connected'] is False


def test_duplicate_delivery_changes_nothing(client, store):
    form = callback('participant-connected', 1, **participant(ATTENDEE, 'attendee-1'))
    send(client, form)
    version = view(store)['version']
    assert send(client, form).status_code == 204
    assert view(store)['version'] == version
    assert view(store)['attendees']['count'] == 1


def test_change_is_published(client, store):
    pubsub = store.client.pubsub()
    pubsub.subscribe(CHANGES_CHANNEL)
    assert pubsub.get_message(timeout=1)['type'] == 'subscribe'
    send(
        client,
        callback('participant-connected', 1, **participant(ATTENDEE, 'attendee-1')),
    )
    message = pubsub.get_message(timeout=1)
    assert message is not None
    assert message['type'] == 'message'
    assert message['data'] == PRESENTATION
    pubsub.close()


@pytest.mark.parametrize(
    ('form', 'mentions'),
    [
        (
            {k: v for k, v in callback('room-created').items() if k != 'RoomSid'},
            'RoomSid',
        ),
        (
            {k: v for k, v in callback('room-created').items() if k != 'RoomName'},
            'RoomName',
        ),
        (
            {k: v for k, v in callback('room-created').items() if k != 'Timestamp'},
            'Timestamp',
        ),
        (callback('room-created', Timestamp='yesterday'), 'Timestamp'),
        (callback('room-created', Timestamp=''), 'Timestamp'),
        (callback('participant-connected'), 'ParticipantSid'),
        (
            callback('participant-connected', ParticipantSid=ATTENDEE),
            'ParticipantIdentity',
        ),
        (
            callback(
                'track-added', **participant(PRESENTER, 'presenter'), TrackKind='video'
            ),
            'TrackSid',
        ),
        (
            callback(
                'track-added',
                **participant(PRESENTER, 'presenter'),
                **track(kind='smell'),
            ),
            'TrackKind',
        ),
        (
            callback(
                'track-added', **participant(PRESENTER, 'presenter'), TrackSid=TRACK
            ),
            'TrackKind',
        ),
        (
            {
                k: v
                for k, v in callback('room-created').items()
                if k != 'StatusCallbackEvent'
            },
            'StatusCallbackEvent',
        ),
        (callback('room-created', RoomSid='x' * 300), 'RoomSid'),
    ],
    ids=[
        'no-room-sid',
        'no-room-name',
        'no-timestamp',
        'bad-timestamp',
        'empty-timestamp',
        'no-participant-sid',
        'no-identity',
        'no-track-sid',
        'bad-track-kind',
        'no-track-kind',
        'no-event',
        'long-field',
    ],
)
def test_malformed_callback_is_a_400(client, store, form, mentions):
    version = view(store)['version']
    result = send(client, form)
    assert result.status_code == 400
    assert result.json['title'] == 'Invalid room status callback'
    assert mentions in result.json['description']
    assert view(store)['version'] == version


def test_repeated_field_is_a_400(client, store):
    form = callback('participant-connected', 1, **participant(ATTENDEE, 'attendee-1'))
    pairs = [*form.items(), ('ParticipantSid', PRESENTER)]
    result = client.simulate_post(
        '/webhooks/room-events',
        body=urlencode(pairs),
        headers={
            'Content-Type': 'application/x-www-form-urlencoded',
            'X-Twilio-Signature': twilio_signature(TOKEN, URL, pairs),
        },
    )
    assert result.status_code == 400
    assert result.json['title'] == 'Repeated form field'
    assert 'ParticipantSid' in result.json['description']
    assert view(store)['attendees']['count'] == 0


def test_body_that_is_not_utf8_is_a_400(client):
    result = client.simulate_post(
        '/webhooks/room-events',
        body=b'RoomName=podium-%FF\xff',
        headers={
            'Content-Type': 'application/x-www-form-urlencoded',
            'X-Twilio-Signature': 'x',
        },
    )
    assert result.status_code == 400


@pytest.mark.parametrize(
    'content_type',
    ['application/json', 'text/plain', 'multipart/form-data; boundary=x', None],
)
def test_other_media_types_are_a_415(client, store, content_type):
    form = callback('participant-connected', 1, **participant(ATTENDEE, 'attendee-1'))
    headers = {'X-Twilio-Signature': twilio_signature(TOKEN, URL, form)}
    if content_type:
        headers['Content-Type'] = content_type
    result = client.simulate_post(
        '/webhooks/room-events', body=json.dumps(form), headers=headers
    )
    assert result.status_code == 415
    assert view(store)['attendees']['count'] == 0


def test_charset_parameter_is_accepted(client, store):
    form = callback('participant-connected', 1, **participant(ATTENDEE, 'attendee-1'))
    headers = {'Content-Type': 'application/x-www-form-urlencoded; charset=utf-8'}
    assert send(client, form, headers=headers).status_code == 204
    assert view(store)['attendees']['count'] == 1


def test_large_body_is_a_413(client, store):
    form = callback('participant-connected', 1, **participant(ATTENDEE, 'attendee-1'))
    form['Padding'] = 'x' * (64 * 1024)
    result = send(client, form)
    assert result.status_code == 413
    assert view(store)['attendees']['count'] == 0


def test_body_limit_is_exact(config, store):
    seed(store)
    form = callback('participant-connected', 1, **participant(ATTENDEE, 'attendee-1'))
    size = len(urlencode(form).encode())
    at_limit = testing.TestClient(create_app(config, store=store, max_body=size))
    assert send(at_limit, form).status_code == 204
    below = testing.TestClient(create_app(config, store=store, max_body=size - 1))
    assert send(below, form).status_code == 413


@pytest.mark.parametrize(
    'form',
    [
        callback('something-new', 1),
        {'StatusCallbackEvent': 'something-new'},
        callback(
            'participant-connected',
            1,
            RoomName='someone-else',
            **participant(ATTENDEE, 'attendee-1'),
        ),
        callback('room-ended', 1, RoomName='podium-'),
    ],
    ids=[
        'future-event',
        'future-event-other-fields',
        'foreign-room',
        'bare-prefix',
    ],
)
def test_events_we_do_not_track_are_acknowledged_and_ignored(client, store, form):
    before = view(store)
    result = send(client, form)
    assert result.status_code == 204
    assert view(store) == before
    assert store.client.keys('podium:room:*') == []


def test_recording_and_composition_callbacks_are_merged(client, store):
    recording = {
        'RecordingSid': 'RT' + '4' * 32,
        'TrackName': 'screen',
        'Type': 'video',
    }
    composition = {'CompositionSid': 'CJ' + '5' * 32}
    room_created = callback('room-created', 0)
    assert send(client, room_created).status_code == 204
    finished = callback(
        'recording-completed', 30, Duration='29', Size='900', **recording
    )
    # Out of order: the end first, then its start, then a duplicate.
    for form in (finished, callback('recording-started', 1, **recording), finished):
        assert send(client, form).status_code == 204
    # Composition callbacks carry no RoomName: the room's record names it.
    for event, extra in (
        ('composition-progress', {'PercentageDone': '50'}),
        ('composition-started', {}),
        ('composition-available', {'Duration': '29', 'Size': '5000'}),
    ):
        form = callback(event, 60, **composition, **extra)
        del form['RoomName']
        assert send(client, form).status_code == 204
    records = {r['sid']: r for r in store.media_records(PRESENTATION)}
    assert records[recording['RecordingSid']]['status'] == 'completed'
    assert records[recording['RecordingSid']]['duration'] == 29
    assert records[composition['CompositionSid']]['status'] == 'available'
    assert records[composition['CompositionSid']]['percent'] == 100
    bad = callback('composition-progress', 61, PercentageDone='x', **composition)
    assert send(client, bad).status_code == 400


def test_each_callback_is_logged_once_without_secrets(client, caplog):
    caplog.set_level(logging.INFO)
    form = callback('participant-connected', 1, **participant(ATTENDEE, 'attendee-1'))
    send(client, form)
    lines = [r.getMessage() for r in caplog.records if r.name.startswith('webhooks')]
    assert len(lines) == 1
    assert 'participant-connected' in lines[0]
    assert ROOM in lines[0]
    assert ATTENDEE in lines[0]
    assert TOKEN not in caplog.text
    assert twilio_signature(TOKEN, URL, form) not in caplog.text


def test_get_is_not_allowed(client):
    assert client.simulate_get('/webhooks/room-events').status_code == 405


def test_healthz(client):
    result = client.simulate_get('/webhooks/healthz')
    assert result.status_code == 200
    assert result.json == {'status': 'ok'}


@pytest.fixture
def broken_client(config) -> testing.TestClient:
    server = fakeredis.FakeServer()
    server.connected = False  # every command now fails with ConnectionError
    store = Store(fakeredis.FakeRedis(server=server, decode_responses=True))
    return testing.TestClient(create_app(config, store=store))


def test_healthz_without_redis_is_a_503(broken_client):
    result = broken_client.simulate_get('/webhooks/healthz')
    assert result.status_code == 503
    assert result.json['title'] == 'Redis unavailable'


def test_callback_without_redis_is_a_503_so_twilio_retries(broken_client):
    form = callback('participant-connected', 1, **participant(ATTENDEE, 'attendee-1'))
    result = send(broken_client, form)
    assert result.status_code == 503
    assert result.json['title'] == 'Storage unavailable'


def test_create_app_reads_the_environment_when_not_given_a_config(
    env, store, monkeypatch
):
    for name, value in env.items():
        monkeypatch.setenv(name, value)
    monkeypatch.setenv('TWILIO_AUTH_TOKEN', 'token-from-the-environment')
    seed(store)
    client = testing.TestClient(create_app(store=store))
    form = callback('participant-connected', 1, **participant(ATTENDEE, 'attendee-1'))
    signature = twilio_signature('token-from-the-environment', URL, form)
    result = send(client, form, headers={'X-Twilio-Signature': signature})
    assert result.status_code == 204


def test_create_app_refuses_to_start_without_the_auth_token(env, store, monkeypatch):
    for name, value in env.items():
        monkeypatch.setenv(name, value)
    monkeypatch.delenv('TWILIO_AUTH_TOKEN')
    with pytest.raises(ConfigError, match='TWILIO_AUTH_TOKEN'):
        create_app(store=store)


def test_asgi_module_builds_the_app(env, monkeypatch):
    for name, value in env.items():
        monkeypatch.setenv(name, value)
    monkeypatch.delitem(sys.modules, 'webhooks.asgi', raising=False)
    module = importlib.import_module('webhooks.asgi')
    assert isinstance(module.app, falcon.asgi.App)
    assert isinstance(module.app.room_state, AsyncRoomState)
