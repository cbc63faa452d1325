"""Read each service's settings from the environment, once, when its app is created.

Every setting is documented in `.env.example`. Nothing here runs at import time:
services call `<Service>Config.from_env()` inside their `create_app()`.

Least privilege: each service has a config of its own holding only what it uses,
so a service started without another's secrets works, and one started without
its own stops with a message naming the missing variable.

- `WebConfig` (the public-facing pages and event streams): Redis and public
  settings only, no secret at all.
- `TokenServiceConfig`: the Rooms API key (rooms, tokens, subscribe rules) and
  PODIUM_SECRET_KEY (presenter keys); never the Auth Token.
- `WebhooksConfig`: the Auth Token (callback signatures) and the Rooms API key,
  which it cannot do without: it rebuilds room state from the Rooms API after a
  Redis loss and removes participants who publish without the right to.
  Never PODIUM_SECRET_KEY.
"""

from __future__ import annotations

import os
import re
from collections.abc import Mapping
from dataclasses import dataclass, field
from urllib.parse import urlsplit

from podium import stage

DEFAULT_PUBLIC_URL = 'http://localhost:8080'
DEFAULT_REDIS_URL = 'redis://127.0.0.1:6390/0'
DEFAULT_TWILIO_API_URL = 'https://video.twilio.com'
DEFAULT_TOKEN_TTL = 4 * 3600  # covers a long talk; Twilio caps tokens at 24 h
MAX_TOKEN_TTL = 24 * 3600
MIN_TOKEN_TTL = 60
DEFAULT_EMPTY_ROOM_TIMEOUT = 10  # minutes; Twilio allows 1-60
TWILIO_MAX_PARTICIPANTS = 50  # Twilio's hard cap for group rooms
# The local backend's default room size comes from what Janus carries here:
# bench/RESULTS.md measured 0.25 % of a core per attendee (about 400 per core)
# with a 720p camera + 720p screen. 200 per core leaves half of that for the
# services, Redis, nginx and real content (text scrolling costs more bits).
LOCAL_PARTICIPANTS_PER_CORE = 200
# A presenter's download link outlives a slow start of the download, not the day.
DEFAULT_RECORDING_LINK_TTL = 600
MAX_RECORDING_LINK_TTL = 24 * 3600
DEFAULT_ROOM_CHECK_INTERVAL = 60  # seconds between Rooms API checks per room
BACKENDS = ('twilio', 'local')
MIN_SECRET_KEY_LENGTH = 32
MIN_TURN_SECRET_LENGTH = 16
STUN_SCHEMES = ('stun:', 'stuns:')
TURN_SCHEMES = ('turn:', 'turns:')

WEBHOOK_PATH = '/webhooks/room-events'
SIGNAL_PATH = '/video/signal'

# The secrets each service is given. Every other PODIUM_* setting is public and
# shared; a secret goes only where it is listed (the launcher and deploy/ hand
# each process exactly these).
TWILIO_API_KEY_VARS = (
    'TWILIO_ACCOUNT_SID',
    'TWILIO_API_KEY_SID',
    'TWILIO_API_KEY_SECRET',
)
SECRET_VARS = (
    *TWILIO_API_KEY_VARS,
    'TWILIO_AUTH_TOKEN',
    'PODIUM_SECRET_KEY',
    'PODIUM_TURN_SECRET',
)
SERVICE_SECRETS: dict[str, tuple[str, ...]] = {
    'web': (),
    'token': (*TWILIO_API_KEY_VARS, 'PODIUM_SECRET_KEY', 'PODIUM_TURN_SECRET'),
    'webhooks': (*TWILIO_API_KEY_VARS, 'TWILIO_AUTH_TOKEN'),
    # local_video plays Twilio: it checks the API key and signs with the Auth Token.
    'local_video': (*TWILIO_API_KEY_VARS, 'TWILIO_AUTH_TOKEN'),
}


DEFAULT_FRAME_ANCESTORS = ("'none'",)
DEFAULT_BROADCAST_BASE_URL = '/broadcast/'
# An origin another site embeds Podium from: http(s), optional `*.` wildcard and port.
EMBEDDER = re.compile(r'https?://(\*\.)?[a-z0-9-]+(\.[a-z0-9-]+)*(:[0-9]{1,5})?/?')
CSP_KEYWORDS = {'none': "'none'", 'self': "'self'"}


