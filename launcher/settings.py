"""Settings of a stack: ports, the video backend, .env, and their checks."""

from __future__ import annotations

import ipaddress
import os
import secrets
import socket
from collections.abc import Mapping
from dataclasses import dataclass, fields
from pathlib import Path
from urllib.parse import urlsplit, urlunsplit

from podium.config import (
    DEFAULT_REDIS_URL,
    MIN_SECRET_KEY_LENGTH,
    ConfigError,
    TokenServiceConfig,
    WebConfig,
    WebhooksConfig,
)

ROOT = Path(__file__).resolve().parents[1]
DEPLOY_DIR = ROOT / 'deploy'
DEFAULT_RUN_DIR = ROOT / '.run'
DEFAULT_ENV_FILE = ROOT / '.env'

TWILIO_VARS = (
    'TWILIO_ACCOUNT_SID',
    'TWILIO_API_KEY_SID',
    'TWILIO_API_KEY_SECRET',
    'TWILIO_AUTH_TOKEN',
)
# Settings that belong to one stack; a child never inherits them from the shell
# that started the supervisor, only from the stack's own settings.
OWN_PREFIXES = ('PODIUM_', 'TWILIO_')
# Short graceful stop for the dev stack: a Ctrl-C should not wait 30 s on open
# SSE streams. Production units take gunicorn's configured default instead.
DEFAULT_STACK_GRACEFUL_TIMEOUT = '5'
LOOPBACK_HOSTS = ('127.0.0.1', 'localhost', '::1')

EXIT_CONFIG = 2
EXIT_FAILED = 1


class StackError(Exception):
    """The stack cannot start or keep running; the message says what to do."""

    def __init__(self, message: str, exit_code: int = EXIT_FAILED):
        super().__init__(message)
        self.exit_code = exit_code


@dataclass(frozen=True)
class Ports:
    """The loopback TCP ports of one stack."""

    http: int = 8080
    web: int = 8001
    token: int = 8002
    webhooks: int = 8003
    local_video: int = 8004
    redis: int = 6390
    # nginx's TLS port, used only when PODIUM_TLS_CERT is set (production: 443).
    https: int = 8443
    # Each service's private Prometheus metrics (podium.metrics; nginx does not
    # route them). Defaults as podium.config.METRICS_PORTS.
    web_metrics: int = 9101
    token_metrics: int = 9102
    webhooks_metrics: int = 9103
    local_video_metrics: int = 9104

    @staticmethod
    def variable(name: str) -> str:
        """Return the environment variable that sets port `name`."""
        if name == 'redis':
            return 'PODIUM_REDIS_URL'
        return f'PODIUM_{name.upper()}_PORT'

    @classmethod
    def from_env(cls, env: Mapping[str, str]) -> Ports:
        """Read the ports from PODIUM_*_PORT and PODIUM_REDIS_URL."""
        values = {}
        for item in fields(cls):
            if item.name == 'redis':
                url = env.get('PODIUM_REDIS_URL') or DEFAULT_REDIS_URL
                values['redis'] = urlsplit(url).port or 6379
                continue
            var = cls.variable(item.name)
            raw = env.get(var, '').strip()
            if not raw:
                continue
            if not raw.isdigit() or not 0 < int(raw) < 65536:
                raise StackError(
                    f'{var} must be a TCP port number (1-65535), got {raw!r}',
                    EXIT_CONFIG,
                )
            values[item.name] = int(raw)
        return cls(**values)

    @classmethod
    def free(cls) -> Ports:
        """Return distinct free ports (for tests and runs side by side)."""
        socks = []
        try:
            for _ in fields(cls):
                sock = socket.socket()
                sock.bind(('127.0.0.1', 0))
                socks.append(sock)
            return cls(*(s.getsockname()[1] for s in socks))
        finally:
            for sock in socks:
                sock.close()

    def as_env(self, redis_url: str | None) -> dict[str, str]:
        """Return the settings that tell every process about these ports."""
        env = {
            self.variable(item.name): str(getattr(self, item.name))
            for item in fields(self)
            if item.name != 'redis'
        }
        parts = urlsplit(redis_url or DEFAULT_REDIS_URL)
        host = parts.hostname or '127.0.0.1'
        host = f'[{host}]' if ':' in host else host
        netloc = parts.netloc.rsplit('@', 1)[0] + '@' if '@' in parts.netloc else ''
        netloc += f'{host}:{self.redis}'
        env['PODIUM_REDIS_URL'] = urlunsplit(parts._replace(netloc=netloc))
        return env


DEFAULT_NGINX_LISTEN = '127.0.0.1'


def nginx_listen_address(settings: Mapping[str, str]) -> str:
    """Return PODIUM_NGINX_LISTEN, checked: the one address nginx listens on."""
    raw = settings.get('PODIUM_NGINX_LISTEN', '').strip() or DEFAULT_NGINX_LISTEN
    try:
        return str(ipaddress.ip_address(raw.strip('[]')))
    except ValueError:
        raise StackError(
            'PODIUM_NGINX_LISTEN must be one IP address nginx listens on '
            f'(127.0.0.1, 0.0.0.0 for every IPv4 interface, :: for IPv6), got {raw!r}',
            EXIT_CONFIG,
        ) from None


