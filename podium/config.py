"""Read Podium's settings from the environment, once, when an app is created.

Every setting is documented in `.env.example`. Nothing here runs at import time:
services call `Config.from_env()` inside their `create_app()`.
"""

from __future__ import annotations

import os
from collections.abc import Mapping
from dataclasses import dataclass, field
from urllib.parse import urlsplit

DEFAULT_PUBLIC_URL = 'http://localhost:8080'
DEFAULT_REDIS_URL = 'redis://127.0.0.1:6390/0'
DEFAULT_TWILIO_API_URL = 'https://video.twilio.com'
DEFAULT_TOKEN_TTL = 4 * 3600  # covers a long talk; Twilio caps tokens at 24 h
MAX_TOKEN_TTL = 24 * 3600
MIN_TOKEN_TTL = 60
DEFAULT_EMPTY_ROOM_TIMEOUT = 10  # minutes; Twilio allows 1-60
DEFAULT_MAX_PARTICIPANTS = 50  # Twilio's hard cap for group rooms
DEFAULT_ROOM_CHECK_INTERVAL = 60  # seconds between Rooms API checks per room
BACKENDS = ('twilio', 'local')
MIN_SECRET_KEY_LENGTH = 32
MIN_TURN_SECRET_LENGTH = 16
STUN_SCHEMES = ('stun:', 'stuns:')
TURN_SCHEMES = ('turn:', 'turns:')

WEBHOOK_PATH = '/webhooks/room-events'
SIGNAL_PATH = '/video/signal'


class ConfigError(Exception):
    """A setting is missing or invalid; the message names the variable."""


