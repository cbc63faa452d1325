"""The token service drives the Rooms API exactly as Twilio documents it.

The app runs with its real twilio-python client, pointed at tests/fake_twilio.py
through PODIUM_VIDEO_API_URL (the same seam the local backend uses); the
assertions are on the HTTP requests that reach the fake.
"""

from __future__ import annotations

import asyncio
import base64
import json

import falcon.testing
import pytest

from podium import stage
from podium.config import TokenServiceConfig
from podium.room_state import RoomEvent
from tests.conftest import free_port
from tests.fake_twilio import FakeTwilio
from token_service.app import create_app
from token_service.rooms import Rooms, twilio_client

NOW = 1_700_000_000.0
ROOMS = r'/v1/Rooms'


class FakeClock:
    def __init__(self):
        self.now = NOW

    def __call__(self) -> float:
        return self.now


@pytest.fixture
def fake(env):
    with FakeTwilio(
        env['TWILIO_ACCOUNT_SID'],
        env['TWILIO_API_KEY_SID'],
        env['TWILIO_API_KEY_SECRET'],
    ) as server:
        yield server


@pytest.fixture
def twilio_config(env, fake) -> TokenServiceConfig:
    return TokenServiceConfig.from_env({**env, 'PODIUM_VIDEO_API_URL': fake.url})


@pytest.fixture
def clock():
    return FakeClock()


@pytest.fixture
def client(twilio_config, store, clock):
    return falcon.testing.TestClient(
        create_app(twilio_config, store=store, clock=clock)
    )


@pytest.fixture
def presentation(client):
    result = client.simulate_post('/api/presentations', json={'title': 'Talk'})
    assert result.status_code == 201
    return result.json


def room_name(presentation) -> str:
    return f'podium-{presentation["id"]}'


def attend(client, presentation, **body):
    return client.simulate_post(
        f'/api/presentations/{presentation["id"]}/tokens',
        json=body or {'role': 'attendee'},
    )


def calls(fake) -> list[tuple[str, str]]:
    return [(r.method, r.path) for r in fake.requests]


def test_first_token_fetches_then_creates_the_room(
    client, fake, presentation, store, twilio_config
):
    result = attend(client, presentation)

    assert result.status_code == 200, result.text
    name = room_name(presentation)
    assert calls(fake) == [('GET', f'/v1/Rooms/{name}'), ('POST', '/v1/Rooms')]
    fetch, create = fake.requests
    assert fetch.form == {} and fetch.query == {}
    assert create.form == {
        'UniqueName': [name],
        'Type': ['group'],
        'StatusCallback': ['http://podium.test/webhooks/room-events'],
        'StatusCallbackMethod': ['POST'],
        'EmptyRoomTimeout': [str(twilio_config.empty_room_timeout)],
        'UnusedRoomTimeout': [str(twilio_config.empty_room_timeout)],
        'MaxParticipants': [str(twilio_config.max_participants)],
    }
    basic = base64.b64encode(
        f'{twilio_config.api_key_sid}:{twilio_config.api_key_secret}'.encode()
    ).decode()
    assert all(r.headers['authorization'] == f'Basic {basic}' for r in fake.requests)
    (sid,) = fake.rooms
    assert store.get_presentation(presentation['id'])['room_sid'] == sid


def test_an_existing_room_is_reused(client, fake, presentation, store, clock):
    attend(client, presentation)
    (sid,) = fake.rooms
    fake.clear_requests()

    attend(client, presentation)
    assert fake.requests == []  # checked less than room_check_interval ago

    clock.now += 3600
    assert attend(client, presentation).status_code == 200
    assert calls(fake) == [('GET', f'/v1/Rooms/{room_name(presentation)}')]
    assert list(fake.rooms) == [sid]


def test_an_ended_room_is_replaced(client, fake, presentation, store):
    attend(client, presentation)
    (old,) = fake.rooms
    fake.complete_room(old)
    store.apply_event(
        RoomEvent('room-ended', old, room_name(presentation), int(NOW * 1000))
    )
    fake.clear_requests()

    assert attend(client, presentation).status_code == 200

    assert calls(fake) == [
        ('GET', f'/v1/Rooms/{room_name(presentation)}'),
        ('POST', '/v1/Rooms'),
    ]
    (new,) = set(fake.rooms) - {old}
    assert store.get_presentation(presentation['id'])['room_sid'] == new


def test_a_fetched_room_that_is_not_in_progress_counts_as_missing(fake, twilio_config):
    # Twilio resolves names to in-progress rooms only; a sid reaches a completed
    # one, which is what a looser Twilio-compatible server might answer a name with.
    rooms = Rooms(twilio_client(twilio_config), twilio_config)
    old = rooms.ensure('podium-x')
    fake.complete_room(old)
    fake.clear_requests()

    new = rooms.ensure(old)

    assert new != old
    assert calls(fake) == [('GET', f'/v1/Rooms/{old}'), ('POST', '/v1/Rooms')]


def test_a_concurrent_create_is_not_an_error(client, fake, presentation, store, clock):
    name = room_name(presentation)
    attend(client, presentation)
    (sid,) = fake.rooms
    clock.now += 3600
    fake.clear_requests()
    # As if another worker created the room between our fetch and our create.
    fake.fail_next('GET', f'/v1/Rooms/{name}', 404, 20404, 'not found')

    result = attend(client, presentation)

    assert result.status_code == 200
    assert calls(fake) == [
        ('GET', f'/v1/Rooms/{name}'),
        ('POST', '/v1/Rooms'),
        ('GET', f'/v1/Rooms/{name}'),
    ]
    assert list(fake.rooms) == [sid]
    assert store.get_presentation(presentation['id'])['room_sid'] == sid


