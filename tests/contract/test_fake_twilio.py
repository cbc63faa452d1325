"""The fake Rooms API answers twilio-python the way Twilio's OpenAPI says it does.

Other tests trust tests/fake_twilio.py, so its answers are checked here against
Twilio's published schemas, through the real twilio-python client.
"""

from __future__ import annotations

import json

import jsonschema
import pytest
import requests
from twilio.base.exceptions import TwilioRestException
from twilio.rest import Client

from tests.conftest import TEST_ENV
from tests.contract import openapi_schemas
from tests.fake_twilio import FakeTwilio

ACCOUNT = TEST_ENV['TWILIO_ACCOUNT_SID']
KEY = TEST_ENV['TWILIO_API_KEY_SID']
SECRET = TEST_ENV['TWILIO_API_KEY_SECRET']


@pytest.fixture
def fake():
    with FakeTwilio(ACCOUNT, KEY, SECRET) as server:
        yield server


@pytest.fixture
def client(fake) -> Client:
    client = Client(KEY, SECRET, ACCOUNT)
    client.video.base_url = fake.url
    return client


def raw(fake, method, path, **kwargs):
    """Call the fake without twilio-python, to see its exact JSON."""
    return requests.request(
        method, fake.url + path, auth=(KEY, SECRET), timeout=5, **kwargs
    )


def test_create_and_fetch_a_room(fake, client):
    room = client.video.v1.rooms.create(unique_name='podium-x', type='group')

    fetched = client.video.v1.rooms('podium-x').fetch()
    assert fetched.sid == room.sid
    assert fetched.status == 'in-progress'
    assert fake.rooms[room.sid]['unique_name'] == 'podium-x'
    created = fake.requests[0]
    assert (created.method, created.path) == ('POST', '/v1/Rooms')
    assert created.form == {'UniqueName': ['podium-x'], 'Type': ['group']}
    assert created.headers['content-type'] == 'application/x-www-form-urlencoded'


def test_room_responses_match_the_openapi_schema(fake, client):
    room = client.video.v1.rooms.create(
        unique_name='podium-x',
        status_callback='http://podium.test/webhooks/room-events',
    )
    fake.connect_participant('podium-x', 'presenter')

    openapi_schemas.validate(
        raw(fake, 'GET', f'/v1/Rooms/{room.sid}').json(), openapi_schemas.ROOM
    )
    openapi_schemas.validate_list(
        raw(fake, 'GET', '/v1/Rooms?Status=in-progress').json(),
        'rooms',
        openapi_schemas.ROOM,
    )
    openapi_schemas.validate_list(
        raw(fake, 'GET', f'/v1/Rooms/{room.sid}/Participants').json(),
        'participants',
        openapi_schemas.PARTICIPANT,
    )
    rules = raw(
        fake,
        'POST',
        f'/v1/Rooms/{room.sid}/Participants/presenter/SubscribeRules',
        data={'Rules': json.dumps([{'type': 'exclude', 'all': True}])},
    )
    assert rules.status_code == 200
    openapi_schemas.validate(rules.json(), openapi_schemas.SUBSCRIBE_RULES)
    completed = raw(fake, 'POST', f'/v1/Rooms/{room.sid}', data={'Status': 'completed'})
    assert completed.status_code == 202
    openapi_schemas.validate(completed.json(), openapi_schemas.ROOM)
    assert completed.json()['status'] == 'completed'


def test_a_unique_name_is_taken_while_the_room_is_in_progress(fake, client):
    first = client.video.v1.rooms.create(unique_name='podium-x')

    with pytest.raises(TwilioRestException) as caught:
        client.video.v1.rooms.create(unique_name='podium-x')
    assert (caught.value.status, caught.value.code) == (400, 53113)

    client.video.v1.rooms(first.sid).update(status='completed')
    with pytest.raises(TwilioRestException) as caught:
        client.video.v1.rooms(
            'podium-x'
        ).fetch()  # names address in-progress rooms only
    assert (caught.value.status, caught.value.code) == (404, 20404)
    second = client.video.v1.rooms.create(unique_name='podium-x')
    assert second.sid != first.sid
    assert client.video.v1.rooms(first.sid).fetch().status == 'completed'


