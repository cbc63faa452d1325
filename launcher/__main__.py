"""Command line of the dev stack: `python -m launcher up`.

This is the supervisor behind `bin/podium up` and the integration tests' fixture
(the same code, so the tests exercise what developers run). It starts a private
redis-server, the three services under gunicorn with the configs in
`deploy/gunicorn/`, the local video backend when no Twilio account is configured,
and nginx with `deploy/nginx/podium.conf.template` rendered into the run directory.
Every child runs in its own process group and session, so a Ctrl-C reaches only
the supervisor, which then stops the children in order.

    python -m launcher up [--run-dir DIR] [--env-file FILE]
    python -m launcher render-nginx [--env-file FILE] > podium.conf
    python -m launcher render-coturn [--env-file FILE] > /etc/turnserver.conf
    python -m launcher nginx [--run-dir DIR]      (nginx alone, for the Procfile)
    python -m launcher local-credentials >> /etc/podium/podium.env
    python -m launcher secret-key >> /etc/podium/podium.env
"""

from __future__ import annotations

import argparse
import os
import secrets
import signal
import sys
import threading
from pathlib import Path

from launcher.coturn import render_coturn_conf
from launcher.nginx import nginx_argv, render_nginx_site, write_nginx_files
from launcher.processes import TerminalOutput, describe_death
from launcher.settings import (
    DEFAULT_ENV_FILE,
    DEFAULT_RUN_DIR,
    EXIT_CONFIG,
    EXIT_FAILED,
    Ports,
    StackError,
    clean_settings,
    local_credentials,
)
from launcher.supervisor import Stack
from podium.config import (
    SECRET_VARS,
    SERVICE_SECRETS,
    gather_settings,
    read_env_file,
)


def say(message: str) -> None:
    print(f'podium: {message}', file=sys.stderr, flush=True)


def cmd_up(args: argparse.Namespace) -> int:
    stop = threading.Event()

    def on_signal(signum, frame):
        stop.set()

    signal.signal(signal.SIGINT, on_signal)
    signal.signal(signal.SIGTERM, on_signal)
    try:
        output = TerminalOutput()
        stack = Stack(gather_settings(args.env_file), args.run_dir, output=output)
        stack.start(cancel=stop)
    except StackError as ex:
        if stop.is_set():
            say('stopped before Podium was up.')
            return 0
        say(str(ex))
        return ex.exit_code
    output.write(f'Podium is up: open {stack.url}')
    dead = stack.watch(stop)
    if dead is not None:
        say(describe_death(dead))
        say('shutting everything down.')
    else:
        say('stopping.')
    stack.stop()
    if dead is not None:
        return EXIT_FAILED
    say('stopped.')
    return 0


def cmd_render_nginx(args: argparse.Namespace) -> int:
    settings = clean_settings(gather_settings(args.env_file))
    try:
        ports = Ports.from_env(settings)
        sys.stdout.write(render_nginx_site(settings, ports))
    except StackError as ex:
        say(str(ex))
        return ex.exit_code
    return 0


def cmd_render_coturn(args: argparse.Namespace) -> int:
    """Print deploy/coturn/turnserver.conf.template rendered (it holds the secret)."""
    try:
        sys.stdout.write(
            render_coturn_conf(clean_settings(gather_settings(args.env_file)))
        )
    except StackError as ex:
        say(str(ex))
        return ex.exit_code
    return 0


def cmd_nginx(args: argparse.Namespace) -> int:
    """Render the private nginx config into the run directory and become nginx."""
    settings = clean_settings(gather_settings(args.env_file))
    try:
        ports = Ports.from_env(settings)
        argv = nginx_argv(write_nginx_files(args.run_dir / 'nginx', settings, ports))
    except StackError as ex:
        say(str(ex))
        return ex.exit_code
    os.execv(argv[0], argv)  # noqa: S606 - a fixed argv, replacing this process


def cmd_local_credentials(args: argparse.Namespace) -> int:
    """Print fresh local-backend credentials as .env lines, for a long-lived install."""
    print('# Local video backend credentials, shared by every Podium service.')
    print('PODIUM_VIDEO_BACKEND=local')
    for name, value in local_credentials().items():
        print(f'{name}={value}')
    return 0