class ConfigError(Exception):
    """A setting is missing or invalid; the message names the variable."""


def default_max_participants(backend: str, cpus: int | None = None) -> int:
    """Return the room size used when PODIUM_MAX_PARTICIPANTS is not set."""
    if backend == 'twilio':
        return TWILIO_MAX_PARTICIPANTS
    return LOCAL_PARTICIPANTS_PER_CORE * max(1, cpus or os.cpu_count() or 1)


def service_environment(service: str, settings: Mapping[str, str]) -> dict[str, str]:
    """Return `settings` without the secrets that `service` is not given."""
    allowed = SERVICE_SECRETS[service]
    return {
        name: value
        for name, value in settings.items()
        if name not in SECRET_VARS or name in allowed
    }


class _Reader:
    """Reads and checks variables of one environment; errors name the variable."""

    def __init__(self, environ: Mapping[str, str] | None):
        self._env = os.environ if environ is None else environ

    def get(self, name: str, default: str = '') -> str:
        return self._env.get(name, default).strip()

    def require(self, name: str, why: str) -> str:
        value = self.get(name)
        if not value:
            raise ConfigError(
                f'{name} is not set: {why}. Set it in the environment or in '
                '.env (see .env.example).'
            )
        return value

    def integer(self, name: str, default: int, low: int, high: int) -> int:
        raw = self.get(name)
        if not raw:
            return default
        try:
            value = int(raw)
        except ValueError:
            raise ConfigError(f'{name} must be a whole number, got {raw!r}') from None
        if not low <= value <= high:
            raise ConfigError(f'{name} must be between {low} and {high}, got {value}')
        return value

    def public_url(self) -> str:
        public_url = self.get('PODIUM_PUBLIC_URL', DEFAULT_PUBLIC_URL).rstrip('/')
        parts = urlsplit(public_url)
        if parts.scheme not in ('http', 'https') or not parts.netloc:
            raise ConfigError(
                'PODIUM_PUBLIC_URL must be an absolute http(s) URL such as '
                f'https://podium.example.org, got {public_url!r}'
            )
        if parts.path or parts.query or parts.fragment:
            raise ConfigError(
                'PODIUM_PUBLIC_URL must be an origin without a path, got '
                f'{public_url!r}'
            )
        return public_url

    def backend(self) -> str:
        backend = self.get('PODIUM_VIDEO_BACKEND', 'twilio').lower()
        if backend not in BACKENDS:
            raise ConfigError(
                f'PODIUM_VIDEO_BACKEND must be one of {", ".join(BACKENDS)}, '
                f'got {backend!r}'
            )
        return backend

    def signal_url(self, public_url: str) -> str:
        parts = urlsplit(public_url)
        ws_scheme = 'wss' if parts.scheme == 'https' else 'ws'
        return (
            self.get('PODIUM_SIGNAL_URL')
            or f'{ws_scheme}://{parts.netloc}{SIGNAL_PATH}'
        )

    def video_api(self, backend: str) -> dict[str, str]:
        """Return the Rooms API credentials and base URL."""
        where = (
            'the Twilio console'
            if backend == 'twilio'
            else 'bin/podium up (it makes them)'
        )
        return {
            'account_sid': self.require(
                'TWILIO_ACCOUNT_SID', f'the account SID from {where}'
            ),
            'api_key_sid': self.require(
                'TWILIO_API_KEY_SID', f'an API key SID from {where}'
            ),
            'api_key_secret': self.require(
                'TWILIO_API_KEY_SECRET', f'the secret of that API key, from {where}'
            ),
            'video_api_url': self.get(
                'PODIUM_VIDEO_API_URL', DEFAULT_TWILIO_API_URL
            ).rstrip('/'),
        }