def test_a_full_room_is_409(client, fake, presentation):
    fake.fail_next(
        'GET', r'/v1/Rooms/.*', 400, 53105, 'Room contains too many Participants'
    )

    result = attend(client, presentation)

    assert result.status_code == 409
    assert result.json['title'] == 'This presentation is full'


def test_rejected_credentials_are_502(env, fake, store, presentation):
    bad = TokenServiceConfig.from_env(
        {**env, 'PODIUM_VIDEO_API_URL': fake.url, 'TWILIO_API_KEY_SECRET': 'wrong'}
    )
    client = falcon.testing.TestClient(create_app(bad, store=store))

    result = attend(client, presentation)

    assert result.status_code == 502
    assert result.json['title'] == 'The video service rejected our credentials'
    assert 'Authenticate' not in result.text
    assert fake.rooms == {}


def test_an_unreachable_video_service_is_502(env, store, presentation):
    down = TokenServiceConfig.from_env(
        {**env, 'PODIUM_VIDEO_API_URL': f'http://127.0.0.1:{free_port()}'}
    )
    client = falcon.testing.TestClient(create_app(down, store=store))

    result = attend(client, presentation)

    assert result.status_code == 502
    assert result.json['title'] == 'The video service is unavailable, try again'


def test_other_failures_are_502_without_the_upstream_message(
    client, fake, presentation
):
    fake.fail_next('POST', ROOMS, 500, 20500, 'Internal detail do-not-leak')

    result = attend(client, presentation)

    assert result.status_code == 502
    assert 'do-not-leak' not in result.text


def test_end_completes_the_room(client, fake, presentation):
    attend(client, presentation)
    (sid,) = fake.rooms
    fake.clear_requests()

    result = client.simulate_post(
        f'/api/presentations/{presentation["id"]}/end',
        json={'key': presentation['presenter_key']},
    )

    assert result.status_code == 200
    assert calls(fake) == [('POST', f'/v1/Rooms/{sid}')]
    assert fake.requests[0].form == {'Status': ['completed']}
    assert fake.rooms[sid]['status'] == 'completed'


def test_end_accepts_a_room_that_is_gone(client, fake, presentation):
    attend(client, presentation)
    (sid,) = fake.rooms
    fake.fail_next('POST', f'/v1/Rooms/{sid}', 404, 20404, 'not found')

    result = client.simulate_post(
        f'/api/presentations/{presentation["id"]}/end',
        json={'key': presentation['presenter_key']},
    )

    assert result.status_code == 200


@pytest.mark.parametrize(
    ('role', 'rules'),
    [
        ('attendee', stage.audience_rules(3)),
        (
            'presenter',
            [{'type': 'include', 'publisher': s} for s in stage.slot_identities(3)],
        ),
    ],
)
def test_subscribe_rules_are_posted_for_the_caller(
    client, fake, presentation, role, rules
):
    issued = attend(client, presentation, role=role, key=presentation['presenter_key'])
    issued = issued.json
    fake.connect_participant(room_name(presentation), issued['identity'])
    fake.clear_requests()

    result = client.simulate_post(
        f'/api/presentations/{presentation["id"]}/subscribe-rules',
        headers={'Authorization': f'Bearer {issued["token"]}'},
    )

    assert result.status_code == 200, result.text
    assert result.json == {'identity': issued['identity'], 'rules': rules}
    path = (
        f'/v1/Rooms/{room_name(presentation)}/Participants/'
        f'{issued["identity"]}/SubscribeRules'
    )
    assert calls(fake) == [('POST', path)]
    assert set(fake.requests[0].form) == {'Rules'}
    assert json.loads(fake.requests[0].form['Rules'][0]) == rules
    assert fake.subscribe_rules(room_name(presentation), issued['identity']) == rules


def test_identical_subscribe_rules_are_written_once(client, fake, presentation):
    issued = attend(client, presentation).json
    fake.connect_participant(room_name(presentation), issued['identity'])
    fake.clear_requests()

    results = [
        client.simulate_post(
            f'/api/presentations/{presentation["id"]}/subscribe-rules',
            headers={'Authorization': f'Bearer {issued["token"]}'},
        )
        for _ in range(2)
    ]

    assert [r.status_code for r in results] == [200, 200]
    assert results[0].json == results[1].json
    path = (
        f'/v1/Rooms/{room_name(presentation)}/Participants/'
        f'{issued["identity"]}/SubscribeRules'
    )
    assert calls(fake) == [('POST', path)]


def test_subscribe_rules_before_connecting_is_409(client, fake, presentation):
    issued = attend(client, presentation).json

    result = client.simulate_post(
        f'/api/presentations/{presentation["id"]}/subscribe-rules',
        headers={'Authorization': f'Bearer {issued["token"]}'},
    )

    assert result.status_code == 409
    assert 'Connect to the room first' in result.json['description']


def test_a_crowd_arriving_at_once_gets_one_room(client, fake, presentation, store):
    # The event loop serves these concurrently, each asking the Rooms API from
    # its own thread; some creates lose with 53113.
    crowd = 8

    async def arrive() -> list:
        async with falcon.testing.ASGIConductor(client.app) as conductor:
            return await asyncio.gather(
                *(
                    conductor.simulate_post(
                        f'/api/presentations/{presentation["id"]}/tokens',
                        json={'role': 'attendee'},
                    )
                    for _ in range(crowd)
                )
            )

    results = asyncio.run(arrive())

    assert [r.status_code for r in results] == [200] * crowd
    (sid,) = fake.rooms
    assert store.get_presentation(presentation['id'])['room_sid'] == sid
    assert len({r.json['identity'] for r in results}) == crowd