def cmd_secret_key(args: argparse.Namespace) -> int:
    """Print a fresh PODIUM_SECRET_KEY line, for a long-lived install."""
    print(
        '# Presenter keys are derived from this: keep it, or their links stop working.'
    )
    print(f'PODIUM_SECRET_KEY={secrets.token_urlsafe(32)}')
    return 0


# systemd unit -> the secrets file it reads (deploy/systemd/*.service).
SECRET_FILES = {
    'token': 'token.env',
    'webhooks': 'webhooks.env',
    'local_video': 'local-video.env',
}
PUBLIC_FILE = 'podium.env'


def cmd_split_settings(args: argparse.Namespace) -> int:
    """Write podium.env (public settings) and one secrets file per service.

    Each systemd unit reads podium.env and only its own secrets file, so the web
    service never holds a secret and webhooks never the presenter-key secret.
    """
    settings = clean_settings(read_env_file(args.env_file))
    if not settings:
        say(f'{args.env_file} holds no settings: nothing to split.')
        return EXIT_CONFIG
    out: Path = args.out
    out.mkdir(parents=True, exist_ok=True)
    files = {PUBLIC_FILE: {k: v for k, v in settings.items() if k not in SECRET_VARS}}
    for service, name in SECRET_FILES.items():
        files[name] = {
            k: v for k, v in settings.items() if k in SERVICE_SECRETS[service]
        }
    for name, values in files.items():
        path = out / name
        mode = 0o644 if name == PUBLIC_FILE else 0o640
        fd = os.open(path, os.O_WRONLY | os.O_CREAT | os.O_TRUNC, mode)
        os.fchmod(fd, mode)
        with os.fdopen(fd, 'w') as handle:
            handle.write(
                f'# Written by python -m launcher split-settings from {args.env_file}\n'
            )
            handle.writelines(f'{k}={v}\n' for k, v in sorted(values.items()))
        say(f'wrote {path} ({len(values)} settings, mode {mode:o})')
    return 0


def main(argv: list[str] | None = None) -> int:
    parser = argparse.ArgumentParser(
        prog='python -m launcher',
        description=__doc__,
        formatter_class=argparse.RawDescriptionHelpFormatter,
    )
    commands = parser.add_subparsers(dest='command', required=True)
    up = commands.add_parser('up', help='start everything and print the URL')
    up.set_defaults(run=cmd_up)
    render = commands.add_parser(
        'render-nginx', help='print deploy/nginx/podium.conf.template, rendered'
    )
    render.set_defaults(run=cmd_render_nginx)
    coturn = commands.add_parser(
        'render-coturn',
        help='print deploy/coturn/turnserver.conf.template, rendered (TURN server)',
    )
    coturn.set_defaults(run=cmd_render_coturn)
    nginx = commands.add_parser('nginx', help='run nginx alone in the foreground')
    nginx.set_defaults(run=cmd_nginx)
    credentials = commands.add_parser(
        'local-credentials', help='print credentials for the local video backend'
    )
    credentials.set_defaults(run=cmd_local_credentials)
    secret = commands.add_parser(
        'secret-key', help='print a new PODIUM_SECRET_KEY line for a settings file'
    )
    secret.set_defaults(run=cmd_secret_key)
    split = commands.add_parser(
        'split-settings',
        help='write podium.env and one secrets file per service (systemd units)',
    )
    split.add_argument('--out', type=Path, default=Path('/etc/podium'))
    split.set_defaults(run=cmd_split_settings)
    for sub in (up, nginx):
        sub.add_argument(
            '--run-dir',
            type=Path,
            default=DEFAULT_RUN_DIR,
            help='where logs, redis data and nginx files go (default .run/)',
        )
    for sub in (up, render, coturn, nginx, split):
        sub.add_argument(
            '--env-file',
            type=Path,
            default=DEFAULT_ENV_FILE,
            help='settings file read before the environment (default .env)',
        )
    args = parser.parse_args(argv)
    return args.run(args)


if __name__ == '__main__':
    sys.exit(main())
