"""The token service's HTTP endpoints, on fakeredis and a fake Rooms API."""

from __future__ import annotations

import logging
import re

import fakeredis
import falcon
import falcon.testing
import jwt
import pytest
import requests
from twilio.base.exceptions import TwilioRestException

from podium.config import MAX_TOKEN_TTL, TokenServiceConfig
from podium.room_state import RoomEvent
from podium.store import Store
from token_service.access import presenter_key
from token_service.app import create_app
from token_service.presentations import Presentations
from token_service.subscribe_rules import rules_for

# The shared test secret is shorter than a real (32 character) API key secret.

NOW = 1_700_000_000.0
ROOM_SID = 'RM' + 'a' * 32
SECRET_DETAIL = 'upstream-detail-that-must-not-leak'


class FakeClock:
    def __init__(self, now: float = NOW):
        self.now = now

    def __call__(self) -> float:
        return self.now


class FakeRooms:
    """Stands in for token_service.rooms.Rooms; records calls, fails on demand."""

    def __init__(self):
        self.calls: list[tuple] = []
        self.sid = ROOM_SID
        self.compose_sid = 'CJ' + '1' * 32
        self.errors: dict[str, Exception] = {}

    def _call(self, name: str, *args):
        self.calls.append((name, *args))
        if name in self.errors:
            raise self.errors.pop(name)

    def ensure(self, room_name: str, record: bool = False) -> str:
        self._call('ensure', room_name, record)
        return self.sid

    def set_recording(self, room_sid: str, on: bool) -> None:
        self._call('set_recording', room_sid, on)

    def compose(self, room_sid: str) -> str:
        self._call('compose', room_sid)
        return self.compose_sid

    def delete_composition(self, sid: str) -> None:
        self._call('delete_composition', sid)

    def composition_media_url(self, sid: str) -> str:
        self._call('composition_media_url', sid)
        return f'https://media.test/{sid}.mp4?sig=upstream'

    def complete(self, room_sid: str) -> None:
        self._call('complete', room_sid)

    def set_subscribe_rules(self, room: str, identity: str, rules: list) -> None:
        self._call('set_subscribe_rules', room, identity, rules)

    def disconnect(self, room: str, identity: str) -> None:
        self._call('disconnect', room, identity)

    def set_broadcast(self, room_sid: str, on: bool) -> dict:
        self._call('set_broadcast', room_sid, on)
        return {'status': 'waiting' if on else 'stopped'}

    full = False

    def is_full(self, room_sid: str) -> bool:
        self._call('is_full', room_sid)
        return self.full

    def broadcast(self, room_sid: str) -> dict:
        self._call('broadcast', room_sid)
        return {'status': 'live', 'restarts': 0, 'last_error': None}

    def named(self, name: str) -> list[tuple]:
        return [c for c in self.calls if c[0] == name]


def twilio_error(status: int, code: int) -> TwilioRestException:
    return TwilioRestException(
        status, 'https://video.twilio.com/v1/Rooms', f'Error: {SECRET_DETAIL}', code
    )


@pytest.fixture
def clock():
    return FakeClock()


@pytest.fixture
def rooms():
    return FakeRooms()


@pytest.fixture
def client(config, store, rooms, clock):
    return falcon.testing.TestClient(
        create_app(config, store=store, rooms=rooms, clock=clock)
    )


def create(client, title='My talk'):
    result = client.simulate_post('/api/presentations', json={'title': title})
    assert result.status_code == 201, result.text
    return result.json


def token(client, presentation, **body):
    body = body or {'role': 'attendee'}
    return client.simulate_post(
        f'/api/presentations/{presentation["id"]}/tokens', json=body
    )


def presenter_token(client, presentation):
    return token(
        client, presentation, role='presenter', key=presentation['presenter_key']
    )


def claims(config, access_token: str) -> dict:
    return jwt.decode(
        access_token,
        config.api_key_secret,
        algorithms=['HS256'],
        options={'verify_exp': False, 'verify_nbf': False},
    )


# POST /api/presentations ------


