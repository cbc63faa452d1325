"""Presenter keys derived from PODIUM_SECRET_KEY: nothing stored, nothing to lose."""

from __future__ import annotations

import base64
import hashlib
import hmac
import stat

import falcon.testing
import pytest

from launcher.settings import StackError, persistent_secret_key
from podium.config import ConfigError, TokenServiceConfig
from token_service.access import key_matches, presenter_key
from token_service.app import create_app

from .test_token_service import FakeClock, FakeRooms


def test_key_is_the_documented_hmac(config):
    expected = base64.urlsafe_b64encode(
        hmac.new(
            config.secret_key.encode(), b'presenter-key:talk1', hashlib.sha256
        ).digest()
    ).rstrip(b'=')
    assert presenter_key(config.secret_key, 'talk1') == expected.decode()
    assert len(base64.urlsafe_b64decode(expected + b'=')) * 8 >= 128


def test_keys_differ_by_presentation_and_by_secret(config):
    assert presenter_key(config.secret_key, 'a') != presenter_key(
        config.secret_key, 'b'
    )
    assert presenter_key('x' * 32, 'a') != presenter_key('y' * 32, 'a')


@pytest.mark.parametrize('key', [None, '', 42, 'wrong', 'ü'])
def test_anything_but_the_key_is_refused(config, key):
    assert not key_matches(config.secret_key, 'talk1', key)
    assert key_matches(
        config.secret_key, 'talk1', presenter_key(config.secret_key, 'talk1')
    )


def test_secret_key_is_required(env):
    del env['PODIUM_SECRET_KEY']
    with pytest.raises(ConfigError, match='PODIUM_SECRET_KEY'):
        TokenServiceConfig.from_env(env)


def test_secret_key_must_be_long(env):
    env['PODIUM_SECRET_KEY'] = 'short'
    with pytest.raises(ConfigError, match='PODIUM_SECRET_KEY.*at least 32'):
        TokenServiceConfig.from_env(env)


def test_secret_key_is_not_in_repr(config):
    assert config.secret_key not in repr(config)


def test_launcher_keeps_one_secret_key_per_run_dir(tmp_path):
    first = persistent_secret_key(tmp_path)
    assert len(first) >= 32
    assert persistent_secret_key(tmp_path) == first
    mode = stat.S_IMODE((tmp_path / 'secret_key').stat().st_mode)
    assert mode == 0o600
    assert persistent_secret_key(tmp_path / 'other') != first


def test_launcher_refuses_a_damaged_secret_key_file(tmp_path):
    (tmp_path / 'secret_key').write_text('short\n')
    with pytest.raises(StackError, match='secret_key'):
        persistent_secret_key(tmp_path)


@pytest.fixture
def client(config, store):
    return falcon.testing.TestClient(
        create_app(config, store=store, rooms=FakeRooms(), clock=FakeClock())
    )


def test_presenter_link_survives_the_loss_of_redis(client, store, config):
    created = client.simulate_post('/api/presentations', json={'title': 'T'}).json
    store.client.flushall()  # Redis restarted empty, before any room opened

    path = f'/api/presentations/{created["id"]}/tokens'
    assert client.simulate_post(path, json={'role': 'attendee'}).status_code == 404
    wrong = client.simulate_post(path, json={'role': 'presenter', 'key': 'nope'})
    assert wrong.status_code == 404  # an unknown id stays unknown without the key
    result = client.simulate_post(
        path, json={'role': 'presenter', 'key': created['presenter_key']}
    )

    assert result.status_code == 200, result.text
    assert result.json['identity'] == 'presenter'
    restored = store.get_presentation(created['id'])
    assert restored['title'] == ''
    # And the audience can follow again.
    assert client.simulate_post(path, json={'role': 'attendee'}).status_code == 200


def test_wrong_key_for_a_known_presentation_is_403(client):
    created = client.simulate_post('/api/presentations', json={'title': 'T'}).json
    result = client.simulate_post(
        f'/api/presentations/{created["id"]}/tokens',
        json={'role': 'presenter', 'key': presenter_key('z' * 32, created['id'])},
    )
    assert result.status_code == 403
