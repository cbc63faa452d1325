"""Presentation ids: how they are made, what counts as one, and the route converter.

Ids are `secrets.token_urlsafe(ID_BYTES)`: 12 characters of the URL-safe base64
alphabet. They become part of Redis keys (`podium:presentation:<id>:version`)
and of room names (`podium-<id>`), so anything outside that alphabet, a ':' in
particular, must never get that far: `x:version` would name another key.
Accepting up to MAX_LENGTH characters leaves room for longer ids later and for
the hand-made ones tests and demos use ('demo-talk'), not for anything else.

Every service's routes read `{presentation_id:presentation_id}`, so a malformed
id does not match the route and is a 404 before any resource runs.
"""

from __future__ import annotations

import re
import secrets

import falcon
from falcon.routing import BaseConverter

ID_BYTES = 9  # 12 URL-safe characters; ids are links, not secrets
MAX_LENGTH = 64
PATTERN = re.compile(rf'[A-Za-z0-9_-]{{1,{MAX_LENGTH}}}')
CONVERTER_NAME = 'presentation_id'


class InvalidPresentationId(ValueError):
    """A string is not a presentation id (and must not become part of a key)."""


def new_presentation_id() -> str:
    return secrets.token_urlsafe(ID_BYTES)


def is_presentation_id(value: object) -> bool:
    """Return whether `value` has the form of an id Podium hands out."""
    return isinstance(value, str) and PATTERN.fullmatch(value) is not None


def checked(value: str) -> str:
    """Return `value` if it is a presentation id; raise InvalidPresentationId."""
    if not is_presentation_id(value):
        raise InvalidPresentationId(f'not a presentation id: {value[:80]!r}')
    return value


class PresentationIdConverter(BaseConverter):
    """Falcon field converter: a route matches only a well-formed presentation id."""

    def convert(self, value: str) -> str | None:
        # None makes the router treat the path as unmatched: a plain 404.
        return value if is_presentation_id(value) else None


def register_converter(app: falcon.App) -> None:
    """Let `app`'s routes use `{presentation_id:presentation_id}` (before add_route)."""
    app.router_options.converters[CONVERTER_NAME] = PresentationIdConverter
