"""Settings of the local video service, read from the environment by `from_env()`.

Every setting is documented in `.env.example`. The Twilio-named credentials are the
LOCAL ones `bin/podium up` generates: the token service signs access tokens and calls
the Rooms REST API with them exactly as it would with Twilio's.
"""

from __future__ import annotations

import ipaddress
import os
from collections.abc import Mapping
from dataclasses import dataclass, field
from pathlib import Path

from podium import stage

from .broadcast_plan import Rendition, parse_renditions

DEFAULT_PORT = 8004
DEFAULT_JANUS_BINARY = 'janus'
DEFAULT_RTP_PORTS = '20000-40000'
# Recordings and compositions outlive the process, so they default to a folder of
# the checkout (ignored by git), not to a temporary one.
DEFAULT_RECORDINGS_DIR = str(Path(__file__).resolve().parents[1] / 'var' / 'recordings')
DEFAULT_RETENTION_DAYS = 30
DEFAULT_COMPOSITION_WORKERS = 1
# The broadcast's HLS folders (one per room), served by nginx at /broadcast/.
DEFAULT_BROADCAST_DIR = str(Path(__file__).resolve().parents[1] / 'var' / 'broadcast')
DEFAULT_BROADCAST_RENDITIONS = '720,360'
DEFAULT_BROADCAST_SEGMENT_SECONDS = 1


class ConfigError(Exception):
    """A setting is missing or invalid; the message names the variable."""


@dataclass(frozen=True)
class LocalVideoConfig:
    """Everything the local video service needs; build it with `from_env()`."""

    account_sid: str
    api_key_sid: str
    api_key_secret: str = field(repr=False)
    auth_token: str = field(repr=False)
    port: int = DEFAULT_PORT
    host: str = '127.0.0.1'
    janus_binary: str = DEFAULT_JANUS_BINARY
    janus_http_port: int = 0  # 0: pick a free loopback port at start
    janus_admin_port: int = 0
    janus_interface: str = ''  # '' : detect the primary interface's IPv4 address
    # The public address behind a 1:1 NAT (cloud VMs): Janus advertises it instead
    # of the interface address (nat_1_1_mapping). '' : the interface is public.
    janus_public_ip: str = ''
    janus_rtp_ports: str = DEFAULT_RTP_PORTS
    janus_run_dir: str = ''  # '' : a fresh temporary directory
    recordings_dir: str = DEFAULT_RECORDINGS_DIR
    # Days a recording or composition is kept after it was made; 0 keeps them forever.
    recordings_retention_days: int = DEFAULT_RETENTION_DAYS
    # Compositions run one after the other by default: ffmpeg takes a core each.
    composition_workers: int = DEFAULT_COMPOSITION_WORKERS
    janus_pp_rec_binary: str = 'janus-pp-rec'
    ffmpeg_binary: str = 'ffmpeg'
    # PODIUM_STAGE_SLOTS, as the token service reads it: speaker-1..N may publish.
    stage_slots: int = stage.DEFAULT_SLOTS
    broadcast_dir: str = DEFAULT_BROADCAST_DIR
    # Picture heights of the HLS renditions; each costs the encoder about a core's
    # third at 720p (bench/RESULTS.md, Broadcast).
    broadcast_renditions: tuple[Rendition, ...] = parse_renditions(
        DEFAULT_BROADCAST_RENDITIONS
    )
    broadcast_segment_seconds: int = DEFAULT_BROADCAST_SEGMENT_SECONDS


