"""nginx for Podium: render deploy/nginx/podium.conf.template, run it privately."""

from __future__ import annotations

import contextlib
import grp
import os
import re
import shutil
from collections.abc import Mapping
from pathlib import Path

from launcher.settings import (
    DEPLOY_DIR,
    EXIT_CONFIG,
    Ports,
    StackError,
    nginx_listen_address,
    tls_files,
)
from local_video.config import DEFAULT_BROADCAST_DIR

NGINX_TEMPLATE = DEPLOY_DIR / 'nginx' / 'podium.conf.template'
PLACEHOLDER = re.compile(r'\$\{(PODIUM_[A-Z0-9_]+)\}')
SECTION = re.compile(r'^\s*# @(if (\w+)|end)\s*$')
NGINX_DEFAULTS = {
    'PODIUM_NGINX_ACCESS_LOG': '/var/log/nginx/podium.access.log',
    # Seconds a client may take to send its headers, or between body reads.
    'PODIUM_NGINX_CLIENT_TIMEOUT': '15',
    # certbot --webroot -w <this>: where HTTP-01 challenge files are written.
    'PODIUM_ACME_WEBROOT': '/var/www/letsencrypt',
    # Where local_video's broadcast encoder writes HLS (its PODIUM_BROADCAST_DIR).
    'PODIUM_BROADCAST_DIR': DEFAULT_BROADCAST_DIR,
}


def select_sections(text: str, sections: frozenset[str] | set[str]) -> str:
    """Keep the lines of `# @if NAME` ... `# @end` blocks whose NAME is in `sections`.

    The marker lines themselves go; blocks do not nest.
    """
    kept: list[str] = []
    inside: str | None = None
    for line in text.splitlines(keepends=True):
        marker = SECTION.match(line)
        if marker is None:
            if inside is None or inside in sections:
                kept.append(line)
        elif marker.group(2) is not None:
            if inside is not None:
                raise StackError(f'nested "# @if" in a template: {line.strip()!r}')
            inside = marker.group(2)
        else:
            inside = None
    return ''.join(kept)


def render_template(
    text: str, values: Mapping[str, str], sections: frozenset[str] = frozenset()
) -> str:
    """Fill ${PODIUM_...} placeholders; nginx's own $variables stay as they are.

    `# @if NAME` blocks are kept only for the NAMEs in `sections`.
    """
    text = select_sections(text, sections)

    def fill(match: re.Match) -> str:
        name = match.group(1)
        if name not in values:
            raise StackError(
                f'{name} is needed to render the nginx template', EXIT_CONFIG
            )
        return str(values[name])

    return PLACEHOLDER.sub(fill, text)


def render_nginx_site(settings: Mapping[str, str], ports: Ports) -> str:
    """Return deploy/nginx/podium.conf.template rendered for these settings."""
    listen = nginx_listen_address(settings)
    tls = tls_files(settings)
    values = {
        **NGINX_DEFAULTS,
        **settings,
        **ports.as_env(settings.get('PODIUM_REDIS_URL')),
        'PODIUM_NGINX_LISTEN': f'[{listen}]' if ':' in listen else listen,
    }
    if 'PODIUM_PUBLIC_URL' in values:
        values['PODIUM_PUBLIC_URL'] = values['PODIUM_PUBLIC_URL'].rstrip('/')
    sections = frozenset({'tls' if tls else 'plain'})
    return render_template(NGINX_TEMPLATE.read_text(), values, sections)


def nginx_main_conf(nginx_dir: Path) -> str:
    """Return the nginx.conf of the dev stack: private paths, logs to the supervisor."""
    user = ''
    if os.geteuid() == 0:
        # Workers only proxy and never touch files, so they run unprivileged.
        group = 'nogroup'
        with contextlib.suppress(KeyError):
            grp.getgrnam(group)
            user = f'user nobody {group};'
        user = user or 'user nobody;'
    tmp = nginx_dir / 'tmp'
    return f"""# Written by launcher for one run; see deploy/nginx/ for production.
{user}
worker_processes 1;
pid {nginx_dir / 'nginx.pid'};
error_log stderr warn;

events {{
    worker_connections 1024;
}}

http {{
    client_body_temp_path {tmp / 'client_body'};
    proxy_temp_path {tmp / 'proxy'};
    fastcgi_temp_path {tmp / 'fastcgi'};
    uwsgi_temp_path {tmp / 'uwsgi'};
    scgi_temp_path {tmp / 'scgi'};
    default_type application/octet-stream;

    include {nginx_dir / 'podium.conf'};
}}
"""


def write_nginx_files(
    nginx_dir: Path, settings: Mapping[str, str], ports: Ports
) -> Path:
    """Write a private nginx.conf plus the rendered site into `nginx_dir`.

    Access lines go to stdout, errors to stderr, so whoever runs nginx collects
    them. Return the path of nginx.conf.
    """
    shutil.rmtree(nginx_dir, ignore_errors=True)
    (nginx_dir / 'tmp').mkdir(parents=True)
    (nginx_dir / 'logs').mkdir()  # nginx insists on <prefix>/logs existing
    site = render_nginx_site(
        {**settings, 'PODIUM_NGINX_ACCESS_LOG': '/dev/stdout'}, ports
    )
    (nginx_dir / 'podium.conf').write_text(site)
    conf = nginx_dir / 'nginx.conf'
    conf.write_text(nginx_main_conf(nginx_dir))
    return conf


def nginx_argv(conf: Path) -> list[str]:
    """Return the command that runs nginx in the foreground with `conf`."""
    nginx = shutil.which('nginx') or '/usr/sbin/nginx'
    if not os.path.exists(nginx):
        raise StackError('nginx is not installed: run bin/podium install')
    return [nginx, '-p', str(conf.parent), '-c', str(conf), '-e', 'stderr',
            '-g', 'daemon off;']  # fmt: skip
