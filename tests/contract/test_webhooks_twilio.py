"""The webhooks service removes participants who may not publish, as Twilio documents.

The app runs with its real twilio-python client (the one the rebuild uses),
pointed at tests/fake_twilio.py through PODIUM_VIDEO_API_URL; the assertions are
on the HTTP requests that reach the fake.
"""

from __future__ import annotations

import falcon.testing
import pytest

from podium.config import WebhooksConfig
from podium.video_api import video_client
from tests.fake_twilio import FakeTwilio
from tests.unit.test_webhooks import callback, participant, send, track
from webhooks.app import create_app

PRESENTATION = 'abc'  # what tests.unit.test_webhooks.callback's RoomName names


@pytest.fixture
def fake(env):
    with FakeTwilio(
        env['TWILIO_ACCOUNT_SID'],
        env['TWILIO_API_KEY_SID'],
        env['TWILIO_API_KEY_SECRET'],
    ) as server:
        yield server


@pytest.fixture
def twilio_config(env, fake) -> WebhooksConfig:
    return WebhooksConfig.from_env({**env, 'PODIUM_VIDEO_API_URL': fake.url})


@pytest.fixture
def room_sid(twilio_config, store) -> str:
    room = video_client(twilio_config).video.v1.rooms.create(
        unique_name=f'podium-{PRESENTATION}'
    )
    store.create_presentation({'id': PRESENTATION, 'title': 'Talk'})
    store.set_room(PRESENTATION, room.sid, 0)
    return room.sid


@pytest.fixture
def client(twilio_config, store, room_sid, fake):
    fake.clear_requests()
    return falcon.testing.TestClient(create_app(twilio_config, store=store))


def published(room_sid: str, sid: str, identity: str, kind: str = 'video') -> dict:
    return callback(
        'track-added',
        2,
        RoomSid=room_sid,
        **participant(sid, identity),
        **track(sid='MT' + kind, kind=kind),
    )


def kicks(fake, room_sid: str):
    return fake.requests_to('POST', rf'/v1/Rooms/{room_sid}/Participants/PA\w+')


def test_an_attendee_publishing_is_removed_once(client, fake, room_sid, twilio_config):
    sid = fake.connect_participant(room_sid, 'attendee-1')

    assert send(client, published(room_sid, sid, 'attendee-1')).status_code == 204

    (kick,) = kicks(fake, room_sid)
    assert kick.path == f'/v1/Rooms/{room_sid}/Participants/{sid}'
    assert kick.form == {'Status': ['disconnected']}
    assert kick.headers['content-type'] == 'application/x-www-form-urlencoded'
    room = video_client(twilio_config).video.v1.rooms(room_sid)
    assert room.participants(sid).fetch().status == 'disconnected'


def test_duplicates_and_other_tracks_kick_no_more(client, fake, room_sid):
    sid = fake.connect_participant(room_sid, 'attendee-1')
    form = published(room_sid, sid, 'attendee-1')

    for event in (form, form, published(room_sid, sid, 'attendee-1', 'audio')):
        assert send(client, event).status_code == 204

    assert len(kicks(fake, room_sid)) == 1


def test_a_failed_kick_is_retried_by_the_next_callback(client, fake, room_sid):
    sid = fake.connect_participant(room_sid, 'attendee-1')
    path = f'/v1/Rooms/{room_sid}/Participants/{sid}'
    fake.fail_next('POST', path, 500, 20500, 'Internal error')
    form = published(room_sid, sid, 'attendee-1')

    assert send(client, form).status_code == 204  # merged, answered, not kicked
    assert send(client, form).status_code == 204

    assert len(kicks(fake, room_sid)) == 2
    assert fake.requests[-1].form == {'Status': ['disconnected']}


def test_the_presenter_publishing_is_left_alone(client, fake, room_sid):
    sid = fake.connect_participant(room_sid, 'presenter')

    assert send(client, published(room_sid, sid, 'presenter')).status_code == 204

    assert fake.requests == []