@pytest.mark.parametrize(
    ('params', 'code'),
    [
        ({'type': 'peer-to-peer'}, 53126),
        ({'max_participants': 51}, 53107),
        ({'type': 'huge'}, 53108),
        ({'empty_room_timeout': 61}, 53109),
        ({'status_callback_method': 'PUT'}, 53110),
    ],
)
def test_invalid_rooms_are_refused(client, params, code):
    with pytest.raises(TwilioRestException) as caught:
        client.video.v1.rooms.create(unique_name='podium-x', **params)
    assert (caught.value.status, caught.value.code) == (400, code)


def test_wrong_credentials_get_20003(fake):
    client = Client(KEY, 'wrong-secret', ACCOUNT)
    client.video.base_url = fake.url

    with pytest.raises(TwilioRestException) as caught:
        client.video.v1.rooms('podium-x').fetch()

    assert (caught.value.status, caught.value.code) == (401, 20003)
    assert fake.rooms == {}


def test_fail_next_fails_once_and_only_the_matching_request(fake, client):
    fake.fail_next('POST', r'/v1/Rooms', 503, 20503, 'Service unavailable')

    with pytest.raises(TwilioRestException):
        client.video.v1.rooms('podium-x').fetch()  # 404: GET is not the injected one
    with pytest.raises(TwilioRestException) as caught:
        client.video.v1.rooms.create(unique_name='podium-x')
    assert (caught.value.status, caught.value.code) == (503, 20503)
    assert client.video.v1.rooms.create(unique_name='podium-x').status == 'in-progress'
    assert [r.method for r in fake.requests] == ['GET', 'POST', 'POST']


def test_participants_list_kick_and_rules(fake, client):
    room = client.video.v1.rooms.create(unique_name='podium-x')
    presenter = fake.connect_participant(room.sid, 'presenter')
    fake.connect_participant('podium-x', 'attendee-1')
    rooms = client.video.v1.rooms(room.sid)

    connected = rooms.participants.list(status='connected')
    assert sorted(p.identity for p in connected) == ['attendee-1', 'presenter']
    assert [p.sid for p in rooms.participants.list(identity='presenter')] == [presenter]
    assert fake.subscribe_rules(room.sid, 'attendee-1') == [
        {'type': 'include', 'all': True}
    ]

    rooms.participants('attendee-1').subscribe_rules.update(
        rules=[{'type': 'include', 'publisher': 'presenter'}]
    )
    assert rooms.participants('attendee-1').subscribe_rules.fetch().rules == [
        {'type': 'include', 'publisher': 'presenter'}
    ]
    rooms.participants('attendee-1').update(status='disconnected')
    assert [p.identity for p in rooms.participants.list(status='connected')] == [
        'presenter'
    ]
    with pytest.raises(TwilioRestException) as caught:
        rooms.participants('attendee-1').subscribe_rules.update(
            rules=[{'type': 'exclude', 'all': True}]
        )
    assert caught.value.status == 404


@pytest.mark.parametrize(
    'rules',
    [
        [],
        [{'type': 'maybe', 'all': True}],
        [{'type': 'include', 'all': True, 'kind': 'audio'}],
        [{'type': 'include'}],
        [{'type': 'include', 'kind': 'video'}] * 21,
    ],
)
def test_invalid_subscribe_rules_are_refused(fake, client, rules):
    room = client.video.v1.rooms.create(unique_name='podium-x')
    fake.connect_participant(room.sid, 'presenter')

    with pytest.raises(TwilioRestException) as caught:
        client.video.v1.rooms(room.sid).participants(
            'presenter'
        ).subscribe_rules.update(rules=rules)

    assert (caught.value.status, caught.value.code) == (400, 53215)


def test_a_second_connection_with_one_identity_replaces_the_first(fake, client):
    room = client.video.v1.rooms.create(unique_name='podium-x')
    first = fake.connect_participant(room.sid, 'presenter')
    second = fake.connect_participant(room.sid, 'presenter')

    assert (
        client.video.v1.rooms(room.sid).participants(first).fetch().status
        == 'disconnected'
    )
    assert (
        client.video.v1.rooms(room.sid).participants('presenter').fetch().sid == second
    )


def test_completing_a_room_disconnects_everyone(fake, client):
    room = client.video.v1.rooms.create(unique_name='podium-x')
    fake.connect_participant(room.sid, 'presenter')

    fake.complete_room('podium-x')

    assert fake.rooms[room.sid]['status'] == 'completed'
    assert client.video.v1.rooms(room.sid).participants.list(status='connected') == []


def test_the_schema_check_can_fail():
    with pytest.raises(jsonschema.ValidationError):
        openapi_schemas.validate({'sid': 'RM1', 'status': 'open'}, openapi_schemas.ROOM)
