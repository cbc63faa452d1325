"""Janus config generation: loopback only, no default secrets, one ICE address."""

from __future__ import annotations

import re

import pytest

from local_video.config import ConfigError, from_env
from local_video.janus_config import detect_interface_ip, write_config
from tests.conftest import TEST_ENV


@pytest.fixture
def fake_lib(tmp_path):
    lib = tmp_path / 'lib'
    for kind, name in (
        ('plugins', 'libjanus_videoroom.so'),
        ('transports', 'libjanus_http.so'),
    ):
        (lib / kind).mkdir(parents=True)
        (lib / kind / name).write_text('')
        (lib / kind / 'libjanus_other.so').write_text('')
    return lib


def test_config_is_loopback_only_with_random_secrets(tmp_path, fake_lib):
    first = write_config(tmp_path / 'a', ice_ip='192.0.2.7', lib_dir=fake_lib)
    second = write_config(tmp_path / 'b', ice_ip='192.0.2.7', lib_dir=fake_lib)
    main = (first.folder / 'janus.jcfg').read_text()
    http = (first.folder / 'janus.transport.http.jcfg').read_text()
    assert 'janusoverlord' not in main
    assert first.api_secret != second.api_secret
    assert first.admin_secret != second.admin_secret
    assert f'api_secret = "{first.api_secret}"' in main
    assert f'admin_secret = "{first.admin_secret}"' in main
    assert 'ice_enforce_list = "192.0.2.7"' in main
    assert 'ignore_mdns = true' in main
    assert re.findall(r'\b(?:admin_)?ip = "([^"]+)"', http) == [
        '127.0.0.1',
        '127.0.0.1',
    ]
    assert 'https = false' in http
    # Only the VideoRoom plugin and the HTTP transport can load.
    assert [p.name for p in (first.folder / 'plugins').iterdir()] == [
        'libjanus_videoroom.so'
    ]
    assert [p.name for p in (first.folder / 'transports').iterdir()] == [
        'libjanus_http.so'
    ]
    assert (first.folder / 'janus.jcfg').stat().st_mode & 0o077 == 0


def test_interface_detection_without_traffic():
    address = detect_interface_ip()
    assert not address.startswith('127.')
    assert detect_interface_ip('198.51.100.3') == '198.51.100.3'


def test_settings_from_env():
    config = from_env(
        {
            **TEST_ENV,
            'PODIUM_LOCAL_VIDEO_PORT': '9100',
            'PODIUM_JANUS_INTERFACE': 'eth9',
        }
    )
    assert (config.port, config.janus_interface, config.host) == (
        9100,
        'eth9',
        '127.0.0.1',
    )
    with pytest.raises(ConfigError, match='TWILIO_API_KEY_SECRET'):
        from_env({k: v for k, v in TEST_ENV.items() if k != 'TWILIO_API_KEY_SECRET'})
    with pytest.raises(ConfigError, match='PODIUM_JANUS_RTP_PORTS'):
        from_env({**TEST_ENV, 'PODIUM_JANUS_RTP_PORTS': '5-2'})


def test_stage_slots_are_read_like_the_token_service_reads_them():
    assert from_env(TEST_ENV).stage_slots == 3
    assert from_env({**TEST_ENV, 'PODIUM_STAGE_SLOTS': '5'}).stage_slots == 5
    for bad in ('0', '11', 'three', '-1'):
        with pytest.raises(ConfigError, match='PODIUM_STAGE_SLOTS'):
            from_env({**TEST_ENV, 'PODIUM_STAGE_SLOTS': bad})