def test_create_presentation_returns_links_and_key(client, store):
    result = client.simulate_post('/api/presentations', json={'title': '  My talk  '})

    assert result.status_code == 201
    assert result.headers['cache-control'] == 'no-store'
    body = result.json
    assert re.fullmatch(r'[A-Za-z0-9_-]{12}', body['id'])
    assert body['title'] == 'My talk'
    assert body['attendee_url'] == f'http://podium.test/presentations/{body["id"]}'
    assert body['presenter_url'] == (
        f'http://podium.test/presentations/{body["id"]}/present'
        f'#key={body["presenter_key"]}'
    )
    assert len(body['presenter_key']) >= 32  # 24 random bytes, >= 128 bits


def test_create_presentation_stores_no_key(client, store, clock, config):
    body = create(client)

    record = store.get_presentation(body['id'])
    assert record == {
        'id': body['id'],
        'title': 'My talk',
        'room_name': f'podium-{body["id"]}',
        'created_at': str(int(NOW * 1000)),
    }
    assert body['presenter_key'] not in str(
        store.client.hgetall(f'podium:presentation:{body["id"]}')
    )
    # Derived from PODIUM_SECRET_KEY, so it needs no record to be checked.
    assert body['presenter_key'] == presenter_key(config.secret_key, body['id'])


def test_each_presentation_gets_its_own_id_and_key(client):
    first, second = create(client), create(client)
    assert first['id'] != second['id']
    assert first['presenter_key'] != second['presenter_key']


@pytest.mark.parametrize(
    'body',
    [
        {},
        {'title': ''},
        {'title': '   '},
        {'title': 42},
        {'title': None},
        {'title': 'x' * 129},
    ],
)
def test_create_presentation_rejects_a_bad_title(client, body):
    result = client.simulate_post('/api/presentations', json=body)
    assert result.status_code == 400
    assert '"title"' in result.json['description']


def test_create_presentation_accepts_128_characters(client):
    assert create(client, 'x' * 128)['title'] == 'x' * 128


def test_create_presentation_rejects_a_multiline_title(client):
    result = client.simulate_post('/api/presentations', json={'title': 'a\nb'})
    assert result.status_code == 400
    assert 'single line' in result.json['description']


def test_invalid_json_is_a_clear_400(client):
    result = client.simulate_post(
        '/api/presentations', body='{"title":', content_type='application/json'
    )
    assert result.status_code == 400
    assert result.json['title'] == 'Invalid JSON'


@pytest.mark.parametrize('body', ['[]', '"title"', ''])
def test_a_body_that_is_not_an_object_is_a_clear_400(client, body):
    result = client.simulate_post(
        '/api/presentations', body=body, content_type='application/json'
    )
    assert result.status_code == 400
    assert 'JSON object' in result.json['description']


def test_a_body_that_is_not_json_is_415(client):
    result = client.simulate_post(
        '/api/presentations',
        body='title=x',
        content_type='application/x-www-form-urlencoded',
    )
    assert result.status_code == 415
    assert 'application/json' in result.json['description']


def test_a_huge_body_is_413(client):
    result = client.simulate_post('/api/presentations', json={'title': 'x' * 10_000})
    assert result.status_code == 413


def test_an_id_clash_never_overwrites_a_presentation(config, store, clock):
    ids = iter(['taken', 'taken', 'fresh'])
    app = falcon.App()
    app.add_route(
        '/api/presentations',
        Presentations(config, store, clock, new_id=lambda: next(ids)),
    )
    client = falcon.testing.TestClient(app)

    first = client.simulate_post('/api/presentations', json={'title': 'One'}).json
    second = client.simulate_post('/api/presentations', json={'title': 'Two'}).json

    assert (first['id'], second['id']) == ('taken', 'fresh')
    assert store.get_presentation('taken')['title'] == 'One'


# POST /api/presentations/{id}/tokens ------


