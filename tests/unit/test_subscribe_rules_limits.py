"""Subscribe rules cost Twilio REST writes: limited, and never sent twice."""

from __future__ import annotations

import falcon.testing
import pytest

from podium import stage
from podium.config import ConfigError
from podium.store import sent_rules_key
from tests.unit.test_token_service import (
    NOW,
    FakeClock,
    FakeRooms,
    create,
    presenter_token,
    subscribe,
    token,
    twilio_error,
)
from token_service.app import create_app
from token_service.rate_limits import RateLimitSettings
from token_service.subscribe_rules import token_fingerprint

pytestmark = pytest.mark.filterwarnings('ignore::jwt.warnings.InsecureKeyLengthWarning')

LIMITS = RateLimitSettings(
    subscribe_rules_per_minute=3, subscribe_rules_per_presentation_per_second=2
)
ATTENDEE_RULES = stage.audience_rules(3)


@pytest.fixture
def clock():
    # A minute boundary, so whole windows lie ahead.
    return FakeClock(NOW - NOW % 60)


@pytest.fixture
def rooms():
    return FakeRooms()


@pytest.fixture
def client(config, store, rooms, clock):
    return falcon.testing.TestClient(
        create_app(config, store=store, rooms=rooms, clock=clock, rate_limits=LIMITS)
    )


@pytest.fixture
def presentation(client):
    return create(client)


def writes(rooms) -> int:
    return len(rooms.named('set_subscribe_rules'))


def assert_429(result, retry_after: str, says: str) -> None:
    assert result.status_code == 429, result.text
    assert result.headers['Retry-After'] == retry_after
    assert result.headers['content-type'].startswith('application/json')
    assert result.json['title'] == 'Too many requests'
    assert says in result.json['description']


# Not sending what is already set ---------------------------------------------------


def test_an_identical_request_makes_no_second_write(client, rooms, presentation):
    issued = token(client, presentation).json

    first = subscribe(client, presentation, issued['token'])
    again = subscribe(client, presentation, issued['token'])

    assert first.status_code == again.status_code == 200
    assert (
        again.json
        == first.json
        == {
            'identity': issued['identity'],
            'rules': ATTENDEE_RULES,
        }
    )
    assert writes(rooms) == 1


def test_a_new_connection_of_the_same_identity_gets_its_rules_again(
    client, rooms, presentation, clock
):
    # The presenter reloads: a new token (so a new participant), same identity.
    first = presenter_token(client, presentation).json
    assert subscribe(client, presentation, first['token']).status_code == 200
    clock.now += 1
    second = presenter_token(client, presentation).json
    assert second['token'] != first['token']

    assert subscribe(client, presentation, second['token']).status_code == 200

    assert writes(rooms) == 2


def test_rules_refused_by_the_video_service_are_not_remembered(
    client, rooms, presentation
):
    issued = token(client, presentation).json
    rooms.errors['set_subscribe_rules'] = twilio_error(404, 53204)

    assert subscribe(client, presentation, issued['token']).status_code == 409
    assert subscribe(client, presentation, issued['token']).status_code == 200

    assert writes(rooms) == 2


def test_what_is_remembered_names_the_token_without_storing_it(
    client, store, presentation, config
):
    issued = token(client, presentation).json
    subscribe(client, presentation, issued['token'])

    key = sent_rules_key(presentation['id'], issued['identity'])
    stored = store.sent_rules(presentation['id'], issued['identity'])
    assert stored == {
        'token': token_fingerprint(issued['token']),
        'rules': ATTENDEE_RULES,
    }
    assert issued['token'] not in store.client.get(key)
    assert 0 < store.client.ttl(key) <= config.token_ttl


# Per identity ----------------------------------------------------------------------


def test_one_identity_is_limited_per_minute(client, presentation, clock):
    issued = token(client, presentation).json
    codes = [
        subscribe(client, presentation, issued['token']).status_code for _ in range(3)
    ]
    assert codes == [200] * 3
    clock.now += 20

    assert_429(
        subscribe(client, presentation, issued['token']), '40', '3 times a minute'
    )

    clock.now += 40
    assert subscribe(client, presentation, issued['token']).status_code == 200


