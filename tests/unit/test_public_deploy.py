"""Rendering the public-facing configs: nginx with TLS, coturn, Janus behind NAT."""

from __future__ import annotations

import re

import pytest

from launcher import Ports, Stack, StackError
from launcher.coturn import render_coturn_conf
from launcher.nginx import render_nginx_site, render_template
from local_video import config as local_video_config
from local_video.janus_config import write_config

TLS = {
    'PODIUM_TLS_CERT': '/etc/letsencrypt/live/podium.example.org/fullchain.pem',
    'PODIUM_TLS_KEY': '/etc/letsencrypt/live/podium.example.org/privkey.pem',
    'PODIUM_PUBLIC_URL': 'https://podium.example.org',
}
PORTS = Ports(http=80, https=443)


def test_sections_are_kept_only_when_they_apply():
    text = 'a\n# @if tls\nb\n# @end\n  # @if plain\nc\n  # @end\nd\n'
    assert render_template(text, {}, frozenset({'tls'})) == 'a\nb\nd\n'
    assert render_template(text, {}, frozenset({'plain'})) == 'a\nc\nd\n'


def test_without_a_certificate_nginx_serves_plain_http_on_loopback():
    site = render_nginx_site({}, PORTS)
    assert 'listen 127.0.0.1:80;' in site
    assert 'ssl' not in site and 'Strict-Transport-Security' not in site
    assert 'location ^~ /.well-known/acme-challenge/ {' in site
    assert not re.search(r'^\s*# @(if|end)', site, re.MULTILINE)


def test_with_a_certificate_nginx_serves_https_and_redirects_http():
    site = render_nginx_site({**TLS, 'PODIUM_NGINX_LISTEN': '0.0.0.0'}, PORTS)
    assert 'listen 0.0.0.0:443 ssl http2;' in site
    assert f'ssl_certificate {TLS["PODIUM_TLS_CERT"]};' in site
    assert f'ssl_certificate_key {TLS["PODIUM_TLS_KEY"]};' in site
    assert 'ssl_protocols TLSv1.2 TLSv1.3;' in site
    ciphers = re.search(r'ssl_ciphers (\S+);', site).group(1).split(':')
    assert ciphers and all(c.startswith('ECDHE-') for c in ciphers)
    assert all('GCM' in c or 'CHACHA20' in c for c in ciphers)
    assert 'add_header Strict-Transport-Security "max-age=63072000" always;' in site
    # Plain HTTP: the ACME challenge, then a redirect to the public URL.
    plain = site[: site.index('listen 0.0.0.0:443')]
    assert 'listen 0.0.0.0:80;' in plain
    assert 'location ^~ /.well-known/acme-challenge/ {' in plain
    assert 'root /var/www/letsencrypt;' in plain
    assert 'return 301 https://podium.example.org$request_uri;' in plain
    assert site.count('listen ') == 2


def test_ipv6_listen_addresses_get_brackets():
    site = render_nginx_site({'PODIUM_NGINX_LISTEN': '::'}, PORTS)
    assert 'listen [::]:80;' in site


@pytest.mark.parametrize(
    ('settings', 'message'),
    [
        ({'PODIUM_TLS_CERT': '/c.pem'}, 'PODIUM_TLS_KEY is not set'),
        ({'PODIUM_TLS_KEY': '/k.pem'}, 'PODIUM_TLS_CERT is not set'),
        ({**TLS, 'PODIUM_TLS_CERT': 'fullchain.pem'}, 'absolute path'),
        ({**TLS, 'PODIUM_PUBLIC_URL': 'http://podium.example.org'}, 'https://'),
        ({'PODIUM_NGINX_LISTEN': 'example.org'}, 'PODIUM_NGINX_LISTEN'),
    ],
)
def test_bad_tls_settings_are_refused(settings, message):
    with pytest.raises(StackError, match=message) as caught:
        render_nginx_site(settings, PORTS)
    assert caught.value.exit_code == 2


def test_stack_with_a_certificate_defaults_to_an_https_public_url(env, tmp_path):
    env.pop('PODIUM_PUBLIC_URL')
    cert = tmp_path / 'c.pem'
    stack = Stack(
        {**env, 'PODIUM_TLS_CERT': str(cert), 'PODIUM_TLS_KEY': str(cert)},
        tmp_path / 'run',
        Ports(http=9080, https=9443),
    )
    assert stack.url == 'https://localhost:9443'
    assert stack.local_url == 'https://127.0.0.1:9443'
    # A certificate that cannot be read stops the start before anything runs.
    with pytest.raises(StackError, match='PODIUM_TLS_CERT names'):
        stack.start()


def test_coturn_relays_only_to_janus_with_the_shared_secret():
    conf = render_coturn_conf(
        {
            'PODIUM_TURN_SECRET': 's' * 32,
            'PODIUM_PUBLIC_URL': 'https://podium.example.org',
            'PODIUM_JANUS_PUBLIC_IP': '203.0.113.5',
        },
        detect_ip=lambda: '10.0.0.5',
    )
    lines = [line for line in conf.splitlines() if line and not line.startswith('#')]
    assert 'use-auth-secret' in lines
    assert f'static-auth-secret={"s" * 32}' in lines
    assert 'realm=podium.example.org' in lines
    assert 'listening-ip=10.0.0.5' in lines and 'relay-ip=10.0.0.5' in lines
    assert 'external-ip=203.0.113.5/10.0.0.5' in lines
    assert 'denied-peer-ip=0.0.0.0-255.255.255.255' in lines
    assert 'allowed-peer-ip=10.0.0.5' in lines
    assert 'no-cli' in lines and 'no-tls' in lines
    assert not any(line.startswith(('user=', 'lt-cred-mech')) for line in lines)
    assert '${' not in conf.replace('${PODIUM_...}', '')


def test_coturn_needs_a_long_secret():
    with pytest.raises(StackError, match='PODIUM_TURN_SECRET'):
        render_coturn_conf(
            {'PODIUM_TURN_SECRET': 'short'}, detect_ip=lambda: '10.0.0.5'
        )


def test_janus_advertises_its_public_address_behind_a_nat(tmp_path):
    write_config(tmp_path / 'a', ice_ip='10.0.0.5', public_ip='203.0.113.5',
                 lib_dir=tmp_path)  # fmt: skip
    jcfg = (tmp_path / 'a' / 'janus.jcfg').read_text()
    assert 'nat_1_1_mapping = "203.0.113.5"' in jcfg
    assert 'ice_enforce_list = "10.0.0.5"' in jcfg
    write_config(tmp_path / 'b', ice_ip='10.0.0.5', lib_dir=tmp_path)
    assert 'nat_1_1_mapping' not in (tmp_path / 'b' / 'janus.jcfg').read_text()


def test_janus_public_ip_setting(env):
    env['PODIUM_JANUS_PUBLIC_IP'] = ' 203.0.113.5 '
    assert local_video_config.from_env(env).janus_public_ip == '203.0.113.5'
    env['PODIUM_JANUS_PUBLIC_IP'] = 'podium.example.org'
    with pytest.raises(local_video_config.ConfigError, match='PODIUM_JANUS_PUBLIC_IP'):
        local_video_config.from_env(env)
