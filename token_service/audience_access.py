"""Who may write audience data, and the answers to writes the store refused.

An attendee proves who they are with their own access token (`Authorization:
Bearer <token>`, as for subscribe rules); the presenter with the presenter key
(`Authorization: Presenter <key>`: in a header, never in a URL that logs keep).
"""

from __future__ import annotations

import logging
import re
from collections.abc import Callable

import falcon

from podium import audience, ids, room_state
from podium.config import TokenServiceConfig
from podium.store import AudienceOutcome
from token_service import access
from token_service.bodies import read_json_object, read_json_object_async
from token_service.tokens import InvalidToken, verify_token

log = logging.getLogger(__name__)

PRESENTER_SCHEME = 'presenter'
# A question can be 500 emoji, which JSON may escape to 12 bytes each.
MAX_AUDIENCE_BODY_BYTES = 8192


def known_id(presentation_id: str) -> str:
    """Return the id, or raise 404 for one we can never have handed out."""
    if not ids.is_presentation_id(presentation_id):
        access.require_found(None)
    return presentation_id


ITEM_ID = re.compile(r'[A-Za-z0-9_-]{1,32}')  # question and poll ids we make
IDENTITY = re.compile(r'attendee-[0-9a-f]{1,64}')


def known_item(item_id: str, what: str) -> str:
    """Return a question or poll id, or raise 404 for one we never made."""
    if not ITEM_ID.fullmatch(item_id):
        raise falcon.HTTPNotFound(
            title=f'No such {what}',
            description=f'This presentation has no {what} with this id.',
        )
    return item_id


def _credentials(req: falcon.Request) -> tuple[str, str]:
    scheme, _, value = (req.auth or '').strip().partition(' ')
    return scheme.lower(), value.strip()


def attendee_identity(
    req: falcon.Request, config: TokenServiceConfig, presentation_id: str, now: float
) -> str:
    """Return the identity in the caller's access token, or raise 401."""
    scheme, token = _credentials(req)
    if scheme != 'bearer' or not token:
        raise falcon.HTTPUnauthorized(
            title='Access token required',
            description='Send the access token from /tokens as '
            '"Authorization: Bearer <token>".',
            challenges=['Bearer'],
        )
    room_name = room_state.room_name_for(known_id(presentation_id))
    try:
        return verify_token(config, token, room_name, now)
    except InvalidToken as ex:
        log.info('rejected access token for %s: %s', presentation_id, ex)
        raise falcon.HTTPUnauthorized(
            title='Invalid access token',
            description='The access token is expired or not for this '
            'presentation. Reload the page to get a new one.',
            challenges=['Bearer'],
        ) from None


def require_presenter_key(
    req: falcon.Request, config: TokenServiceConfig, presentation_id: str
) -> None:
    """Raise 401 without a presenter key, 403 with anything but the right one."""
    scheme, key = _credentials(req)
    if not scheme:
        raise falcon.HTTPUnauthorized(
            title='Presenter key required',
            description='Only the presenter can do this: send the presenter key '
            'as "Authorization: Presenter <key>".',
            challenges=['Presenter'],
        )
    if scheme != PRESENTER_SCHEME or not access.key_matches(
        config.secret_key, known_id(presentation_id), key
    ):
        raise falcon.HTTPForbidden(
            title='Only the presenter can do this',
            description='This needs the presenter key ("Authorization: Presenter '
            '<key>"); an attendee token or another key does not do.',
        )


def read_body(req: falcon.Request) -> dict:
    return read_json_object(req, max_bytes=MAX_AUDIENCE_BODY_BYTES)


async def read_body_async(req) -> dict:
    """`read_body` for a coroutine responder (ASGI)."""
    return await read_json_object_async(req, max_bytes=MAX_AUDIENCE_BODY_BYTES)


def invalid(ex: audience.InvalidInput) -> falcon.HTTPBadRequest:
    return falcon.HTTPBadRequest(title=f'Invalid {ex.field}', description=str(ex))


def boolean(body: dict, name: str, *, default: bool | None = None) -> bool | None:
    value = body.get(name, default)
    if value is not None and not isinstance(value, bool):
        raise falcon.HTTPBadRequest(
            title=f'Invalid {name}', description=f'"{name}" must be true or false.'
        )
    return value


# What the store's refusals mean to a caller.
REFUSALS: dict[str, Callable[[AudienceOutcome, str], falcon.HTTPError]] = {
    'no-presentation': lambda o, what: falcon.HTTPNotFound(
        title='No such presentation',
        description='Check the link: this presentation does not exist or has expired.',
    ),
    'ended': lambda o, what: falcon.HTTPGone(
        title='The presentation is over',
        description='The presenter has ended this presentation; it takes no more '
        'questions, votes, hands or reactions.',
    ),
    'rate': lambda o, what: falcon.HTTPTooManyRequests(
        title='Too many requests',
        description=f'You {what} too often. Try again in {o.retry_after} s.',
        retry_after=o.retry_after,
    ),
    'no-question': lambda o, what: falcon.HTTPNotFound(
        title='No such question',
        description='This question does not exist, or is not visible yet.',
    ),
    'dismissed': lambda o, what: falcon.HTTPConflict(
        title='Question dismissed',
        description='The presenter dismissed this question; it takes no votes.',
    ),
    'full-questions': lambda o, what: falcon.HTTPConflict(
        title='Too many questions',
        description=f'This presentation has reached its limit of '
        f'{audience.MAX_QUESTIONS} questions.',
    ),
    'full-polls': lambda o, what: falcon.HTTPConflict(
        title='Too many polls',
        description=f'This presentation has reached its limit of '
        f'{audience.MAX_POLLS} polls.',
    ),
    'no-poll': lambda o, what: falcon.HTTPNotFound(
        title='No such poll', description='This poll does not exist.'
    ),
    'not-open': lambda o, what: falcon.HTTPConflict(
        title='The poll is not open',
        description=f'This poll is {o.result[0] if o.result else "not open"}: '
        'votes count only while it is open.',
    ),
    'option': lambda o, what: falcon.HTTPBadRequest(
        title='Invalid option',
        description=f'"option" must be between 0 and {int(o.result[0]) - 1} for '
        'this poll.',
    ),
    'missing': lambda o, what: falcon.HTTPNotFound(
        title='Not found', description='It was deleted meanwhile.'
    ),
    'conflict': lambda o, what: falcon.HTTPConflict(
        title='Changed meanwhile',
        description='Someone else changed this at the same time; try again.',
    ),
}


def check(outcome: AudienceOutcome, what: str, *, full: str = '') -> AudienceOutcome:
    """Return an 'ok' outcome; raise the 4xx its refusal means otherwise.

    `what` ends "You ... too often" (e.g. 'vote'); `full` names the cap.
    """
    if outcome.status == 'ok':
        return outcome
    status = f'full-{full}' if outcome.status == 'full' else outcome.status
    raise REFUSALS[status](outcome, what)


def counted(scope: str, identity: str, window: int, limit: int):
    """Return what the store counts a request against, None if the limit is off."""
    return (scope, identity, window, limit) if limit > 0 else None
