"""Presenter keys and the lookups that guard every presentation endpoint.

A presenter key is derived, not stored: HMAC-SHA256 of the presentation id keyed
with PODIUM_SECRET_KEY. Nothing in Redis can hand out presenter rights, and a
presenter link keeps working when Redis loses everything (the rebuild restores
the presentation; the key needs no record to be checked).
"""

from __future__ import annotations

import base64
import hashlib
import hmac

import falcon

from podium import ids
from podium.store import Store

KEY_PURPOSE = 'presenter-key:'


def presenter_key(secret_key: str, presentation_id: str) -> str:
    """Return the presenter key of a presentation: 256 bits, URL-safe base64."""
    if not secret_key:
        raise ValueError('PODIUM_SECRET_KEY is empty: presenter keys need it')
    digest = hmac.new(
        secret_key.encode('utf-8'),
        (KEY_PURPOSE + presentation_id).encode('utf-8'),
        hashlib.sha256,
    ).digest()
    return base64.urlsafe_b64encode(digest).rstrip(b'=').decode('ascii')


def key_matches(secret_key: str, presentation_id: str, key: object) -> bool:
    """Return whether `key` is the presentation's presenter key (constant time)."""
    if not isinstance(key, str) or not key:
        return False
    expected = presenter_key(secret_key, presentation_id)
    return hmac.compare_digest(key.encode('utf-8'), expected.encode('ascii'))


def find_presentation(store: Store, presentation_id: str) -> dict[str, str]:
    """Return the presentation's record or raise 404."""
    record = None
    if ids.is_presentation_id(presentation_id):
        record = store.get_presentation(presentation_id)
    return require_found(record)


def require_found(record: dict[str, str] | None) -> dict[str, str]:
    """Return a presentation's record, or raise 404 if there is none."""
    if record is None:
        raise falcon.HTTPNotFound(
            title='No such presentation',
            description='Check the link: this presentation does not exist or has '
            'expired.',
        )
    return record


def find_presentation_as_presenter(
    store: Store, secret_key: str, presentation_id: str, key: object, *, now_ms: int
) -> dict[str, str]:
    """Return the presentation's record, restoring it for its presenter if lost.

    Redis may have lost a presentation whose room had already closed (a rebuild
    only finds open rooms). A valid presenter key proves we created the id, so
    the presenter gets it back, untitled; anyone else still gets 404.
    """
    record = None
    if ids.is_presentation_id(presentation_id):
        record = store.get_presentation(presentation_id)
        if record is None and key_matches(secret_key, presentation_id, key):
            store.restore_presentation(presentation_id, '', now_ms)
            record = store.get_presentation(presentation_id)
    if record is None:
        return find_presentation(store, presentation_id)  # the usual 404
    return record


def require_open(presentation: dict[str, str]) -> None:
    """Raise 410 if the presenter has ended the presentation."""
    if presentation.get('ended_at'):
        raise falcon.HTTPGone(
            title='The presentation is over',
            description='The presenter has ended this presentation.',
        )


def require_presenter(
    secret_key: str, presentation: dict[str, str], key: object
) -> None:
    """Raise 403 unless `key` is the presentation's presenter key."""
    if not key_matches(secret_key, presentation['id'], key):
        raise falcon.HTTPForbidden(
            title='Wrong presenter key',
            description='Only the presenter can do this. Open the presenter link '
            'you got when you created the presentation (it ends with #key=...).',
        )