@dataclass(frozen=True)
class Config:
    """All of Podium's settings. Build it with `Config.from_env()`."""

    public_url: str
    redis_url: str
    video_backend: str
    account_sid: str
    api_key_sid: str
    api_key_secret: str = field(repr=False)
    auth_token: str = field(repr=False)
    # Derives presenter keys (HMAC), so they survive the loss of Redis.
    secret_key: str = field(default='', repr=False)
    video_api_url: str = DEFAULT_TWILIO_API_URL
    token_ttl: int = DEFAULT_TOKEN_TTL
    empty_room_timeout: int = DEFAULT_EMPTY_ROOM_TIMEOUT
    max_participants: int = DEFAULT_MAX_PARTICIPANTS
    room_check_interval: int = DEFAULT_ROOM_CHECK_INTERVAL
    signal_url: str = ''
    # ICE servers handed to browsers of the local backend with their token.
    # TURN credentials are minted per participant from turn_secret (podium.turn).
    stun_urls: tuple[str, ...] = ()
    turn_urls: tuple[str, ...] = ()
    turn_secret: str = field(default='', repr=False)
    turn_ttl: int = DEFAULT_TOKEN_TTL

    @property
    def status_callback_url(self) -> str:
        """Return the public URL Twilio posts room status callbacks to."""
        return self.public_url + WEBHOOK_PATH

    def public_link(self, path: str) -> str:
        """Return the absolute public URL of `path` (which starts with '/')."""
        return self.public_url + path

    @classmethod
    def from_env(cls, environ: Mapping[str, str] | None = None) -> Config:
        """Build a Config from environment variables (default: `os.environ`)."""
        env = os.environ if environ is None else environ

        def get(name: str, default: str = '') -> str:
            return env.get(name, default).strip()

        def require(name: str, why: str) -> str:
            value = get(name)
            if not value:
                raise ConfigError(
                    f'{name} is not set: {why}. Set it in the environment or in '
                    '.env (see .env.example).'
                )
            return value

        def integer(name: str, default: int, low: int, high: int) -> int:
            raw = get(name)
            if not raw:
                return default
            try:
                value = int(raw)
            except ValueError:
                raise ConfigError(
                    f'{name} must be a whole number, got {raw!r}'
                ) from None
            if not low <= value <= high:
                raise ConfigError(
                    f'{name} must be between {low} and {high}, got {value}'
                )
            return value

        public_url = get('PODIUM_PUBLIC_URL', DEFAULT_PUBLIC_URL).rstrip('/')
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

        backend = get('PODIUM_VIDEO_BACKEND', 'twilio').lower()
        if backend not in BACKENDS:
            raise ConfigError(
                f'PODIUM_VIDEO_BACKEND must be one of {", ".join(BACKENDS)}, '
                f'got {backend!r}'
            )
        where = (
            'the Twilio console'
            if backend == 'twilio'
            else 'bin/podium up (it makes them)'
        )
        account_sid = require('TWILIO_ACCOUNT_SID', f'the account SID from {where}')
        api_key_sid = require('TWILIO_API_KEY_SID', f'an API key SID from {where}')
        api_key_secret = require(
            'TWILIO_API_KEY_SECRET', f'the secret of that API key, from {where}'
        )
        auth_token = require(
            'TWILIO_AUTH_TOKEN',
            'the account Auth Token is needed to check room status callback signatures',
        )
        secret_key = require(
            'PODIUM_SECRET_KEY',
            'presenter keys are derived from it; make one with '
            "python -c 'import secrets; print(secrets.token_urlsafe(32))' "
            '(bin/podium up makes one and keeps it in .run/secret_key)',
        )
        if len(secret_key) < MIN_SECRET_KEY_LENGTH:
            raise ConfigError(
                f'PODIUM_SECRET_KEY must be at least {MIN_SECRET_KEY_LENGTH} '
                f'characters long, got {len(secret_key)}'
            )
        video_api_url = get('PODIUM_VIDEO_API_URL', DEFAULT_TWILIO_API_URL).rstrip('/')
        ws_scheme = 'wss' if parts.scheme == 'https' else 'ws'
        signal_url = (
            get('PODIUM_SIGNAL_URL') or f'{ws_scheme}://{parts.netloc}{SIGNAL_PATH}'
        )

        stun_urls = url_list(get('PODIUM_STUN_URLS'), 'PODIUM_STUN_URLS', STUN_SCHEMES)
        turn_urls = url_list(get('PODIUM_TURN_URLS'), 'PODIUM_TURN_URLS', TURN_SCHEMES)
        turn_secret = get('PODIUM_TURN_SECRET')
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
        token_ttl = integer(
            'PODIUM_TOKEN_TTL', DEFAULT_TOKEN_TTL, MIN_TOKEN_TTL, MAX_TOKEN_TTL
        )

        return cls(
            public_url=public_url,
            redis_url=get('PODIUM_REDIS_URL', DEFAULT_REDIS_URL),
            video_backend=backend,
            account_sid=account_sid,
            api_key_sid=api_key_sid,
            api_key_secret=api_key_secret,
            auth_token=auth_token,
            secret_key=secret_key,
            video_api_url=video_api_url,
            token_ttl=token_ttl,
            empty_room_timeout=integer(
                'PODIUM_EMPTY_ROOM_TIMEOUT', DEFAULT_EMPTY_ROOM_TIMEOUT, 1, 60
            ),
            max_participants=integer(
                'PODIUM_MAX_PARTICIPANTS',
                DEFAULT_MAX_PARTICIPANTS,
                2,
                50 if backend == 'twilio' else 100_000,
            ),
            room_check_interval=integer(
                'PODIUM_ROOM_CHECK_INTERVAL', DEFAULT_ROOM_CHECK_INTERVAL, 1, 3600
            ),
            signal_url=signal_url,
            stun_urls=stun_urls,
            turn_urls=turn_urls,
            turn_secret=turn_secret,
            # A TURN allocation is refreshed with the same credentials for as
            # long as media flows, so by default they last as long as the token.
            turn_ttl=integer(
                'PODIUM_TURN_TTL', token_ttl, MIN_TOKEN_TTL, MAX_TOKEN_TTL
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
