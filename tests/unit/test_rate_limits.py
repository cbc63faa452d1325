"""Per-address rate limits on creating presentations and asking for tokens."""

from __future__ import annotations

import fakeredis
import falcon.testing
import pytest

from podium.config import ConfigError
from podium.store import Store, rate_limit_key
from tests.unit.test_token_service import NOW, FakeClock, FakeRooms
from token_service.app import create_app
from token_service.rate_limits import (
    ClientAddress,
    RateLimitSettings,
    parse_networks,
)

LIMITS = RateLimitSettings(presentations_per_minute=3, tokens_per_minute=4)


def app_on(server, config, clock, limits=LIMITS):
    store = Store(fakeredis.FakeRedis(server=server, decode_responses=True))
    return falcon.testing.TestClient(
        create_app(
            config, store=store, rooms=FakeRooms(), clock=clock, rate_limits=limits
        )
    )


@pytest.fixture
def server():
    return fakeredis.FakeServer()


@pytest.fixture
def clock():
    # A minute boundary, so the whole window lies ahead.
    return FakeClock(NOW - NOW % 60)


@pytest.fixture
def client(server, config, clock):
    return app_on(server, config, clock)


def create(client, **kwargs):
    return client.simulate_post('/api/presentations', json={'title': 'T'}, **kwargs)


def test_presentations_over_the_limit_get_429_with_retry_after(client, clock):
    assert [create(client).status_code for _ in range(3)] == [201] * 3
    clock.now += 15
    refused = create(client)
    assert refused.status_code == 429
    assert refused.headers['Retry-After'] == '45'
    assert refused.json['title'] == 'Too many requests'
    assert '3 times a minute' in refused.json['description']


def test_the_next_window_allows_again(client, clock):
    for _ in range(3):
        create(client)
    assert create(client).status_code == 429
    clock.now += 60
    assert create(client).status_code == 201


def test_tokens_are_limited_separately(client):
    presentation = create(client).json
    path = f'/api/presentations/{presentation["id"]}/tokens'
    codes = [
        client.simulate_post(path, json={'role': 'attendee'}).status_code
        for _ in range(5)
    ]
    assert codes == [200] * 4 + [429]
    # Presentations still have their own budget (1 of 3 used).
    assert create(client).status_code == 201


def test_invalid_requests_count_too(client):
    for _ in range(3):
        assert client.simulate_post('/api/presentations', json={}).status_code == 400
    assert create(client).status_code == 429


def test_other_routes_are_not_limited(client):
    for _ in range(5):
        create(client)
    assert client.simulate_get('/api/healthz').status_code == 200


def test_counters_are_shared_by_every_worker(server, config, clock):
    one, two = app_on(server, config, clock), app_on(server, config, clock)
    assert [create(c).status_code for c in (one, two, one)] == [201] * 3
    assert create(two).status_code == 429


def test_clients_behind_nginx_are_told_apart(client):
    def via_nginx(address):
        return create(
            client,
            remote_addr='127.0.0.1',
            headers={'X-Forwarded-For': address},
        ).status_code

    assert [via_nginx('203.0.113.1') for _ in range(4)] == [201] * 3 + [429]
    assert via_nginx('203.0.113.2') == 201


def test_an_untrusted_peer_cannot_pick_its_address(client):
    codes = [
        create(
            client,
            remote_addr='198.51.100.9',
            headers={'X-Forwarded-For': f'203.0.113.{n}'},
        ).status_code
        for n in range(4)
    ]
    assert codes == [201] * 3 + [429]


def test_a_limit_of_zero_turns_it_off(server, config, clock):
    client = app_on(
        server, config, clock, RateLimitSettings(presentations_per_minute=0)
    )
    assert {create(client).status_code for _ in range(20)} == {201}


# Which address a request comes from ------------------------------------------


class Req:
    def __init__(self, peer: str, forwarded: str | None = None):
        self.remote_addr = peer
        self._forwarded = forwarded

    def get_header(self, name):
        assert name == 'X-Forwarded-For'
        return self._forwarded


LOOPBACK = parse_networks('127.0.0.1,::1', 'test')


@pytest.mark.parametrize(
    ('peer', 'forwarded', 'client'),
    [
        ('198.51.100.7', None, '198.51.100.7'),
        ('198.51.100.7', '203.0.113.1', '198.51.100.7'),  # peer not trusted
        ('127.0.0.1', None, '127.0.0.1'),
        ('127.0.0.1', '203.0.113.1', '203.0.113.1'),
        # nginx appends the address it saw; entries left of it are client-chosen.
        ('127.0.0.1', '6.6.6.6, 203.0.113.1', '203.0.113.1'),
        # A trusted proxy in front of nginx: skip it, take the one it saw.
        ('127.0.0.1', '203.0.113.1, 127.0.0.1', '203.0.113.1'),
        ('127.0.0.1', 'garbage, 203.0.113.1', '203.0.113.1'),
        ('127.0.0.1', '203.0.113.1, garbage', '127.0.0.1'),
        ('::1', '2001:db8:1:2:3:4:5:6', '2001:db8:1:2::/64'),
        ('127.0.0.1', '::ffff:203.0.113.5', '203.0.113.5'),
        ('not-an-address', '203.0.113.1', 'unknown'),
    ],
)
def test_client_address(peer, forwarded, client):
    assert ClientAddress(LOOPBACK)(Req(peer, forwarded)) == client


def test_trusted_proxies_accept_networks():
    resolve = ClientAddress(parse_networks('10.0.0.0/8', 'test'))
    assert resolve(Req('10.1.2.3', '203.0.113.1')) == '203.0.113.1'
    assert resolve(Req('127.0.0.1', '203.0.113.1')) == '127.0.0.1'


# Settings and storage --------------------------------------------------------


def test_settings_defaults_and_environment():
    assert RateLimitSettings.from_env({}) == RateLimitSettings()
    assert RateLimitSettings().presentations_per_minute == 10
    assert RateLimitSettings().tokens_per_minute == 120
    custom = RateLimitSettings.from_env(
        {
            'PODIUM_RATE_LIMIT_PRESENTATIONS': '2',
            'PODIUM_RATE_LIMIT_TOKENS': '0',
            'PODIUM_TRUSTED_PROXIES': '10.0.0.1, 192.168.0.0/16',
        }
    )
    assert (custom.presentations_per_minute, custom.tokens_per_minute) == (2, 0)
    assert [str(n) for n in custom.trusted_proxies] == [
        '10.0.0.1/32',
        '192.168.0.0/16',
    ]


@pytest.mark.parametrize(
    ('name', 'value'),
    [
        ('PODIUM_RATE_LIMIT_PRESENTATIONS', '-1'),
        ('PODIUM_RATE_LIMIT_TOKENS', 'lots'),
        ('PODIUM_TRUSTED_PROXIES', 'nginx.local'),
    ],
)
def test_bad_settings_name_the_variable(name, value):
    with pytest.raises(ConfigError, match=name):
        RateLimitSettings.from_env({name: value})


def test_counters_expire_after_their_window(store):
    assert store.count_request('tokens', '203.0.113.1', 60, 120.5) == (1, 60)
    assert store.count_request('tokens', '203.0.113.1', 60, 179.2) == (2, 1)
    key = rate_limit_key('tokens', '203.0.113.1', 2)
    assert 0 < store.client.ttl(key) <= 61
    assert store.count_request('tokens', '203.0.113.1', 60, 180.0) == (1, 60)