def test_attendee_token(client, config, rooms, store):
    presentation = create(client)

    result = token(client, presentation, role='attendee', name='  Ada  ')

    assert result.status_code == 200
    assert result.headers['cache-control'] == 'no-store'
    body = result.json
    room = f'podium-{presentation["id"]}'
    assert re.fullmatch(r'attendee-[0-9a-f]{16}', body['identity'])
    assert body == {
        'token': body['token'],
        'identity': body['identity'],
        'name': 'Ada',
        'room': room,
        'backend': 'twilio',
        'ttl': config.token_ttl,
        'expires_at': int(NOW) + config.token_ttl,
        'signal_url': None,
        'ice_servers': None,
    }
    decoded = claims(config, body['token'])
    assert decoded['iss'] == config.api_key_sid
    assert decoded['sub'] == config.account_sid
    assert decoded['exp'] == int(NOW) + config.token_ttl
    assert decoded['grants'] == {'identity': body['identity'], 'video': {'room': room}}
    assert rooms.named('ensure') == [('ensure', room, False)]
    record = store.get_presentation(presentation['id'])
    assert record['room_sid'] == ROOM_SID
    assert record['room_checked_at'] == str(int(NOW * 1000))


def test_attendee_identity_is_never_client_chosen(client):
    presentation = create(client)

    first = token(client, presentation, role='attendee', identity='presenter').json
    second = token(client, presentation, role='attendee', identity='presenter').json

    assert first['identity'].startswith('attendee-')
    assert second['identity'].startswith('attendee-')
    assert first['identity'] != second['identity']


def test_attendee_name_is_optional(client):
    presentation = create(client)
    assert token(client, presentation, role='attendee', name='  ').json['name'] is None
    assert token(client, presentation, role='attendee').json['name'] is None


@pytest.mark.parametrize('name', ['x' * 65, 7, ['Ada']])
def test_attendee_name_is_checked(client, name):
    result = token(client, create(client), role='attendee', name=name)
    assert result.status_code == 400
    assert '"name"' in result.json['description']


def test_presenter_token(client, config):
    presentation = create(client)

    result = presenter_token(client, presentation)

    assert result.status_code == 200
    assert result.json['identity'] == 'presenter'
    assert claims(config, result.json['token'])['grants']['identity'] == 'presenter'


@pytest.mark.parametrize('body', [{}, {'key': ''}, {'key': 'guess'}, {'key': 12}])
def test_presenter_token_needs_the_key(client, rooms, body):
    presentation = create(client)

    result = token(client, presentation, role='presenter', **body)

    assert result.status_code == 403
    assert 'presenter link' in result.json['description']
    assert rooms.calls == []


@pytest.mark.parametrize('body', [{'role': 'admin'}, {'role': None}, {'name': 'x'}])
def test_token_needs_a_known_role(client, body):
    result = client.simulate_post(
        f'/api/presentations/{create(client)["id"]}/tokens', json=body
    )
    assert result.status_code == 400
    assert '"role"' in result.json['description']


def test_token_for_an_unknown_presentation_is_404(client):
    # Malformed ids ('a.b', 'x' * 65) are refused by the router instead:
    # tests/unit/test_presentation_ids.py.
    result = client.simulate_post(
        '/api/presentations/nope/tokens', json={'role': 'attendee'}
    )
    assert result.status_code == 404
    assert result.json['title'] == 'No such presentation'


@pytest.mark.parametrize('role', ['attendee', 'presenter'])
def test_token_for_an_ended_presentation_is_410(client, store, rooms, role):
    presentation = create(client)
    store.end_presentation(presentation['id'], int(NOW * 1000))

    result = token(client, presentation, role=role, key=presentation['presenter_key'])

    assert result.status_code == 410
    assert result.json['title'] == 'The presentation is over'
    assert rooms.calls == []


def test_tokens_live_at_most_a_day(env, store, rooms, clock):
    # Twilio's cap: a longer PODIUM_TOKEN_TTL is refused (test_config.py).
    config = TokenServiceConfig.from_env(
        {**env, 'PODIUM_TOKEN_TTL': str(MAX_TOKEN_TTL)}
    )
    client = falcon.testing.TestClient(
        create_app(config, store=store, rooms=rooms, clock=clock)
    )
    issued = token(client, create(client)).json

    assert claims(config, issued['token'])['exp'] == int(NOW) + 24 * 3600
    assert issued['expires_at'] - int(NOW) == issued['ttl'] == 24 * 3600


