"""Recording Rules and Compositions: the token service's calls against the fake Twilio.

The fake's answers are checked against Twilio's published schemas, through the
real twilio-python client, like the Rooms calls in test_fake_twilio.py.
"""

from __future__ import annotations

from types import SimpleNamespace

import pytest
import requests
from twilio.base.exceptions import TwilioRestException
from twilio.rest import Client

from tests.conftest import TEST_ENV
from tests.contract import openapi_schemas
from tests.fake_twilio import FakeTwilio
from token_service.rooms import (
    COMPOSITION_AUDIO,
    COMPOSITION_LAYOUT,
    RECORD_ALL,
    RECORD_NONE,
    Rooms,
)

ACCOUNT = TEST_ENV['TWILIO_ACCOUNT_SID']
KEY = TEST_ENV['TWILIO_API_KEY_SID']
SECRET = TEST_ENV['TWILIO_API_KEY_SECRET']
CALLBACK = 'http://podium.test/webhooks/room-events'


@pytest.fixture
def fake():
    with FakeTwilio(ACCOUNT, KEY, SECRET) as server:
        yield server


@pytest.fixture
def client(fake):
    twilio = Client(KEY, SECRET, ACCOUNT)
    twilio.video.base_url = fake.url
    return twilio


def test_recording_rules_and_a_composition(fake, client):
    rooms = Rooms(client, SimpleNamespace(status_callback_url=CALLBACK))
    room = client.video.v1.rooms.create(unique_name='podium-rec')
    rules = client.video.v1.rooms(room.sid).recording_rules.fetch()
    assert rules.rules == RECORD_NONE
    with pytest.raises(TwilioRestException) as unrecorded:
        rooms.compose(room.sid)
    assert unrecorded.value.status == 400
    rooms.set_recording(room.sid, True)
    assert client.video.v1.rooms(room.sid).recording_rules.fetch().rules == RECORD_ALL
    rooms.set_recording(room.sid, False)
    rooms.complete(room.sid)
    sid = rooms.compose(room.sid)

    sent = fake.requests_to('POST', '/v1/Compositions')[-1].form
    assert sent['RoomSid'] == [room.sid]
    assert sent['AudioSources'] == COMPOSITION_AUDIO
    assert sent['Resolution'] == ['1280x720'] and sent['Format'] == ['mp4']
    assert sent['StatusCallback'] == [CALLBACK]
    composition = client.video.v1.compositions(sid).fetch()
    assert composition.video_layout == COMPOSITION_LAYOUT
    assert composition.status == 'enqueued'
    fake.finish_composition(sid)
    assert client.video.v1.compositions(sid).fetch().status == 'completed'
    assert [c.sid for c in client.video.v1.compositions.list()] == [sid]

    raw = requests.get(f'{fake.url}/v1/Compositions/{sid}', auth=(KEY, SECRET)).json()
    openapi_schemas.validate(raw, 'video.v1.composition')
    page = requests.get(f'{fake.url}/v1/Compositions', auth=(KEY, SECRET)).json()
    openapi_schemas.validate_list(page, 'compositions', 'video.v1.composition')

    assert client.video.v1.compositions(sid).delete() is True
    with pytest.raises(TwilioRestException) as gone:
        client.video.v1.compositions(sid).fetch()
    assert gone.value.status == 404


def test_record_on_connect_starts_with_include_all(client):
    room = client.video.v1.rooms.create(
        unique_name='podium-on', record_participants_on_connect=True
    )
    assert client.video.v1.rooms(room.sid).recording_rules.fetch().rules == RECORD_ALL
    with pytest.raises(TwilioRestException) as bad:
        client.video.v1.rooms(room.sid).recording_rules.update(rules='nope')
    assert bad.value.status == 400
