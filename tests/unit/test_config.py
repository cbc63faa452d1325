"""Config.from_env: defaults, required secrets and validation of every setting."""

from __future__ import annotations

import pytest

from podium.config import (
    DEFAULT_EMPTY_ROOM_TIMEOUT,
    DEFAULT_MAX_PARTICIPANTS,
    DEFAULT_REDIS_URL,
    DEFAULT_ROOM_CHECK_INTERVAL,
    DEFAULT_TOKEN_TTL,
    DEFAULT_TWILIO_API_URL,
    Config,
    ConfigError,
)

SECRETS = (
    'TWILIO_ACCOUNT_SID',
    'TWILIO_API_KEY_SID',
    'TWILIO_API_KEY_SECRET',
    'TWILIO_AUTH_TOKEN',
)


def test_defaults(env):
    for name in ('PODIUM_PUBLIC_URL', 'PODIUM_REDIS_URL', 'PODIUM_VIDEO_BACKEND'):
        del env[name]
    config = Config.from_env(env)
    assert config.public_url == 'http://localhost:8080'
    assert config.redis_url == DEFAULT_REDIS_URL
    assert config.video_backend == 'twilio'
    assert config.video_api_url == DEFAULT_TWILIO_API_URL
    assert config.token_ttl == DEFAULT_TOKEN_TTL
    assert config.empty_room_timeout == DEFAULT_EMPTY_ROOM_TIMEOUT
    assert config.max_participants == DEFAULT_MAX_PARTICIPANTS
    assert config.room_check_interval == DEFAULT_ROOM_CHECK_INTERVAL
    assert config.signal_url == 'ws://localhost:8080/video/signal'
    assert config.status_callback_url == 'http://localhost:8080/webhooks/room-events'


def test_reads_every_setting(env):
    env.update(
        {
            'PODIUM_PUBLIC_URL': 'https://podium.example.org/',
            'PODIUM_REDIS_URL': 'redis://127.0.0.1:7000/2',
            'PODIUM_VIDEO_BACKEND': ' Local ',
            'PODIUM_VIDEO_API_URL': 'http://127.0.0.1:8004/',
            'PODIUM_TOKEN_TTL': '600',
            'PODIUM_EMPTY_ROOM_TIMEOUT': '5',
            'PODIUM_MAX_PARTICIPANTS': '200',
            'PODIUM_ROOM_CHECK_INTERVAL': '30',
        }
    )
    config = Config.from_env(env)
    assert config.public_url == 'https://podium.example.org'
    assert config.redis_url == 'redis://127.0.0.1:7000/2'
    assert config.video_backend == 'local'
    assert config.video_api_url == 'http://127.0.0.1:8004'
    assert (config.token_ttl, config.empty_room_timeout) == (600, 5)
    assert (config.max_participants, config.room_check_interval) == (200, 30)
    assert config.signal_url == 'wss://podium.example.org/video/signal'
    assert (
        config.public_link('/presentations/x')
        == 'https://podium.example.org/presentations/x'
    )
    assert config.account_sid == env['TWILIO_ACCOUNT_SID']
    assert config.api_key_sid == env['TWILIO_API_KEY_SID']
    assert config.api_key_secret == env['TWILIO_API_KEY_SECRET']
    assert config.auth_token == env['TWILIO_AUTH_TOKEN']


def test_explicit_signal_url_wins(env):
    env['PODIUM_SIGNAL_URL'] = 'wss://video.example.org/signal'
    assert Config.from_env(env).signal_url == 'wss://video.example.org/signal'


def test_reads_os_environ_by_default(env, monkeypatch):
    for name, value in env.items():
        monkeypatch.setenv(name, value)
    assert Config.from_env().auth_token == env['TWILIO_AUTH_TOKEN']


@pytest.mark.parametrize('name', SECRETS)
@pytest.mark.parametrize('value', [None, '', '   '], ids=['unset', 'empty', 'blank'])
def test_missing_secret_names_the_variable(env, name, value):
    if value is None:
        del env[name]
    else:
        env[name] = value
    with pytest.raises(ConfigError, match=name):
        Config.from_env(env)


@pytest.mark.parametrize('backend', ['twilio', 'local'])
def test_missing_secret_message_fits_the_backend(env, backend):
    env['PODIUM_VIDEO_BACKEND'] = backend
    del env['TWILIO_API_KEY_SECRET']
    with pytest.raises(ConfigError) as info:
        Config.from_env(env)
    hint = 'Twilio console' if backend == 'twilio' else 'bin/podium up'
    assert hint in str(info.value)


def test_secrets_are_not_in_repr(config):
    text = repr(config)
    assert config.api_key_secret not in text
    assert config.auth_token not in text
    assert config.account_sid in text


@pytest.mark.parametrize(
    'url',
    [
        'podium.example.org',
        'ftp://podium.example.org',
        'https://',
        'https://podium.example.org/podium',
        'https://podium.example.org?x=1',
        'https://podium.example.org#top',
        '/relative',
    ],
)
def test_bad_public_url(env, url):
    env['PODIUM_PUBLIC_URL'] = url
    with pytest.raises(ConfigError, match='PODIUM_PUBLIC_URL'):
        Config.from_env(env)


@pytest.mark.parametrize(
    ('name', 'value'),
    [
        ('PODIUM_TOKEN_TTL', 'four hours'),
        ('PODIUM_TOKEN_TTL', '1.5'),
        ('PODIUM_TOKEN_TTL', '59'),
        ('PODIUM_TOKEN_TTL', '86401'),
        ('PODIUM_EMPTY_ROOM_TIMEOUT', '0'),
        ('PODIUM_EMPTY_ROOM_TIMEOUT', '61'),
        ('PODIUM_MAX_PARTICIPANTS', '1'),
        ('PODIUM_MAX_PARTICIPANTS', '51'),
        ('PODIUM_ROOM_CHECK_INTERVAL', '0'),
        ('PODIUM_ROOM_CHECK_INTERVAL', 'x'),
    ],
)
def test_bad_integer_names_the_variable(env, name, value):
    env[name] = value
    with pytest.raises(ConfigError, match=name):
        Config.from_env(env)


@pytest.mark.parametrize(
    ('name', 'value'),
    [
        ('PODIUM_TOKEN_TTL', '60'),
        ('PODIUM_TOKEN_TTL', '86400'),
        ('PODIUM_EMPTY_ROOM_TIMEOUT', '60'),
        ('PODIUM_MAX_PARTICIPANTS', '50'),
        ('PODIUM_MAX_PARTICIPANTS', '2'),
    ],
)
def test_integer_bounds_are_inclusive(env, name, value):
    env[name] = value
    Config.from_env(env)


def test_local_backend_allows_more_participants(env):
    env['PODIUM_VIDEO_BACKEND'] = 'local'
    env['PODIUM_MAX_PARTICIPANTS'] = '500'
    assert Config.from_env(env).max_participants == 500


@pytest.mark.parametrize('backend', ['zoom', 'twilio-video', 'loc al'])
def test_unknown_backend_is_rejected(env, backend):
    env['PODIUM_VIDEO_BACKEND'] = backend
    with pytest.raises(ConfigError, match='PODIUM_VIDEO_BACKEND'):
        Config.from_env(env)