def test_local_backend_token_carries_the_signal_url(env, store, rooms, clock):
    env.update(PODIUM_VIDEO_BACKEND='local', PODIUM_SIGNAL_URL='ws://127.0.0.1:9/sig')
    from podium.config import TokenServiceConfig

    client = falcon.testing.TestClient(
        create_app(
            TokenServiceConfig.from_env(env), store=store, rooms=rooms, clock=clock
        )
    )

    body = token(client, create(client)).json

    assert body['backend'] == 'local'
    assert body['signal_url'] == 'ws://127.0.0.1:9/sig'


# The room cache ------


def test_room_check_is_skipped_while_fresh(client, rooms, clock, config):
    presentation = create(client)
    token(client, presentation)
    clock.now += config.room_check_interval - 1

    assert token(client, presentation).status_code == 200
    assert len(rooms.named('ensure')) == 1


def test_room_is_checked_again_after_the_interval(client, rooms, clock, config, store):
    presentation = create(client)
    token(client, presentation)
    clock.now += config.room_check_interval
    rooms.sid = 'RM' + 'b' * 32

    assert token(client, presentation).status_code == 200
    assert len(rooms.named('ensure')) == 2
    record = store.get_presentation(presentation['id'])
    assert record['room_sid'] == rooms.sid
    assert record['room_checked_at'] == str(int(clock.now * 1000))


def test_room_is_checked_again_once_webhooks_saw_it_end(client, rooms, store):
    presentation = create(client)
    token(client, presentation)
    store.apply_event(
        RoomEvent(
            name='room-ended',
            room_sid=ROOM_SID,
            room_name=f'podium-{presentation["id"]}',
            timestamp=int(NOW * 1000),
        )
    )

    assert token(client, presentation).status_code == 200
    assert len(rooms.named('ensure')) == 2


# Video service errors ------


@pytest.mark.parametrize(
    ('error', 'status', 'title'),
    [
        (twilio_error(400, 53105), 409, 'This presentation is full'),
        (twilio_error(401, 20003), 502, 'The video service rejected our credentials'),
        (twilio_error(500, 20500), 502, 'The video service is unavailable, try again'),
        (twilio_error(429, 20429), 503, 'The video service is busy'),
        (
            requests.ConnectionError(SECRET_DETAIL),
            502,
            'The video service is unavailable, try again',
        ),
    ],
)
def test_video_errors_are_mapped_in_one_place(
    client, rooms, error, status, title, caplog
):
    presentation = create(client)
    rooms.errors['ensure'] = error

    with caplog.at_level(logging.INFO):
        result = token(client, presentation)

    assert result.status_code == status
    assert result.json['title'] == title
    assert SECRET_DETAIL not in result.text
    logged = caplog.text
    assert 'video service error' in logged
    assert str(getattr(error, 'code', '')) in logged


def test_secrets_never_reach_the_logs(client, config, caplog):
    with caplog.at_level(logging.DEBUG):
        presentation = create(client)
        issued = presenter_token(client, presentation).json['token']
        client.simulate_post(
            f'/api/presentations/{presentation["id"]}/subscribe-rules',
            headers={'Authorization': f'Bearer {issued}x'},
        )

    for secret in (presentation['presenter_key'], issued, config.api_key_secret):
        assert secret not in caplog.text


# POST /api/presentations/{id}/subscribe-rules ------


def subscribe(client, presentation, access_token):
    return client.simulate_post(
        f'/api/presentations/{presentation["id"]}/subscribe-rules',
        headers={'Authorization': f'Bearer {access_token}'},
    )


def test_attendee_subscribes_to_the_presenter_and_the_stage_only(client, rooms):
    presentation = create(client)
    issued = token(client, presentation).json

    result = subscribe(client, presentation, issued['token'])

    rules = [
        {'type': 'include', 'publisher': identity}
        for identity in ('presenter', 'speaker-1', 'speaker-2', 'speaker-3')
    ]
    assert result.status_code == 200
    assert result.json == {'identity': issued['identity'], 'rules': rules}
    assert rooms.named('set_subscribe_rules') == [
        (
            'set_subscribe_rules',
            f'podium-{presentation["id"]}',
            issued['identity'],
            rules,
        )
    ]


