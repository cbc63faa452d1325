"""Subscribe rules: attendees receive the presenter's tracks and nothing else.

Browsers connect with `automaticSubscription: false` (exclude all), then ask
here for their rules, so no attendee ever receives another attendee's media.
"""

from __future__ import annotations

import logging
from collections.abc import Callable

import falcon

from podium import room_state
from podium.config import TokenServiceConfig
from podium.store import Store
from token_service import access
from token_service.rooms import VIDEO_ERRORS, Rooms, room_name_of
from token_service.tokens import InvalidToken, verify_token

log = logging.getLogger(__name__)

PARTICIPANT_NOT_FOUND = 53204


def rules_for(identity: str) -> list[dict]:
    """Return the subscribe rules of a participant."""
    if room_state.is_presenter(identity):
        # The presenter only talks; hearing the audience would echo its own stream.
        return [{'type': 'exclude', 'all': True}]
    return [{'type': 'include', 'publisher': room_state.PRESENTER_IDENTITY}]


def bearer_token(req: falcon.Request) -> str:
    scheme, _, token = (req.auth or '').partition(' ')
    if scheme.lower() != 'bearer' or not token.strip():
        raise falcon.HTTPUnauthorized(
            title='Access token required',
            description='Send the access token from /tokens as '
            '"Authorization: Bearer <token>".',
            challenges=['Bearer'],
        )
    return token.strip()


class SubscribeRules:
    """`POST /api/presentations/{id}/subscribe-rules`: set the caller's rules."""

    def __init__(
        self,
        config: TokenServiceConfig,
        store: Store,
        rooms: Rooms,
        clock: Callable[[], float],
    ):
        self._config = config
        self._store = store
        self._rooms = rooms
        self._clock = clock

    def on_post(self, req: falcon.Request, resp: falcon.Response, presentation_id: str):
        token = bearer_token(req)
        presentation = access.find_presentation(self._store, presentation_id)
        room_name = room_name_of(presentation)
        try:
            identity = verify_token(self._config, token, room_name, self._clock())
        except InvalidToken as ex:
            log.info('rejected access token for %s: %s', presentation_id, ex)
            raise falcon.HTTPUnauthorized(
                title='Invalid access token',
                description='The access token is expired or not for this '
                'presentation. Reload the page to get a new one.',
                challenges=['Bearer'],
            ) from None
        access.require_open(presentation)
        rules = rules_for(identity)
        try:
            self._rooms.set_subscribe_rules(room_name, identity, rules)
        except VIDEO_ERRORS as ex:
            if ex.status != 404 and ex.code != PARTICIPANT_NOT_FOUND:
                raise
            raise falcon.HTTPConflict(
                title='Not connected',
                description='Connect to the room first, then ask for subscribe rules.',
            ) from None
        resp.cache_control = ['no-store']
        resp.media = {'identity': identity, 'rules': rules}