def tls_files(settings: Mapping[str, str]) -> tuple[str, str] | None:
    """Return (certificate, key) when nginx terminates TLS, None when it does not.

    Both PODIUM_TLS_CERT and PODIUM_TLS_KEY, or neither; with them, the public
    URL must be https (it is where plain HTTP redirects to).
    """
    cert = settings.get('PODIUM_TLS_CERT', '').strip()
    key = settings.get('PODIUM_TLS_KEY', '').strip()
    if not cert and not key:
        return None
    if not cert or not key:
        missing, given = (
            ('PODIUM_TLS_CERT', 'PODIUM_TLS_KEY')
            if key
            else ('PODIUM_TLS_KEY', 'PODIUM_TLS_CERT')
        )
        raise StackError(
            f'{missing} is not set but {given} is: nginx needs both the certificate '
            '(full chain, e.g. /etc/letsencrypt/live/<domain>/fullchain.pem) and its '
            'private key (privkey.pem) to serve https.',
            EXIT_CONFIG,
        )
    for name, path in (('PODIUM_TLS_CERT', cert), ('PODIUM_TLS_KEY', key)):
        if not os.path.isabs(path):
            raise StackError(
                f'{name} must be an absolute path, got {path!r}', EXIT_CONFIG
            )
    public_url = settings.get('PODIUM_PUBLIC_URL', '').strip()
    if public_url and urlsplit(public_url).scheme != 'https':
        raise StackError(
            'PODIUM_PUBLIC_URL must start with https:// when PODIUM_TLS_CERT is set '
            f'(plain HTTP redirects there), got {public_url!r}',
            EXIT_CONFIG,
        )
    return cert, key


def clean_settings(env: Mapping[str, str]) -> dict[str, str]:
    """Return `env` without empty values: `KEY=` in .env means "not set"."""
    return {k: v for k, v in env.items() if v.strip()}


def local_credentials() -> dict[str, str]:
    """Return random credentials the local video backend and services share."""
    return {
        'TWILIO_ACCOUNT_SID': 'AC' + secrets.token_hex(16),
        'TWILIO_API_KEY_SID': 'SK' + secrets.token_hex(16),
        'TWILIO_API_KEY_SECRET': secrets.token_hex(32),
        'TWILIO_AUTH_TOKEN': secrets.token_hex(16),
    }


SECRET_KEY_FILE = 'secret_key'  # noqa: S105 - a file name, not a secret


def persistent_secret_key(run_dir: Path) -> str:
    """Return the run directory's PODIUM_SECRET_KEY, making it on the first start.

    Presenter keys are derived from it, so it must outlive restarts: a new one
    would invalidate every presenter link handed out. The file is 0600, written
    with O_EXCL so two starts never end up with different keys.
    """
    path = Path(run_dir) / SECRET_KEY_FILE
    path.parent.mkdir(parents=True, exist_ok=True)
    try:
        fd = os.open(path, os.O_WRONLY | os.O_CREAT | os.O_EXCL, 0o600)
    except FileExistsError:
        key = path.read_text().strip()
        if len(key) < MIN_SECRET_KEY_LENGTH:
            raise StackError(
                f'{path} does not hold a secret key of at least '
                f'{MIN_SECRET_KEY_LENGTH} characters. Delete it to make a new one '
                '(presenter links given out so far stop working) or set '
                'PODIUM_SECRET_KEY.',
                EXIT_CONFIG,
            ) from None
        return key
    key = secrets.token_urlsafe(32)
    with os.fdopen(fd, 'w') as handle:
        handle.write(key + '\n')
    return key


def resolve_backend(env: Mapping[str, str], local_video_port: int) -> dict[str, str]:
    """Return `env` completed for one video backend, or raise StackError.

    PODIUM_VIDEO_BACKEND decides when set. Otherwise any TWILIO_* variable means
    Twilio (and then all four are required); none means the local backend with
    credentials made up for this run.
    """
    settings = dict(env)
    backend = settings.get('PODIUM_VIDEO_BACKEND', '').strip().lower()
    given = [name for name in TWILIO_VARS if settings.get(name)]
    if not backend:
        backend = 'twilio' if given else 'local'
    if backend == 'twilio':
        missing = [name for name in TWILIO_VARS if not settings.get(name)]
        if missing:
            why = (
                f'{given[0]} is set, so Podium would use Twilio'
                if given
                else 'PODIUM_VIDEO_BACKEND is twilio'
            )
            raise StackError(
                f'{missing[0]} is not set. {why}, which needs all of '
                f'{", ".join(TWILIO_VARS)} (missing: {", ".join(missing)}). '
                'Set them in .env or the environment (see .env.example), or unset '
                'every TWILIO_* variable to run with the local video backend.',
                EXIT_CONFIG,
            )
    elif backend == 'local':
        # The local backend only ever accepts the credentials made for this run.
        settings.update(local_credentials())
        settings['PODIUM_VIDEO_API_URL'] = f'http://127.0.0.1:{local_video_port}'
    else:
        raise StackError(
            f'PODIUM_VIDEO_BACKEND must be twilio or local, got {backend!r}',
            EXIT_CONFIG,
        )
    settings['PODIUM_VIDEO_BACKEND'] = backend
    checked = dict(settings)
    # The Stack supplies PODIUM_SECRET_KEY (persistent_secret_key) when unset;
    # one that is set is checked like every other setting.
    checked.setdefault('PODIUM_SECRET_KEY', 'k' * MIN_SECRET_KEY_LENGTH)
    try:
        for config in (WebConfig, TokenServiceConfig, WebhooksConfig):
            config.from_env(checked)
    except ConfigError as ex:
        raise StackError(str(ex), EXIT_CONFIG) from None
    return settings
