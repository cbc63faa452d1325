"""Every Rooms REST responder wants the API key, whatever spelling reaches it.

Sent with http.client so the paths reach the server exactly as written: the
`//v1/Rooms` that once answered every room without credentials, dot segments,
an encoded slash, a trailing slash, other letter cases.
"""

from __future__ import annotations

import base64
import http.client
import json
from urllib.parse import urlsplit

import pytest

from .helpers import Signal, make_token


def spellings(path: str) -> list[str]:
    """Return `path` (which starts with /v1/) as a router or proxy may see it."""
    rest = path.removeprefix('/v1/')
    return [
        path,
        '/' + path,
        '/.' + path,
        f'/v1/./{rest}',
        f'/x/../v1/{rest}',
        f'/v1//{rest}',
        f'/v1%2F{rest}',
        f'/v1/{rest.replace("/", "%2F")}',
        path + '/',
        path.lower(),
        path.upper(),
    ]


ERROR_BODIES = ({'code', 'message', 'more_info', 'status'}, {'title', 'description'})


def is_error_body(body: str) -> bool:
    """Tell an error (which may echo the path it was sent) from data."""
    return set(json.loads(body)) in ERROR_BODIES


def basic(user: str, password: str) -> str:
    return 'Basic ' + base64.b64encode(f'{user}:{password}'.encode()).decode()


def send(url: str, method: str, path: str, authorization: str | None) -> tuple:
    parts = urlsplit(url)
    connection = http.client.HTTPConnection(parts.hostname, parts.port, timeout=10)
    headers = {'Content-Type': 'application/x-www-form-urlencoded'}
    if authorization is not None:
        headers['Authorization'] = authorization
    body = 'StatusCallback=http://127.0.0.1:9/x&Status=completed&UniqueName=evil'
    try:
        connection.request(
            method, path, body=body if method == 'POST' else None, headers=headers
        )
        response = connection.getresponse()
        return response.status, response.read().decode(errors='replace')
    finally:
        connection.close()


@pytest.fixture
def live_room(rest_server, twilio, lv_config):
    """A room with a connected participant: every route has something to show."""
    service, url = rest_server
    room = twilio.video.v1.rooms.create(unique_name='podium-secret')
    signal = Signal(url, make_token(lv_config, 'presenter', 'podium-secret'))
    participant = signal.first['participant']['sid']
    yield service, url, room.sid, participant
    signal.close()


def routes(room: str, participant: str) -> list[tuple[str, str]]:
    rooms = '/v1/Rooms'
    one = f'{rooms}/{room}'
    people = f'{one}/Participants'
    person = f'{people}/{participant}'
    return [
        ('GET', rooms),
        ('POST', rooms),
        ('GET', one),
        ('POST', one),
        ('GET', people),
        ('GET', person),
        ('POST', person),
        ('GET', f'{person}/PublishedTracks'),
        ('GET', f'{person}/SubscribeRules'),
        ('POST', f'{person}/SubscribeRules'),
        *recording_routes(one),
    ]


def recording_routes(one: str) -> list[tuple[str, str]]:
    recording = 'RT' + '0' * 32
    composition = 'CJ' + '0' * 32
    return [
        ('GET', '/v1/Compositions'),
        ('POST', '/v1/Compositions'),
        ('GET', f'/v1/Compositions/{composition}'),
        ('DELETE', f'/v1/Compositions/{composition}'),
        ('GET', f'/v1/Compositions/{composition}/Media'),
        ('GET', f'{one}/RecordingRules'),
        ('POST', f'{one}/RecordingRules'),
        ('GET', '/v1/Recordings'),
        ('GET', f'/v1/Recordings/{recording}'),
        ('DELETE', f'/v1/Recordings/{recording}'),
        ('GET', f'{one}/Recordings'),
        ('GET', f'{one}/Recordings/{recording}'),
        ('DELETE', f'{one}/Recordings/{recording}'),
    ]


def test_no_route_answers_without_the_api_key(live_room, lv_config):
    service, url, room, participant = live_room
    credentials = {
        'none': None,
        'wrong secret': basic(lv_config.api_key_sid, 'not-the-secret'),
        'wrong scheme': f'Bearer {lv_config.api_key_secret}',
        'empty': 'Basic ',
    }
    answered = []
    for method, route in routes(room, participant):
        for path in spellings(route):
            for label, authorization in credentials.items():
                status, body = send(url, method, path, authorization)
                if status not in (401, 404) or not is_error_body(body):
                    answered.append((method, path, label, status, body[:80]))
                if status == 401:
                    assert json.loads(body)['code'] == 20003
    assert not answered, answered
    # And nothing was created, completed, or kicked.
    assert [r.unique_name for r in service.registry.rooms()] == ['podium-secret']
    found = service.registry.find_room(room)
    assert found.in_progress
    assert found.find_participant(participant).connected


def test_the_api_key_and_the_account_token_are_let_in(live_room, lv_config):
    _, url, room, _ = live_room
    for user, password in (
        (lv_config.api_key_sid, lv_config.api_key_secret),
        (lv_config.account_sid, lv_config.auth_token),
    ):
        status, body = send(url, 'GET', f'//v1/Rooms/{room}', basic(user, password))
        assert status == 200 and room in body