def test_presenter_hears_the_stage_only(client, rooms):
    presentation = create(client)
    issued = presenter_token(client, presentation).json

    result = subscribe(client, presentation, issued['token'])

    assert result.json == {
        'identity': 'presenter',
        'rules': [{'type': 'include', 'publisher': f'speaker-{n}'} for n in (1, 2, 3)],
    }


def test_slot_rules_subscribe_to_nothing_and_follow_the_setting():
    assert rules_for('speaker-2', 3) == [{'type': 'exclude', 'all': True}]
    assert rules_for('attendee-ab', 1) == [
        {'type': 'include', 'publisher': 'presenter'},
        {'type': 'include', 'publisher': 'speaker-1'},
    ]
    assert len(rules_for('attendee-ab', 10)) == 11  # within Twilio's 20


@pytest.mark.parametrize(
    'header', [None, '', 'Basic abc', 'Bearer ', 'Bearer not-a-jwt']
)
def test_subscribe_rules_needs_a_valid_bearer_token(client, rooms, header):
    presentation = create(client)
    headers = {'Authorization': header} if header is not None else {}

    result = client.simulate_post(
        f'/api/presentations/{presentation["id"]}/subscribe-rules', headers=headers
    )

    assert result.status_code == 401
    assert result.headers['www-authenticate'] == 'Bearer'
    assert rooms.named('set_subscribe_rules') == []


def forge(config, room: str, **changes) -> str:
    payload = {
        'jti': f'{config.api_key_sid}-1',
        'iss': config.api_key_sid,
        'sub': config.account_sid,
        'exp': int(NOW) + 3600,
        'grants': {'identity': 'presenter', 'video': {'room': room}},
    }
    key = changes.pop('key', config.api_key_secret)
    payload.update(changes)
    return jwt.encode(payload, key, algorithm='HS256')


@pytest.mark.parametrize(
    'changes',
    [
        {'key': 'another-secret-of-sufficient-length'},
        {'iss': 'SK' + '9' * 32},
        {'sub': 'AC' + '9' * 32},
        {'exp': int(NOW)},
        {'grants': {'identity': 'presenter', 'video': {'room': 'podium-other'}}},
        {'grants': {'identity': 'presenter'}},
        {'grants': {'identity': 'mallory', 'video': {'room': 'ROOM'}}},
    ],
    ids=['key', 'iss', 'sub', 'expired', 'room', 'no-video', 'identity'],
)
def test_subscribe_rules_rejects_forged_or_foreign_tokens(client, config, changes):
    presentation = create(client)
    room = f'podium-{presentation["id"]}'
    if changes.get('grants', {}).get('video') == {'room': 'ROOM'}:
        changes['grants']['video'] = {'room': room}
    # The same token without the change passes, so each change alone is refused.
    assert subscribe(client, presentation, forge(config, room)).status_code == 200

    result = subscribe(client, presentation, forge(config, room, **changes))

    assert result.status_code == 401
    assert result.json['title'] == 'Invalid access token'


def test_subscribe_rules_token_expires_with_the_clock(client, clock, config):
    presentation = create(client)
    issued = token(client, presentation).json['token']
    clock.now += config.token_ttl

    assert subscribe(client, presentation, issued).status_code == 401


def test_a_token_for_another_presentation_is_refused(client):
    first, second = create(client), create(client)
    issued = presenter_token(client, first).json['token']

    assert subscribe(client, second, issued).status_code == 401


def test_subscribe_rules_before_connecting_is_409(client, rooms):
    presentation = create(client)
    issued = token(client, presentation).json['token']
    rooms.errors['set_subscribe_rules'] = twilio_error(404, 20404)

    result = subscribe(client, presentation, issued)

    assert result.status_code == 409
    assert 'Connect to the room first' in result.json['description']


def test_subscribe_rules_for_unknown_or_ended_presentations(client, store):
    presentation = create(client)
    issued = token(client, presentation).json['token']

    assert subscribe(client, {'id': 'nope'}, issued).status_code == 404
    store.end_presentation(presentation['id'], int(NOW * 1000))
    assert subscribe(client, presentation, issued).status_code == 410


