"""Presenter keys stay out of logs; attendees can never become `presenter`."""

from __future__ import annotations

import logging

import falcon.testing
import jwt
import pytest
from hypothesis import HealthCheck, given, settings
from hypothesis import strategies as st

from podium.room_state import ATTENDEE_PREFIX, PRESENTER_IDENTITY
from tests.unit.test_token_service import (
    FakeClock,
    FakeRooms,
    claims,
    create,
    twilio_error,
)
from token_service.app import create_app
from token_service.rate_limits import RateLimitSettings
from token_service.tokens import InvalidToken, verify_token


@pytest.fixture
def rooms():
    return FakeRooms()


@pytest.fixture
def client(config, store, rooms):
    return falcon.testing.TestClient(
        create_app(
            config,
            store=store,
            rooms=rooms,
            clock=FakeClock(),
            rate_limits=RateLimitSettings(
                presentations_per_minute=2, tokens_per_minute=6
            ),
        )
    )


def test_presenter_keys_never_reach_the_logs(client, rooms, config, caplog):
    with caplog.at_level(logging.DEBUG):
        presentation = create(client)
        key = presentation['presenter_key']
        base = f'/api/presentations/{presentation["id"]}'
        as_presenter = {'role': 'presenter', 'key': key}
        issued = client.simulate_post(f'{base}/tokens', json=as_presenter).json
        # Failures log too: a wrong key next to the real one, an upstream error,
        # an unparsable body, a refused media type, a rate limit.
        client.simulate_post(f'{base}/tokens', json={**as_presenter, 'key': key[:-1]})
        rooms.errors['ensure'] = twilio_error(500, 20500)
        client.simulate_post(f'{base}/tokens', json=as_presenter)
        client.simulate_post(f'{base}/tokens', body=f'{{"key": "{key}"')
        client.simulate_post(
            f'{base}/end', body=f'key={key}', content_type='text/plain'
        )
        for _ in range(6):
            client.simulate_post(f'{base}/tokens', json=as_presenter)
        rooms.errors['complete'] = twilio_error(503, 20503)
        client.simulate_post(f'{base}/end', json={'key': key})
        client.simulate_post(f'{base}/end', json={'key': key})

    assert 'rate limit' in caplog.text  # the requests above did reach the logs
    for secret in (key, issued['token'], config.api_key_secret):
        assert secret not in caplog.text


# Attendee identities ---------------------------------------------------------

json_values = st.recursive(
    st.none() | st.booleans() | st.integers() | st.text(max_size=20),
    lambda inner: (
        st.lists(inner, max_size=3)
        | st.dictionaries(st.text(max_size=10), inner, max_size=3)
    ),
    max_leaves=8,
)
presenterish = st.sampled_from(
    ['presenter', 'Presenter', ' presenter', 'presenter\x00', 'attendee-presenter']
)


@st.composite
def attendee_bodies(draw) -> dict:
    """A body asking for an attendee token, stuffed with whatever a client may try."""
    body = draw(
        st.dictionaries(
            st.sampled_from(['identity', 'name', 'key', 'Identity', 'sub', 'grants']),
            presenterish | json_values,
            max_size=4,
        )
    )
    body['role'] = 'attendee'
    if 'name' in body and not isinstance(body['name'], str):
        body['name'] = draw(presenterish)
    return body


def test_no_client_input_makes_an_attendee_the_presenter(config, store, rooms):
    client = falcon.testing.TestClient(
        create_app(
            config,
            store=store,
            rooms=rooms,
            clock=FakeClock(),
            rate_limits=RateLimitSettings(
                presentations_per_minute=0, tokens_per_minute=0
            ),
        )
    )
    presentation = create(client)
    path = f'/api/presentations/{presentation["id"]}/tokens'
    issued = []

    @given(attendee_bodies())
    @settings(
        max_examples=200,
        deadline=None,
        database=None,
        suppress_health_check=list(HealthCheck),
    )
    def stays_an_attendee(body):
        result = client.simulate_post(path, json=body)
        assert result.status_code in (200, 400), result.text
        if result.status_code == 200:
            identity = result.json['identity']
            assert identity != PRESENTER_IDENTITY
            assert identity.startswith(ATTENDEE_PREFIX)
            granted = claims(config, result.json['token'])['grants']['identity']
            assert granted == identity
            issued.append(identity)

    stays_an_attendee()
    assert issued, 'no attendee token was ever issued'
    assert len(set(issued)) == len(issued)  # and never each other's


@pytest.mark.parametrize(
    'role', ['Presenter', 'PRESENTER', ' presenter', 'presenter ', 'admin', None, 1]
)
def test_roles_are_matched_exactly(client, role):
    presentation = create(client)
    result = client.simulate_post(
        f'/api/presentations/{presentation["id"]}/tokens', json={'role': role}
    )
    assert result.status_code == 400


def test_the_presenter_identity_needs_the_key(client):
    presentation = create(client)
    path = f'/api/presentations/{presentation["id"]}/tokens'
    for key in (None, '', 'guess', presentation['presenter_key'] + 'x', ['k'], {}):
        result = client.simulate_post(path, json={'role': 'presenter', 'key': key})
        assert result.status_code == 403, key


def test_a_token_naming_presenter_must_be_signed_by_us(config):
    # subscribe-rules trusts the identity in a token only if we signed it.
    forged = jwt.encode(
        {
            'iss': config.api_key_sid,
            'sub': config.account_sid,
            'exp': 2_000_000_000,
            'grants': {'identity': 'presenter', 'video': {'room': 'podium-x'}},
        },
        'not-the-api-key-secret-but-long-enough',
        algorithm='HS256',
    )
    with pytest.raises(InvalidToken):
        verify_token(config, forged, 'podium-x', 1_700_000_000)