def from_env(environ: Mapping[str, str] | None = None) -> LocalVideoConfig:
    """Build a LocalVideoConfig from environment variables (default: `os.environ`)."""
    env = os.environ if environ is None else environ

    def get(name: str, default: str = '') -> str:
        return env.get(name, default).strip()

    def require(name: str) -> str:
        value = get(name)
        if not value:
            raise ConfigError(
                f'{name} is not set: the local video service needs the local '
                'credentials bin/podium up generates (see .env.example).'
            )
        return value

    def port(name: str, default: int) -> int:
        raw = get(name)
        if not raw:
            return default
        try:
            value = int(raw)
        except ValueError:
            raise ConfigError(f'{name} must be a port number, got {raw!r}') from None
        if not 0 <= value <= 65535:
            raise ConfigError(f'{name} must be between 0 and 65535, got {value}')
        return value

    def count(name: str, default: int, low: int) -> int:
        raw = get(name)
        if not raw:
            return default
        if not raw.isdigit() or int(raw) < low:
            raise ConfigError(
                f'{name} must be a whole number of at least {low}, got {raw!r}'
            )
        return int(raw)

    rtp = get('PODIUM_JANUS_RTP_PORTS', DEFAULT_RTP_PORTS)
    low, sep, high = rtp.partition('-')
    if not (
        sep and low.isdigit() and high.isdigit() and 0 < int(low) < int(high) < 65536
    ):
        raise ConfigError(
            f'PODIUM_JANUS_RTP_PORTS must look like 20000-40000, got {rtp!r}'
        )
    public_ip = get('PODIUM_JANUS_PUBLIC_IP')
    if public_ip:
        try:
            public_ip = str(ipaddress.ip_address(public_ip))
        except ValueError:
            raise ConfigError(
                'PODIUM_JANUS_PUBLIC_IP must be an IP address (the public address '
                f'of this machine behind a 1:1 NAT), got {public_ip!r}'
            ) from None
    return LocalVideoConfig(
        account_sid=require('TWILIO_ACCOUNT_SID'),
        api_key_sid=require('TWILIO_API_KEY_SID'),
        api_key_secret=require('TWILIO_API_KEY_SECRET'),
        auth_token=require('TWILIO_AUTH_TOKEN'),
        port=port('PODIUM_LOCAL_VIDEO_PORT', DEFAULT_PORT),
        janus_binary=get('PODIUM_JANUS_BINARY', DEFAULT_JANUS_BINARY),
        janus_http_port=port('PODIUM_JANUS_HTTP_PORT', 0),
        janus_admin_port=port('PODIUM_JANUS_ADMIN_PORT', 0),
        janus_interface=get('PODIUM_JANUS_INTERFACE'),
        janus_public_ip=public_ip,
        janus_rtp_ports=rtp,
        janus_run_dir=get('PODIUM_JANUS_RUN_DIR'),
        recordings_dir=get('PODIUM_RECORDINGS_DIR') or DEFAULT_RECORDINGS_DIR,
        recordings_retention_days=count(
            'PODIUM_RECORDINGS_RETENTION_DAYS', DEFAULT_RETENTION_DAYS, 0
        ),
        composition_workers=count(
            'PODIUM_COMPOSITION_WORKERS', DEFAULT_COMPOSITION_WORKERS, 1
        ),
        janus_pp_rec_binary=get('PODIUM_JANUS_PP_REC_BINARY', 'janus-pp-rec'),
        ffmpeg_binary=get('PODIUM_FFMPEG_BINARY', 'ffmpeg'),
        stage_slots=_stage_slots(get('PODIUM_STAGE_SLOTS')),
        broadcast_dir=get('PODIUM_BROADCAST_DIR') or DEFAULT_BROADCAST_DIR,
        broadcast_renditions=_renditions(get('PODIUM_BROADCAST_RENDITIONS')),
        broadcast_segment_seconds=_segment_seconds(
            get('PODIUM_BROADCAST_SEGMENT_SECONDS')
        ),
    )


def _renditions(raw: str) -> tuple[Rendition, ...]:
    try:
        return parse_renditions(raw or DEFAULT_BROADCAST_RENDITIONS)
    except ValueError as ex:
        raise ConfigError(str(ex)) from None


def _segment_seconds(raw: str) -> int:
    if not raw:
        return DEFAULT_BROADCAST_SEGMENT_SECONDS
    if not raw.isdigit() or not 1 <= int(raw) <= 6:
        raise ConfigError(
            'PODIUM_BROADCAST_SEGMENT_SECONDS must be a whole number of seconds from '
            f'1 to 6 (shorter segments: less delay), got {raw!r}'
        )
    return int(raw)


def _stage_slots(raw: str) -> int:
    """Read PODIUM_STAGE_SLOTS as the token service does (1..MAX_SLOTS, default 3)."""
    if not raw:
        return stage.DEFAULT_SLOTS
    if not raw.isdigit() or not 1 <= int(raw) <= stage.MAX_SLOTS:
        raise ConfigError(
            f'PODIUM_STAGE_SLOTS must be a whole number from 1 to {stage.MAX_SLOTS}, '
            f'got {raw!r}'
        )
    return int(raw)
