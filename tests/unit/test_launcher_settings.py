"""The dev stack's settings, backend choice and nginx rendering, without processes."""

from __future__ import annotations

import re
from pathlib import Path

import pytest

from launcher.nginx import NGINX_TEMPLATE, render_nginx_site, render_template
from launcher.settings import (
    EXIT_CONFIG,
    TWILIO_VARS,
    Ports,
    StackError,
    clean_settings,
    resolve_backend,
)
from launcher.supervisor import Stack
from podium.config import SECRET_VARS, SERVICE_SECRETS, gather_settings
from tests.conftest import TEST_ENV

ROOT_DIR = Path(__file__).resolve().parents[2]


def test_no_twilio_variable_means_local_backend_with_fresh_credentials():
    first = resolve_backend({}, local_video_port=9104)
    second = resolve_backend({}, local_video_port=9104)

    assert first['PODIUM_VIDEO_BACKEND'] == 'local'
    assert first['PODIUM_VIDEO_API_URL'] == 'http://127.0.0.1:9104'
    assert re.fullmatch(r'AC[0-9a-f]{32}', first['TWILIO_ACCOUNT_SID'])
    assert re.fullmatch(r'SK[0-9a-f]{32}', first['TWILIO_API_KEY_SID'])
    for name in TWILIO_VARS:
        assert first[name] != second[name]  # made up per run


def test_full_twilio_settings_mean_twilio_backend_untouched():
    settings = resolve_backend(dict(TEST_ENV, PODIUM_VIDEO_BACKEND=''), 9104)

    assert settings['PODIUM_VIDEO_BACKEND'] == 'twilio'
    for name in TWILIO_VARS:
        assert settings[name] == TEST_ENV[name]
    assert 'PODIUM_VIDEO_API_URL' not in settings


@pytest.mark.parametrize('missing', TWILIO_VARS[1:])
def test_partial_twilio_settings_name_the_missing_variable(missing):
    env = {k: v for k, v in TEST_ENV.items() if k != missing}
    env.pop('PODIUM_VIDEO_BACKEND')

    with pytest.raises(StackError) as caught:
        resolve_backend(env, 9104)

    assert caught.value.exit_code == EXIT_CONFIG
    assert str(caught.value).startswith(f'{missing} is not set')


def test_explicit_twilio_backend_without_credentials_is_refused():
    with pytest.raises(StackError, match='TWILIO_ACCOUNT_SID is not set'):
        resolve_backend({'PODIUM_VIDEO_BACKEND': 'twilio'}, 9104)


def test_other_config_errors_stop_the_start_with_exit_2():
    with pytest.raises(StackError, match='PODIUM_PUBLIC_URL') as caught:
        resolve_backend({'PODIUM_PUBLIC_URL': 'localhost:8080'}, 9104)
    assert caught.value.exit_code == EXIT_CONFIG


def test_empty_values_count_as_unset():
    # A copied .env.example leaves `TWILIO_ACCOUNT_SID=` lines behind.
    assert clean_settings({'TWILIO_ACCOUNT_SID': '', 'A': ' ', 'B': 'x'}) == {'B': 'x'}


def test_environment_wins_over_env_file(tmp_path):
    env_file = tmp_path / '.env'
    env_file.write_text(
        '# comment\nPODIUM_HTTP_PORT=9090\nexport PODIUM_WEB_PORT="9091"\n'
        "PODIUM_PUBLIC_URL='http://localhost:9090' # trailing\n"
    )

    settings = gather_settings(env_file, {'PODIUM_WEB_PORT': '7001'})

    assert settings['PODIUM_HTTP_PORT'] == '9090'
    assert settings['PODIUM_WEB_PORT'] == '7001'
    assert settings['PODIUM_PUBLIC_URL'] == 'http://localhost:9090'
    assert gather_settings(tmp_path / 'absent', {}) == {}


def test_ports_come_from_the_environment_and_the_redis_url():
    ports = Ports.from_env(
        {'PODIUM_HTTP_PORT': '9000', 'PODIUM_REDIS_URL': 'redis://127.0.0.1:7777/2'}
    )
    assert (ports.http, ports.web, ports.redis) == (9000, 8001, 7777)

    with pytest.raises(StackError, match='PODIUM_TOKEN_PORT must be a TCP port'):
        Ports.from_env({'PODIUM_TOKEN_PORT': 'eighty'})


def test_ports_rewrite_the_redis_url_keeping_password_and_database():
    ports = Ports(redis=7000)
    env = ports.as_env('redis://:s3cret@127.0.0.1:6390/3')
    assert env['PODIUM_REDIS_URL'] == 'redis://:s3cret@127.0.0.1:7000/3'
    assert env['PODIUM_HTTP_PORT'] == '8080'


