"""The presenter's broadcast switch: kept with the presentation, applied to the room."""

from __future__ import annotations

import falcon.testing
import pytest
from twilio.base.exceptions import TwilioRestException

from podium.config import TokenServiceConfig
from podium.store import version_key
from token_service.app import create_app

from .test_token_service import (
    ROOM_SID,
    FakeClock,
    FakeRooms,
    create,
    presenter_token,
    token,
)


@pytest.fixture
def local_config(env) -> TokenServiceConfig:
    return TokenServiceConfig.from_env({**env, 'PODIUM_VIDEO_BACKEND': 'local'})


@pytest.fixture
def local(local_config, store):
    rooms = FakeRooms()
    client = falcon.testing.TestClient(
        create_app(local_config, store=store, rooms=rooms, clock=FakeClock())
    )
    return client, rooms


@pytest.fixture
def client(config, store):
    # The test environment's backend is Twilio.
    return falcon.testing.TestClient(
        create_app(config, store=store, rooms=FakeRooms(), clock=FakeClock())
    )


def put(client, presentation, body, key=None):
    key = key or presentation['presenter_key']
    return client.simulate_put(
        f'/api/presentations/{presentation["id"]}/broadcast',
        json=body,
        headers={'Authorization': f'Presenter {key}'},
    )


def test_broadcast_on_before_the_room_exists_starts_with_the_room(local, store):
    client, rooms = local
    talk = create(client)
    answer = put(client, talk, {'broadcast': True})
    assert answer.status_code == 200, answer.text
    assert answer.json == {'broadcast': True, 'encoder': None}
    assert rooms.named('set_broadcast') == []  # no room yet
    assert store.get_presentation(talk['id'])['broadcast'] == '1'
    # The presenter's token creates the room: it is broadcast from the start.
    assert presenter_token(client, talk).status_code == 200
    assert rooms.named('set_broadcast') == [('set_broadcast', ROOM_SID, True)]


def test_switching_while_live_changes_the_room_and_bumps_the_version(local, store):
    client, rooms = local
    talk = create(client)
    presenter_token(client, talk)
    before = int(store.client.get(version_key(talk['id'])) or 0)
    answer = put(client, talk, {'broadcast': True})
    encoder = {'status': 'live', 'restarts': 0, 'last_error': None}
    assert answer.json['encoder'] == encoder
    assert rooms.named('set_broadcast') == [('set_broadcast', ROOM_SID, True)]
    assert int(store.client.get(version_key(talk['id'])) or 0) > before
    assert put(client, talk, {'broadcast': False}).json == {
        'broadcast': False,
        'encoder': None,
    }
    assert rooms.named('set_broadcast')[-1] == ('set_broadcast', ROOM_SID, False)


def test_a_refused_room_change_keeps_the_stored_choice(local, store):
    client, rooms = local
    talk = create(client)
    presenter_token(client, talk)
    rooms.errors['set_broadcast'] = TwilioRestException(503, 'u', 'busy', 20429)
    answer = put(client, talk, {'broadcast': True})
    assert answer.status_code >= 500 or answer.status_code == 503
    assert store.get_presentation(talk['id']).get('broadcast') is None


def test_only_the_presenter_switches_and_the_body_is_checked(local):
    client, _ = local
    talk = create(client)
    assert put(client, talk, {'broadcast': True}, key='wrong').status_code == 403
    no_key = client.simulate_put(
        f'/api/presentations/{talk["id"]}/broadcast', json={'broadcast': True}
    )
    assert no_key.status_code == 401
    bad = put(client, talk, {'broadcast': 'yes'})
    assert bad.status_code == 400 and 'true or false' in bad.json['description']
    missing = put(client, talk, {})
    assert missing.status_code == 400 and missing.json['title'] == 'Invalid broadcast'


def test_creating_with_broadcast_is_remembered(local, store):
    client, _ = local
    answer = client.simulate_post(
        '/api/presentations', json={'title': 'Big talk', 'broadcast': True}
    )
    assert answer.status_code == 201 and answer.json['broadcast'] is True
    assert store.get_presentation(answer.json['id'])['broadcast'] == '1'
    bad = client.simulate_post(
        '/api/presentations', json={'title': 'x', 'broadcast': 1}
    )
    assert bad.status_code == 400


def test_twilio_backend_says_why_there_is_no_broadcast(client):
    talk = create(client)
    answer = put(client, talk, {'broadcast': True})
    assert answer.status_code == 409
    assert 'local' in answer.json['description']
    assert put(client, talk, {'broadcast': False}).status_code == 200
    created = client.simulate_post(
        '/api/presentations', json={'title': 'x', 'broadcast': True}
    )
    assert created.status_code == 409


def overflow(client, talk, access_token):
    return client.simulate_post(
        f'/api/presentations/{talk["id"]}/broadcast/overflow',
        headers={'Authorization': f'Bearer {access_token}'},
    )


def test_a_full_room_turns_the_broadcast_on_for_whoever_did_not_fit(local, store):
    client, rooms = local
    talk = create(client)
    presenter_token(client, talk)
    attendee = token(client, talk).json['token']
    refused = overflow(client, talk, attendee)
    assert refused.status_code == 409 and refused.json['title'] == 'The room has space'
    assert rooms.named('set_broadcast') == []
    rooms.full = True
    answer = overflow(client, talk, attendee)
    assert answer.status_code == 200 and answer.json['broadcast'] is True
    assert rooms.named('set_broadcast') == [('set_broadcast', ROOM_SID, True)]
    assert store.get_presentation(talk['id'])['broadcast'] == '1'
    # The next one who does not fit finds it on: no more REST calls.
    assert overflow(client, talk, attendee).status_code == 200
    assert len(rooms.named('is_full')) == 2


def test_overflow_needs_a_token_of_this_presentation(local):
    client, rooms = local
    rooms.full = True
    talk, other = create(client), create(client, 'Other')
    presenter_token(client, talk)
    foreign = token(client, other).json['token']
    assert overflow(client, talk, foreign).status_code == 401
    path = f'/api/presentations/{talk["id"]}/broadcast/overflow'
    missing = client.simulate_post(path)
    assert missing.status_code == 401