@dataclass(frozen=True)
class WebConfig:
    """The web service's settings: public ones only, no secret."""

    public_url: str
    redis_url: str
    video_backend: str
    signal_url: str
    # CSP frame-ancestors sources: who may show Podium's pages in a frame.
    frame_ancestors: tuple[str, ...] = DEFAULT_FRAME_ANCESTORS
    # Where players fetch the broadcast's HLS: nginx's /broadcast/, or a CDN in front.
    broadcast_base_url: str = DEFAULT_BROADCAST_BASE_URL

    @classmethod
    def from_env(cls, environ: Mapping[str, str] | None = None) -> WebConfig:
        """Build it from environment variables (default: `os.environ`)."""
        read = _Reader(environ)
        public_url = read.public_url()
        raw_ancestors = read.get('PODIUM_FRAME_ANCESTORS')
        return cls(
            public_url=public_url,
            redis_url=read.get('PODIUM_REDIS_URL', DEFAULT_REDIS_URL),
            video_backend=read.backend(),
            signal_url=read.signal_url(public_url),
            frame_ancestors=(
                frame_ancestors(raw_ancestors)
                if raw_ancestors
                else DEFAULT_FRAME_ANCESTORS
            ),
            broadcast_base_url=broadcast_base_url(
                read.get('PODIUM_BROADCAST_BASE_URL', DEFAULT_BROADCAST_BASE_URL)
            ),
        )


def broadcast_base_url(raw: str) -> str:
    """Check PODIUM_BROADCAST_BASE_URL: a path of this origin or an http(s) URL."""
    value = raw.strip()
    parts = urlsplit(value)
    path_only = value.startswith('/') and not value.startswith('//')
    path_only = path_only and not parts.netloc
    absolute = parts.scheme in ('http', 'https') and bool(parts.netloc)
    if not (path_only or absolute) or parts.query or parts.fragment:
        raise ConfigError(
            'PODIUM_BROADCAST_BASE_URL must be a path on this site (/broadcast/) or '
            'the http(s) URL of a CDN that mirrors it (https://cdn.example.org/'
            f'broadcast/), without query or fragment; got {raw!r}'
        )
    return value if value.endswith('/') else value + '/'


def frame_ancestors(raw: str) -> tuple[str, ...]:
    """Return the frame-ancestors sources in `raw` (comma- or space-separated)."""
    sources = []
    for item in raw.replace(',', ' ').split():
        keyword = CSP_KEYWORDS.get(item.strip("'").lower())
        if keyword:
            sources.append(keyword)
        elif EMBEDDER.fullmatch(item.lower()):
            sources.append(item.lower().rstrip('/'))
        else:
            raise ConfigError(
                'PODIUM_FRAME_ANCESTORS must list origins allowed to embed Podium '
                "(https://intranet.example.org, https://*.example.org), 'self' or "
                f"'none', separated by spaces or commas; got {item!r}"
            )
    if "'none'" in sources and len(sources) > 1:
        raise ConfigError(
            "PODIUM_FRAME_ANCESTORS: 'none' cannot be combined with other sources; "
            f'got {raw!r}'
        )
    return tuple(sources)


# Each service's private metrics port (podium.metrics): loopback, not routed by nginx.
METRICS_PORTS = {
    'web': ('PODIUM_WEB_METRICS_PORT', 9101),
    'token': ('PODIUM_TOKEN_METRICS_PORT', 9102),
    'webhooks': ('PODIUM_WEBHOOKS_METRICS_PORT', 9103),
    'local_video': ('PODIUM_LOCAL_VIDEO_METRICS_PORT', 9104),
}


@dataclass(frozen=True)
class MetricsConfig:
    """Where one service serves its Prometheus metrics (port 0: nowhere)."""

    host: str = '127.0.0.1'
    port: int = 0

    @classmethod
    def from_env(
        cls, service: str, environ: Mapping[str, str] | None = None
    ) -> MetricsConfig:
        read = _Reader(environ)
        variable, default = METRICS_PORTS[service]
        return cls(
            host=read.get('PODIUM_METRICS_HOST', '127.0.0.1'),
            port=read.integer(variable, default, 0, 65535),
        )


