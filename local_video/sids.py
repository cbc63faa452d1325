"""Twilio-shaped resource identifiers: a two-letter prefix and 32 hex digits."""

from __future__ import annotations

import secrets


def new_sid(prefix: str) -> str:
    """Return a fresh SID such as `RM` + 32 hex digits."""
    return prefix + secrets.token_hex(16)


def room_sid() -> str:
    return new_sid('RM')


def participant_sid() -> str:
    return new_sid('PA')


def track_sid() -> str:
    return new_sid('MT')
