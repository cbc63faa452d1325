"""What every benchmark run shares: its mode, credentials and Podium's settings."""

from __future__ import annotations

import secrets
from dataclasses import dataclass, field
from pathlib import Path

from podium.config import METRICS_PORTS

PUBLIC_URL = 'http://podium.bench'  # only signed into webhooks; never contacted


@dataclass(frozen=True)
class Mode:
    """How long and how often to measure: `quick` by hand, `full` for a release."""

    name: str
    duration: float  # seconds per closed-loop (wrk) run
    rate_duration: float  # seconds per fixed-rate run (after a 1 s warm-up)
    repeats: int  # closed-loop runs per configuration; medians are over these
    rate_repeats: int  # fixed-rate runs per rate
    token_wrk: tuple[tuple[int, int], ...]  # (wrk threads, connections)
    token_rates: tuple[int, ...]
    webhook_wrk: tuple[tuple[int, int], ...]
    webhook_rates: tuple[int, ...]
    storm_repeats: int
    storm_default_workers: bool  # also storm the deploy config's worker count
    sse_connections: int
    sse_changes: int


QUICK = Mode(
    name='quick',
    duration=3,
    rate_duration=4,
    repeats=2,
    rate_repeats=1,
    token_wrk=((1, 8), (2, 16)),
    token_rates=(500, 1000),
    webhook_wrk=((2, 8),),
    webhook_rates=(500,),
    storm_repeats=1,
    storm_default_workers=False,
    sse_connections=1000,
    sse_changes=10,
)

FULL = Mode(
    name='full',
    duration=10,
    rate_duration=15,
    repeats=3,
    rate_repeats=3,
    token_wrk=((1, 4), (1, 16), (2, 16), (2, 64)),
    token_rates=(250, 500, 1000, 2000),
    webhook_wrk=((1, 4), (1, 16), (2, 16)),
    webhook_rates=(250, 500, 1000, 2500),
    storm_repeats=3,
    storm_default_workers=True,
    sse_connections=1000,
    sse_changes=30,
)


@dataclass(frozen=True)
class Credentials:
    """Made-up Twilio credentials, shared by the services and the fake Rooms API."""

    account_sid: str = field(default_factory=lambda: 'AC' + secrets.token_hex(16))
    api_key_sid: str = field(default_factory=lambda: 'SK' + secrets.token_hex(16))
    api_key_secret: str = field(default_factory=lambda: secrets.token_hex(32))
    auth_token: str = field(default_factory=lambda: secrets.token_hex(16))
    secret_key: str = field(default_factory=lambda: secrets.token_urlsafe(32))

    def env(self) -> dict[str, str]:
        return {
            'PODIUM_SECRET_KEY': self.secret_key,
            'TWILIO_ACCOUNT_SID': self.account_sid,
            'TWILIO_API_KEY_SID': self.api_key_sid,
            'TWILIO_API_KEY_SECRET': self.api_key_secret,
            'TWILIO_AUTH_TOKEN': self.auth_token,
        }


@dataclass(frozen=True)
class Context:
    """One benchmark run: mode, where logs go, the shared redis-server."""

    mode: Mode
    work_dir: Path
    redis_url: str
    credentials: Credentials

    def podium_env(self, **extra: str) -> dict[str, str]:
        """Return the settings a Podium service needs, plus `extra`."""
        return {
            'PODIUM_PUBLIC_URL': PUBLIC_URL,
            'PODIUM_REDIS_URL': self.redis_url,
            'PODIUM_VIDEO_BACKEND': 'twilio',
            # Several servers of one service run side by side: no metrics
            # listener (port 0), or the second would find the first's port taken.
            **{variable: '0' for variable, _ in METRICS_PORTS.values()},
            **self.credentials.env(),
            **extra,
        }
