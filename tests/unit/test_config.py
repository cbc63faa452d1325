"""Each service's config: defaults, only its own secrets, every setting checked."""

from __future__ import annotations

import pytest

from podium.config import (
    DEFAULT_EMPTY_ROOM_TIMEOUT,
    DEFAULT_REDIS_URL,
    DEFAULT_ROOM_CHECK_INTERVAL,
    DEFAULT_TOKEN_TTL,
    DEFAULT_TWILIO_API_URL,
    LOCAL_PARTICIPANTS_PER_CORE,
    SECRET_VARS,
    SERVICE_SECRETS,
    TWILIO_MAX_PARTICIPANTS,
    ConfigError,
    TokenServiceConfig,
    WebConfig,
    WebhooksConfig,
    default_max_participants,
    service_environment,
)

# The token service's own secrets; the Auth Token is not one of them.
SECRETS = (
    'TWILIO_ACCOUNT_SID',
    'TWILIO_API_KEY_SID',
    'TWILIO_API_KEY_SECRET',
    'PODIUM_SECRET_KEY',
)
CONFIGS = {'web': WebConfig, 'token': TokenServiceConfig, 'webhooks': WebhooksConfig}


def test_defaults(env):
    for name in ('PODIUM_PUBLIC_URL', 'PODIUM_REDIS_URL', 'PODIUM_VIDEO_BACKEND'):
        del env[name]
    config = TokenServiceConfig.from_env(env)
    assert config.public_url == 'http://localhost:8080'
    assert config.redis_url == DEFAULT_REDIS_URL
    assert config.video_backend == 'twilio'
    assert config.video_api_url == DEFAULT_TWILIO_API_URL
    assert config.token_ttl == DEFAULT_TOKEN_TTL
    assert config.empty_room_timeout == DEFAULT_EMPTY_ROOM_TIMEOUT
    assert config.max_participants == TWILIO_MAX_PARTICIPANTS
    assert config.room_check_interval == DEFAULT_ROOM_CHECK_INTERVAL
    assert config.stage_slots == 3
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
            'PODIUM_STAGE_SLOTS': '5',
        }
    )
    config = TokenServiceConfig.from_env(env)
    assert config.stage_slots == 5
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
    assert not hasattr(config, 'auth_token')


def test_explicit_signal_url_wins(env):
    env['PODIUM_SIGNAL_URL'] = 'wss://video.example.org/signal'
    assert (
        TokenServiceConfig.from_env(env).signal_url == 'wss://video.example.org/signal'
    )


def test_reads_os_environ_by_default(env, monkeypatch):
    for name, value in env.items():
        monkeypatch.setenv(name, value)
    assert TokenServiceConfig.from_env().secret_key == env['PODIUM_SECRET_KEY']


@pytest.mark.parametrize('name', SECRETS)
@pytest.mark.parametrize('value', [None, '', '   '], ids=['unset', 'empty', 'blank'])
def test_missing_secret_names_the_variable(env, name, value):
    if value is None:
        del env[name]
    else:
        env[name] = value
    with pytest.raises(ConfigError, match=name):
        TokenServiceConfig.from_env(env)


@pytest.mark.parametrize('backend', ['twilio', 'local'])
def test_missing_secret_message_fits_the_backend(env, backend):
    env['PODIUM_VIDEO_BACKEND'] = backend
    del env['TWILIO_API_KEY_SECRET']
    with pytest.raises(ConfigError) as info:
        TokenServiceConfig.from_env(env)
    hint = 'Twilio console' if backend == 'twilio' else 'bin/podium up'
    assert hint in str(info.value)


def test_secrets_are_not_in_repr(config):
    text = repr(config)
    assert config.api_key_secret not in text
    assert config.secret_key not in text
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
        TokenServiceConfig.from_env(env)


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
        ('PODIUM_STAGE_SLOTS', '0'),
        ('PODIUM_STAGE_SLOTS', '11'),
    ],
)
def test_bad_integer_names_the_variable(env, name, value):
    env[name] = value
    with pytest.raises(ConfigError, match=name):
        TokenServiceConfig.from_env(env)


@pytest.mark.parametrize(
    ('name', 'value'),
    [
        ('PODIUM_TOKEN_TTL', '60'),
        ('PODIUM_TOKEN_TTL', '86400'),
        ('PODIUM_EMPTY_ROOM_TIMEOUT', '60'),
        ('PODIUM_MAX_PARTICIPANTS', '50'),
        ('PODIUM_MAX_PARTICIPANTS', '2'),
        ('PODIUM_STAGE_SLOTS', '1'),
        ('PODIUM_STAGE_SLOTS', '10'),
    ],
)
def test_integer_bounds_are_inclusive(env, name, value):
    env[name] = value
    TokenServiceConfig.from_env(env)


def test_local_backend_allows_more_participants(env):
    env['PODIUM_VIDEO_BACKEND'] = 'local'
    env['PODIUM_MAX_PARTICIPANTS'] = '500'
    assert TokenServiceConfig.from_env(env).max_participants == 500


@pytest.mark.parametrize('backend', ['zoom', 'twilio-video', 'loc al'])
def test_unknown_backend_is_rejected(env, backend):
    env['PODIUM_VIDEO_BACKEND'] = backend
    with pytest.raises(ConfigError, match='PODIUM_VIDEO_BACKEND'):
        TokenServiceConfig.from_env(env)


def test_local_default_room_size_scales_with_cores(env):
    env['PODIUM_VIDEO_BACKEND'] = 'local'
    assert TokenServiceConfig.from_env(env).max_participants == (
        default_max_participants('local')
    )
    assert default_max_participants('local', cpus=2) == 2 * LOCAL_PARTICIPANTS_PER_CORE
    assert default_max_participants('local', cpus=2) > TWILIO_MAX_PARTICIPANTS
    assert default_max_participants('twilio', cpus=64) == TWILIO_MAX_PARTICIPANTS


@pytest.mark.parametrize('service', sorted(CONFIGS))
def test_each_service_starts_with_exactly_its_settings(env, service):
    env['PODIUM_TURN_SECRET'] = 'turn-secret-0123456789'
    own = service_environment(service, env)
    assert set(own) & set(SECRET_VARS) == set(SERVICE_SECRETS[service])
    CONFIGS[service].from_env(own)


@pytest.mark.parametrize(
    ('service', 'name'),
    [(s, n) for s in sorted(CONFIGS) for n in SERVICE_SECRETS[s]
     if n != 'PODIUM_TURN_SECRET'],
)  # fmt: skip
def test_each_service_refuses_to_start_without_one_of_its_secrets(env, service, name):
    own = service_environment(service, env)
    del own[name]
    with pytest.raises(ConfigError, match=name):
        CONFIGS[service].from_env(own)


def test_the_web_service_holds_no_secret(env):
    config = WebConfig.from_env(service_environment('web', env))
    values = set(vars(config).values())
    assert not values & {env[name] for name in SECRET_VARS if name in env}


def test_webhooks_never_hold_the_presenter_key_secret(env):
    config = WebhooksConfig.from_env(service_environment('webhooks', env))
    assert env['PODIUM_SECRET_KEY'] not in set(vars(config).values())
    assert config.auth_token == env['TWILIO_AUTH_TOKEN']
