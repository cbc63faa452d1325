"""`/api/presentations/{id}/broadcast`: the presenter's HLS broadcast on or off.

The choice is kept with the presentation (so a room created later is broadcast
too) and reaches pages in the presentation's state; the room's encoder is
local_video's (`/v1/Rooms/{room}/Broadcast`). Twilio has no server-side
participant and no HLS output, so on the Twilio backend this answers 409 with why.
"""

from __future__ import annotations

import logging
from collections.abc import Callable

import falcon

from podium.config import TokenServiceConfig
from podium.store import Store
from token_service import access
from token_service.audience_access import boolean, read_body, require_presenter_key
from token_service.rooms import Rooms, room_name_of
from token_service.subscribe_rules import bearer_token
from token_service.tokens import InvalidToken, verify_token

log = logging.getLogger(__name__)


def broadcast_unavailable(description: str) -> falcon.HTTPConflict:
    """The 409 of every broadcast request on the Twilio backend."""
    return falcon.HTTPConflict(
        title='Broadcast needs the local media backend', description=description
    )


class Broadcast:
    def __init__(self, config: TokenServiceConfig, store: Store, rooms: Rooms):
        self._config = config
        self._store = store
        self._rooms = rooms

    def _answer(self, resp, presentation: dict[str, str]) -> None:
        on = presentation.get('broadcast') == '1'
        body: dict = {'broadcast': on, 'encoder': None}
        room_sid = presentation.get('room_sid')
        if on and room_sid and not presentation.get('ended_at'):
            found = self._rooms.broadcast(room_sid)
            body['encoder'] = {
                'status': found.get('status'),
                'restarts': found.get('restarts', 0),
                'last_error': found.get('last_error'),
            }
        resp.cache_control = ['no-store']
        resp.media = body

    def on_get(self, req, resp, presentation_id: str) -> None:
        require_presenter_key(req, self._config, presentation_id)
        self._answer(resp, access.find_presentation(self._store, presentation_id))

    def on_put(self, req, resp, presentation_id: str) -> None:
        require_presenter_key(req, self._config, presentation_id)
        on = boolean(read_body(req), 'broadcast')
        if on is None:
            raise falcon.HTTPBadRequest(
                title='Invalid broadcast',
                description='Send {"broadcast": true} or {"broadcast": false}.',
            )
        presentation = access.find_presentation(self._store, presentation_id)
        if self._config.video_backend == 'twilio' and on:
            raise broadcast_unavailable(
                'Twilio Video has no server-side participant to '
                'encode a stream from, so Podium broadcasts (HLS) only on the '
                'local backend (PODIUM_VIDEO_BACKEND=local); see README, Broadcast.'
            )
        if presentation.get('ended_at') and on:
            raise falcon.HTTPConflict(
                title='Presentation ended',
                description='An ended presentation cannot be broadcast.',
            )
        room_sid = presentation.get('room_sid')
        room = self._store.get_room(room_sid) if room_sid else None
        if room_sid and not (room and room.get('ended_at')):
            # The live room changes first: a failure leaves the choice as it was.
            self._rooms.set_broadcast(room_sid, on)
        self._store.set_broadcast(presentation_id, on)
        stored = self._store.get_presentation(presentation_id)
        self._answer(resp, stored or presentation)


class BroadcastOverflow:
    """`POST .../broadcast/overflow`: an attendee found the room full; broadcast.

    The caller proves it is an attendee of this presentation with its access
    token; the room must really be full (asked of the Rooms API), so nobody turns
    a talk into a broadcast by asking.
    """

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

    def on_post(self, req, resp, presentation_id: str) -> None:
        token = bearer_token(req)
        presentation = access.find_presentation(self._store, presentation_id)
        try:
            verify_token(self._config, token, room_name_of(presentation), self._clock())
        except InvalidToken:
            raise falcon.HTTPUnauthorized(
                title='Invalid access token',
                description='The access token is expired or not for this '
                'presentation. Reload the page to get a new one.',
                challenges=['Bearer'],
            ) from None
        access.require_open(presentation)
        if self._config.video_backend == 'twilio':
            raise broadcast_unavailable(
                'This presentation is full and cannot be broadcast '
                'here. Try again when someone leaves.'
            )
        room_sid = presentation.get('room_sid')
        if presentation.get('broadcast') != '1':
            if not (room_sid and self._rooms.is_full(room_sid)):
                raise falcon.HTTPConflict(
                    title='The room has space',
                    description='Join the presentation: there is room for you.',
                )
            self._rooms.set_broadcast(room_sid, True)
            self._store.set_broadcast(presentation_id, True)
            log.info('presentation %s full: broadcast on', presentation_id)
        resp.cache_control = ['no-store']
        resp.media = {'broadcast': True, 'encoder': None}