# POST /api/presentations/{id}/end ------


def end(client, presentation, key=None):
    body = {'key': presentation['presenter_key'] if key is None else key}
    return client.simulate_post(
        f'/api/presentations/{presentation["id"]}/end', json=body
    )


def test_end_needs_the_presenter_key(client, store, rooms):
    presentation = create(client)

    result = end(client, presentation, key='wrong')

    assert result.status_code == 403
    assert 'ended_at' not in store.get_presentation(presentation['id'])
    assert rooms.calls == []


def test_end_marks_the_presentation_and_completes_the_room(client, store, rooms):
    presentation = create(client)
    token(client, presentation)

    result = end(client, presentation)

    assert result.status_code == 200
    assert result.json == {
        'id': presentation['id'],
        'status': 'ended',
        'ended_at': int(NOW * 1000),
    }
    assert store.get_presentation(presentation['id'])['ended_at'] == str(
        int(NOW * 1000)
    )
    assert rooms.named('complete') == [('complete', ROOM_SID)]
    assert store.read_view(presentation['id'])['status'] == 'ended'


def test_end_is_idempotent(client, clock, rooms):
    presentation = create(client)
    token(client, presentation)
    first = end(client, presentation)
    clock.now += 60

    second = end(client, presentation)

    assert second.status_code == 200
    assert second.json == first.json
    assert token(client, presentation).status_code == 410


def test_end_without_a_room_makes_no_api_call(client, rooms):
    presentation = create(client)

    assert end(client, presentation).status_code == 200
    assert rooms.calls == []


def test_end_skips_a_room_the_webhooks_saw_end(client, rooms, store):
    presentation = create(client)
    token(client, presentation)
    store.apply_event(
        RoomEvent(
            'room-ended', ROOM_SID, f'podium-{presentation["id"]}', int(NOW * 1000)
        )
    )

    assert end(client, presentation).status_code == 200
    assert rooms.named('complete') == []


def test_end_retries_the_room_after_a_failure(client, rooms, store):
    presentation = create(client)
    token(client, presentation)
    rooms.errors['complete'] = twilio_error(503, 20503)

    assert end(client, presentation).status_code == 502
    assert store.get_presentation(presentation['id'])['ended_at']
    assert end(client, presentation).status_code == 200
    assert rooms.named('complete') == [('complete', ROOM_SID)] * 2


def test_end_of_an_unknown_presentation_is_404(client):
    assert end(client, {'id': 'nope', 'presenter_key': 'k'}).status_code == 404


# GET /api/healthz ------


def test_healthz(client):
    result = client.simulate_get('/api/healthz')
    assert result.status_code == 200
    assert result.json == {'status': 'ok'}


def test_healthz_reports_redis_down(config, rooms):
    server = fakeredis.FakeServer()
    server.connected = False
    store = Store(fakeredis.FakeRedis(server=server, decode_responses=True))
    client = falcon.testing.TestClient(create_app(config, store=store, rooms=rooms))

    result = client.simulate_get('/api/healthz')

    assert result.status_code == 503
    assert result.json['title'] == 'Redis is unreachable'


def test_redis_down_is_a_clear_503(config, rooms):
    server = fakeredis.FakeServer()
    server.connected = False
    store = Store(fakeredis.FakeRedis(server=server, decode_responses=True))
    client = falcon.testing.TestClient(create_app(config, store=store, rooms=rooms))

    result = client.simulate_post('/api/presentations', json={'title': 'Talk'})

    assert result.status_code == 503
    assert result.json['title'] == 'Storage is unavailable'


# Wiring ------


def test_create_app_reads_the_environment(env, monkeypatch):
    for name, value in env.items():
        monkeypatch.setenv(name, value)
    monkeypatch.setenv('PODIUM_VIDEO_API_URL', 'http://127.0.0.1:9')
    seen = []

    def client_factory(config):
        seen.append(config)
        return object()

    create_app(client_factory=client_factory)

    assert [c.video_api_url for c in seen] == ['http://127.0.0.1:9']
