"""ICE servers for browsers: settings and per-participant TURN credentials."""

from __future__ import annotations

import base64
import hashlib
import hmac

import pytest

from podium.config import ConfigError, TokenServiceConfig
from podium.turn import ice_servers, turn_credentials

SECRET = 'shared-turn-secret-0123456789'


def test_turn_credentials_follow_the_turn_rest_api_scheme():
    username, credential = turn_credentials(SECRET, 'attendee-00ff', 1_800_000_000)
    assert username == '1800000000:attendee-00ff'
    expected = hmac.new(SECRET.encode(), username.encode(), hashlib.sha1).digest()
    assert base64.b64decode(credential) == expected
    # Another participant or another expiry never shares a password.
    assert turn_credentials(SECRET, 'attendee-00fe', 1_800_000_000)[1] != credential
    assert turn_credentials(SECRET, 'attendee-00ff', 1_800_000_001)[1] != credential


def test_no_ice_servers_unless_configured(env):
    assert ice_servers(TokenServiceConfig.from_env(env), 'presenter', 1000.0) == []


def test_ice_servers_carry_stun_and_expiring_turn_credentials(env):
    env.update(
        PODIUM_STUN_URLS='stun:turn.example.org:3478',
        PODIUM_TURN_URLS='turn:turn.example.org:3478?transport=udp, '
        'turns:turn.example.org:443?transport=tcp',
        PODIUM_TURN_SECRET=SECRET,
        PODIUM_TURN_TTL='3600',
    )
    config = TokenServiceConfig.from_env(env)
    assert 'SECRET' not in repr(config) and SECRET not in repr(config)
    stun, turn = ice_servers(config, 'presenter', 1000.9)
    assert stun == {'urls': ['stun:turn.example.org:3478']}
    assert turn['urls'] == [
        'turn:turn.example.org:3478?transport=udp',
        'turns:turn.example.org:443?transport=tcp',
    ]
    assert turn['username'] == '4600:presenter'
    assert turn['credential'] == turn_credentials(SECRET, 'presenter', 4600)[1]


def test_turn_ttl_defaults_to_the_token_ttl(env):
    env.update(
        PODIUM_TURN_URLS='turn:t.example.org', PODIUM_TURN_SECRET=SECRET,
        PODIUM_TOKEN_TTL='7200',
    )  # fmt: skip
    assert TokenServiceConfig.from_env(env).turn_ttl == 7200


@pytest.mark.parametrize(
    ('settings', 'message'),
    [
        ({'PODIUM_TURN_URLS': 'turn:t.example.org'}, 'PODIUM_TURN_SECRET is not set'),
        (
            {'PODIUM_TURN_URLS': 'turn:t.example.org', 'PODIUM_TURN_SECRET': 'short'},
            'at least 16',
        ),
        ({'PODIUM_TURN_URLS': 'http://t.example.org'}, 'PODIUM_TURN_URLS must list'),
        ({'PODIUM_STUN_URLS': 'turn:t.example.org'}, 'PODIUM_STUN_URLS must list'),
        ({'PODIUM_STUN_URLS': 'stun:'}, 'PODIUM_STUN_URLS must list'),
        (
            {
                'PODIUM_TURN_URLS': 'turn:t.example.org',
                'PODIUM_TURN_SECRET': SECRET,
                'PODIUM_TURN_TTL': '10',
            },
            'PODIUM_TURN_TTL must be between',
        ),
    ],
)
def test_bad_ice_settings_name_the_variable(env, settings, message):
    env.update(settings)
    with pytest.raises(ConfigError, match=message):
        TokenServiceConfig.from_env(env)