@dataclass(frozen=True)
class WebhooksConfig:
    """The webhooks service's settings: the Auth Token and the Rooms API key."""

    public_url: str
    redis_url: str
    video_backend: str
    account_sid: str
    api_key_sid: str
    api_key_secret: str = field(repr=False)
    auth_token: str = field(repr=False)
    video_api_url: str = DEFAULT_TWILIO_API_URL
    # Stage slots whose accepted speakers may publish (podium/stage.py): the same
    # PODIUM_STAGE_SLOTS the token service reads.
    stage_slots: int = stage.DEFAULT_SLOTS

    @property
    def status_callback_url(self) -> str:
        """Return the public URL callbacks are posted to (and signed for)."""
        return self.public_url + WEBHOOK_PATH

    @classmethod
    def from_env(cls, environ: Mapping[str, str] | None = None) -> WebhooksConfig:
        """Build it from environment variables (default: `os.environ`)."""
        read = _Reader(environ)
        backend = read.backend()
        return cls(
            public_url=read.public_url(),
            redis_url=read.get('PODIUM_REDIS_URL', DEFAULT_REDIS_URL),
            video_backend=backend,
            **read.video_api(backend),
            auth_token=read.require(
                'TWILIO_AUTH_TOKEN',
                'the account Auth Token is needed to check room status callback '
                'signatures',
            ),
            stage_slots=read.integer(
                'PODIUM_STAGE_SLOTS', stage.DEFAULT_SLOTS, 1, stage.MAX_SLOTS
            ),
        )


@dataclass(frozen=True)
class TokenServiceConfig:
    """The token service's settings. Build it with `TokenServiceConfig.from_env()`."""

    public_url: str
    redis_url: str
    video_backend: str
    account_sid: str
    api_key_sid: str
    api_key_secret: str = field(repr=False)
    # Derives presenter keys (HMAC), so they survive the loss of Redis.
    secret_key: str = field(default='', repr=False)
    video_api_url: str = DEFAULT_TWILIO_API_URL
    token_ttl: int = DEFAULT_TOKEN_TTL
    empty_room_timeout: int = DEFAULT_EMPTY_ROOM_TIMEOUT
    max_participants: int = TWILIO_MAX_PARTICIPANTS
    room_check_interval: int = DEFAULT_ROOM_CHECK_INTERVAL
    signal_url: str = ''
    # ICE servers handed to browsers of the local backend with their token.
    # TURN credentials are minted per participant from turn_secret (podium.turn).
    stun_urls: tuple[str, ...] = ()
    turn_urls: tuple[str, ...] = ()
    turn_secret: str = field(default='', repr=False)
    turn_ttl: int = DEFAULT_TOKEN_TTL
    # Attendees on stage at once, invited or speaking (podium/stage.py, docs/stage.md).
    stage_slots: int = stage.DEFAULT_SLOTS
    # Seconds a signed recording download link stays valid (token_service/recording.py).
    recording_link_ttl: int = DEFAULT_RECORDING_LINK_TTL

    @property
    def status_callback_url(self) -> str:
        """Return the public URL Twilio posts room status callbacks to."""
        return self.public_url + WEBHOOK_PATH

    def public_link(self, path: str) -> str:
        """Return the absolute public URL of `path` (which starts with '/')."""
        return self.public_url + path

    @classmethod
    def from_env(cls, environ: Mapping[str, str] | None = None) -> TokenServiceConfig:
        """Build it from environment variables (default: `os.environ`)."""
        read = _Reader(environ)
        public_url = read.public_url()
        backend = read.backend()
        video_api = read.video_api(backend)
        secret_key = read.require(
            'PODIUM_SECRET_KEY',
            'presenter keys are derived from it; make one with '
            'python -m launcher secret-key '
            '(bin/podium up makes one and keeps it in .run/secret_key)',
        )
        if len(secret_key) < MIN_SECRET_KEY_LENGTH:
            raise ConfigError(
                f'PODIUM_SECRET_KEY must be at least {MIN_SECRET_KEY_LENGTH} '
                f'characters long, got {len(secret_key)}'
            )

        stun_urls = url_list(
            read.get('PODIUM_STUN_URLS'), 'PODIUM_STUN_URLS', STUN_SCHEMES
        )
        turn_urls = url_list(
            read.get('PODIUM_TURN_URLS'), 'PODIUM_TURN_URLS', TURN_SCHEMES
        )
        turn_secret = read.get('PODIUM_TURN_SECRET')
        if turn_urls and not turn_secret:
            raise ConfigError(
                'PODIUM_TURN_SECRET is not set: PODIUM_TURN_URLS is, and TURN '
                'credentials are minted from the static-auth-secret the TURN server '
                "shares (make one with python -c 'import secrets; "
                "print(secrets.token_urlsafe(32))')"
            )
        if turn_secret and len(turn_secret) < MIN_TURN_SECRET_LENGTH:
            raise ConfigError(
                f'PODIUM_TURN_SECRET must be at least {MIN_TURN_SECRET_LENGTH} '
                f'characters long, got {len(turn_secret)}'
            )
        token_ttl = read.integer(
            'PODIUM_TOKEN_TTL', DEFAULT_TOKEN_TTL, MIN_TOKEN_TTL, MAX_TOKEN_TTL
        )

        return cls(
            public_url=public_url,
            redis_url=read.get('PODIUM_REDIS_URL', DEFAULT_REDIS_URL),
            video_backend=backend,
            **video_api,
            secret_key=secret_key,
            token_ttl=token_ttl,
            empty_room_timeout=read.integer(
                'PODIUM_EMPTY_ROOM_TIMEOUT', DEFAULT_EMPTY_ROOM_TIMEOUT, 1, 60
            ),
            max_participants=read.integer(
                'PODIUM_MAX_PARTICIPANTS',
                default_max_participants(backend),
                2,
                TWILIO_MAX_PARTICIPANTS if backend == 'twilio' else 100_000,
            ),
            room_check_interval=read.integer(
                'PODIUM_ROOM_CHECK_INTERVAL', DEFAULT_ROOM_CHECK_INTERVAL, 1, 3600
            ),
            signal_url=read.signal_url(public_url),
            stun_urls=stun_urls,
            turn_urls=turn_urls,
            turn_secret=turn_secret,
            # A TURN allocation is refreshed with the same credentials for as
            # long as media flows, so by default they last as long as the token.
            turn_ttl=read.integer(
                'PODIUM_TURN_TTL', token_ttl, MIN_TOKEN_TTL, MAX_TOKEN_TTL
            ),
            stage_slots=read.integer(
                'PODIUM_STAGE_SLOTS', stage.DEFAULT_SLOTS, 1, stage.MAX_SLOTS
            ),
            recording_link_ttl=read.integer(
                'PODIUM_RECORDING_LINK_TTL',
                DEFAULT_RECORDING_LINK_TTL,
                10,
                MAX_RECORDING_LINK_TTL,
            ),
        )