def test_free_ports_are_distinct():
    ports = Ports.free()
    values = [ports.http, ports.web, ports.token, ports.webhooks, ports.local_video]
    assert len(set(values + [ports.redis])) == 6


def test_template_fills_podium_placeholders_and_keeps_nginx_variables():
    text = 'listen ${PODIUM_HTTP_PORT}; proxy_set_header Host $http_host; ${host}'
    assert render_template(text, {'PODIUM_HTTP_PORT': '81'}) == (
        'listen 81; proxy_set_header Host $http_host; ${host}'
    )
    with pytest.raises(StackError, match='PODIUM_WEB_PORT'):
        render_template('${PODIUM_WEB_PORT}', {})


def test_rendered_site_routes_each_prefix_to_its_port():
    ports = Ports(http=9080, web=9001, token=9002, webhooks=9003, local_video=9004)
    site = render_nginx_site({}, ports)

    assert '${' not in site.replace('${PODIUM_...}', '')
    assert 'listen 127.0.0.1:9080;' in site
    for upstream, port in (
        ('podium_web', 9001),
        ('podium_token', 9002),
        ('podium_webhooks', 9003),
        ('podium_local_video', 9004),
    ):
        assert re.search(rf'upstream {upstream} {{\s+server 127\.0\.0\.1:{port};', site)
    assert 'access_log /var/log/nginx/podium.access.log podium_noquery;' in site
    # The log format must not include the query string.
    log_format = site[
        site.index('log_format') : site.index(';', site.index('log_format'))
    ]
    assert '$request ' not in log_format and '$args' not in log_format
    assert NGINX_TEMPLATE.is_file()


def test_stack_defaults_public_url_to_its_nginx_port(tmp_path):
    ports = Ports.free()
    stack = Stack({}, tmp_path, ports)

    assert stack.url == f'http://localhost:{ports.http}'
    assert stack.backend == 'local'
    assert stack.settings['PODIUM_REDIS_URL'] == f'redis://127.0.0.1:{ports.redis}/0'
    assert stack.settings['PODIUM_LOCAL_VIDEO_PORT'] == str(ports.local_video)


def test_children_never_inherit_the_shells_podium_settings(tmp_path, monkeypatch):
    monkeypatch.setenv('TWILIO_AUTH_TOKEN', 'from-the-shell')
    monkeypatch.setenv('PODIUM_SOMETHING_ELSE', 'from-the-shell')
    stack = Stack(TEST_ENV, tmp_path, Ports.free())

    env = stack.child_env('webhooks')

    assert env['TWILIO_AUTH_TOKEN'] == TEST_ENV['TWILIO_AUTH_TOKEN']
    assert 'PODIUM_SOMETHING_ELSE' not in env
    assert env['PATH']


@pytest.mark.parametrize('service', ['web', 'token', 'webhooks', 'local_video', None])
def test_each_child_gets_only_its_own_secrets(tmp_path, service):
    stack = Stack({**TEST_ENV, 'PODIUM_VIDEO_BACKEND': 'local'}, tmp_path)
    env = stack.child_env(service)
    given = {name for name in SECRET_VARS if name in env}
    assert given == set(SERVICE_SECRETS[service or 'web']) & set(stack.settings)
    if service in (None, 'web'):
        assert not given


def test_split_settings_gives_each_unit_only_its_secrets(tmp_path):
    from launcher.__main__ import main

    source = tmp_path / 'all.env'
    source.write_text(''.join(f'{k}={v}\n' for k, v in TEST_ENV.items()))
    out = tmp_path / 'etc'
    assert main(['split-settings', '--env-file', str(source), '--out', str(out)]) == 0
    public = gather_settings(out / 'podium.env', {})
    assert not set(public) & set(SECRET_VARS)
    assert public['PODIUM_PUBLIC_URL'] == TEST_ENV['PODIUM_PUBLIC_URL']
    assert (out / 'podium.env').stat().st_mode & 0o777 == 0o644
    for service, name in [
        ('token', 'token.env'),
        ('webhooks', 'webhooks.env'),
        ('local_video', 'local-video.env'),
    ]:
        secrets_file = out / name
        assert secrets_file.stat().st_mode & 0o777 == 0o640
        given = gather_settings(secrets_file, {})
        assert set(given) == set(SERVICE_SECRETS[service]) & set(TEST_ENV)
        unit = ROOT_DIR / 'deploy' / 'systemd' / f'podium-{name[:-4]}.service'
        assert f'EnvironmentFile=/etc/podium/{name}' in unit.read_text()
    web_unit = (ROOT_DIR / 'deploy' / 'systemd' / 'podium-web.service').read_text()
    assert web_unit.count('EnvironmentFile=') == 1