def test_identities_are_limited_separately(client, presentation):
    first, second = (token(client, presentation).json for _ in range(2))
    for _ in range(3):
        subscribe(client, presentation, first['token'])
    assert subscribe(client, presentation, first['token']).status_code == 429

    assert subscribe(client, presentation, second['token']).status_code == 200


def test_unauthenticated_requests_spend_no_identity_budget(client, presentation):
    issued = token(client, presentation).json
    for _ in range(5):
        assert subscribe(client, presentation, 'forged').status_code == 401

    assert subscribe(client, presentation, issued['token']).status_code == 200


# Per presentation ------------------------------------------------------------------


def test_a_presentation_gets_a_budget_of_writes_per_second(
    client, rooms, presentation, clock
):
    issued = [token(client, presentation).json for _ in range(4)]
    codes = [
        subscribe(client, presentation, i['token']).status_code for i in issued[:2]
    ]
    assert codes == [200, 200]
    clock.now += 0.5

    assert_429(
        subscribe(client, presentation, issued[2]['token']),
        '1',
        'at most 2 a second',
    )
    assert writes(rooms) == 2

    clock.now += 0.5
    assert subscribe(client, presentation, issued[2]['token']).status_code == 200
    assert writes(rooms) == 3


def test_rules_already_set_spend_no_write_budget(client, rooms, presentation):
    first, second = (token(client, presentation).json for _ in range(2))
    subscribe(client, presentation, first['token'])
    subscribe(client, presentation, first['token'])  # answered from the store

    assert subscribe(client, presentation, second['token']).status_code == 200
    assert writes(rooms) == 2


def test_presentations_have_their_own_write_budgets(client, rooms):
    talks = [create(client) for _ in range(2)]
    for talk in talks:
        for _ in range(2):
            issued = token(client, talk).json
            assert subscribe(client, talk, issued['token']).status_code == 200
    assert writes(rooms) == 4


def test_limits_of_zero_turn_them_off(config, store, rooms, clock):
    off = RateLimitSettings(
        subscribe_rules_per_minute=0, subscribe_rules_per_presentation_per_second=0
    )
    client = falcon.testing.TestClient(
        create_app(config, store=store, rooms=rooms, clock=clock, rate_limits=off)
    )
    presentation = create(client)
    issued = [token(client, presentation).json for _ in range(5)]
    for each in issued:
        for _ in range(5):
            assert subscribe(client, presentation, each['token']).status_code == 200
    assert writes(rooms) == 5


# Settings --------------------------------------------------------------------------


def test_settings_defaults_and_environment():
    defaults = RateLimitSettings.from_env({})
    assert defaults.subscribe_rules_per_minute == 12
    assert defaults.subscribe_rules_per_presentation_per_second == 10
    custom = RateLimitSettings.from_env(
        {
            'PODIUM_RATE_LIMIT_SUBSCRIBE_RULES': '5',
            'PODIUM_RATE_LIMIT_SUBSCRIBE_RULES_PER_PRESENTATION': '0',
        }
    )
    assert custom.subscribe_rules_per_minute == 5
    assert custom.subscribe_rules_per_presentation_per_second == 0


def test_the_local_backend_has_no_per_presentation_budget_unless_set():
    local = RateLimitSettings.from_env({}, backend='local')
    assert local.subscribe_rules_per_presentation_per_second == 0
    assert local.subscribe_rules_per_minute == 12  # per participant: kept
    chosen = RateLimitSettings.from_env(
        {'PODIUM_RATE_LIMIT_SUBSCRIBE_RULES_PER_PRESENTATION': '25'},
        backend='local',
    )
    assert chosen.subscribe_rules_per_presentation_per_second == 25


@pytest.mark.parametrize(
    ('name', 'value', 'unit'),
    [
        ('PODIUM_RATE_LIMIT_SUBSCRIBE_RULES', '-3', 'per minute'),
        ('PODIUM_RATE_LIMIT_SUBSCRIBE_RULES_PER_PRESENTATION', '1.5', 'per second'),
    ],
)
def test_bad_settings_name_the_variable_and_unit(name, value, unit):
    with pytest.raises(ConfigError, match=f'{name} .*{unit}'):
        RateLimitSettings.from_env({name: value})
