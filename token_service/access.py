"""Presenter keys and the lookups that guard every presentation endpoint.

Only the SHA-256 hash of a presenter key is stored, so a Redis dump does not
hand out presenter rights. The key itself has 192 bits of entropy, so a plain
hash (no salt, no stretching) is enough.
"""

from __future__ import annotations

import hashlib
import hmac
import re
import secrets

import falcon

from podium.store import Store

PRESENTER_KEY_BYTES = 24
# Ids we hand out are token_urlsafe(9); anything else cannot be ours.
PRESENTATION_ID = re.compile(r'[A-Za-z0-9_-]{1,64}')


def new_presenter_key() -> str:
    return secrets.token_urlsafe(PRESENTER_KEY_BYTES)


def hash_key(key: str) -> str:
    return hashlib.sha256(key.encode('utf-8')).hexdigest()


def key_matches(key: object, stored_hash: str) -> bool:
    """Return whether `key` is the presenter key whose hash is `stored_hash`."""
    if not isinstance(key, str) or not key or not stored_hash:
        return False
    return hmac.compare_digest(hash_key(key), stored_hash)


def find_presentation(store: Store, presentation_id: str) -> dict[str, str]:
    """Return the presentation's record or raise 404."""
    record = None
    if PRESENTATION_ID.fullmatch(presentation_id):
        record = store.get_presentation(presentation_id)
    if record is None:
        raise falcon.HTTPNotFound(
            title='No such presentation',
            description='Check the link: this presentation does not exist or has '
            'expired.',
        )
    return record


def require_open(presentation: dict[str, str]) -> None:
    """Raise 410 if the presenter has ended the presentation."""
    if presentation.get('ended_at'):
        raise falcon.HTTPGone(
            title='The presentation is over',
            description='The presenter has ended this presentation.',
        )


def require_presenter(presentation: dict[str, str], key: object) -> None:
    """Raise 403 unless `key` is the presentation's presenter key."""
    if not key_matches(key, presentation.get('presenter_key_hash', '')):
        raise falcon.HTTPForbidden(
            title='Wrong presenter key',
            description='Only the presenter can do this. Open the presenter link '
            'you got when you created the presentation (it ends with #key=...).',
        )