def url_list(raw: str, name: str, schemes: tuple[str, ...]) -> tuple[str, ...]:
    """Return the comma- or space-separated ICE server URLs in `raw`, checked."""
    urls = tuple(part for part in raw.replace(',', ' ').split() if part)
    for url in urls:
        if not url.startswith(schemes) or len(url) <= len(url.partition(':')[0]) + 1:
            raise ConfigError(
                f'{name} must list URLs starting with {" or ".join(schemes)} such as '
                f'{schemes[0]}turn.example.org:3478, got {url!r}'
            )
    return urls


DEFAULT_ENV_FILE = os.path.join(
    os.path.dirname(os.path.dirname(os.path.abspath(__file__))), '.env'
)


def read_env_file(path: str | os.PathLike | None) -> dict[str, str]:
    """Return the KEY=VALUE pairs of a .env file; none if it does not exist."""
    if path is None or not os.path.isfile(path):
        return {}
    from dotenv import dotenv_values

    return {k: v for k, v in dotenv_values(path).items() if v is not None}


def gather_settings(
    env_file: str | os.PathLike | None = DEFAULT_ENV_FILE,
    environ: Mapping[str, str] | None = None,
) -> dict[str, str]:
    """Return .env's settings overlaid with the environment's (the environment wins)."""
    environ = os.environ if environ is None else environ
    settings = read_env_file(env_file)
    settings.update(environ)
    return settings
