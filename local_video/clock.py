"""Time as Twilio writes it."""

from __future__ import annotations

from datetime import UTC, datetime


def utcnow() -> datetime:
    return datetime.now(UTC)


def iso_seconds(moment: datetime | None) -> str | None:
    """Return `2024-05-01T12:00:00Z`, the form the REST API uses, or None."""
    return None if moment is None else moment.strftime('%Y-%m-%dT%H:%M:%SZ')


def iso_millis(moment: datetime) -> str:
    """Return `2024-05-01T12:00:00.123Z`, the form status callbacks use."""
    return moment.strftime('%Y-%m-%dT%H:%M:%S.') + f'{moment.microsecond // 1000:03d}Z'
