"""Creating and ending presentations."""

from __future__ import annotations

import logging
from collections.abc import Callable

import falcon

from podium import recording_state, room_state
from podium.config import TokenServiceConfig
from podium.ids import new_presentation_id
from podium.store import Store
from token_service import access
from token_service.bodies import read_json_object, text_field
from token_service.broadcast import broadcast_unavailable
from token_service.recording import request_composition
from token_service.rooms import Rooms

log = logging.getLogger(__name__)

MAX_TITLE_LENGTH = 128
CREATE_ATTEMPTS = 3


def _flag(body: dict, name: str, meaning: str) -> bool:
    """An optional true/false field of the create body (absent: false)."""
    value = body.get(name, False)
    if not isinstance(value, bool):
        raise falcon.HTTPBadRequest(
            title=f'Invalid {name}',
            description=f'"{name}" must be true ({meaning}) or false.',
        )
    return value


class Presentations:
    """`POST /api/presentations`: create a presentation and its presenter key."""

    def __init__(
        self,
        config: TokenServiceConfig,
        store: Store,
        clock: Callable[[], float],
        new_id: Callable[[], str] = new_presentation_id,
    ):
        self._config = config
        self._store = store
        self._clock = clock
        self._new_id = new_id

    def on_post(self, req: falcon.Request, resp: falcon.Response):
        body = read_json_object(req)
        title = text_field(body, 'title', max_length=MAX_TITLE_LENGTH, required=True)
        moderated = _flag(body, 'moderated', 'new questions wait for your approval')
        broadcast = _flag(
            body, 'broadcast', 'also stream the talk as HLS, for any audience size'
        )
        if broadcast and self._config.video_backend == 'twilio':
            raise broadcast_unavailable(
                'Twilio Video has no server-side participant to encode '
                'a stream from; create the presentation without "broadcast".'
            )
        recording = _flag(body, 'recording', 'record the talk from its start')
        for _ in range(CREATE_ATTEMPTS):
            presentation_id = self._new_id()
            record = {
                'id': presentation_id,
                'title': title,
                'room_name': room_state.room_name_for(presentation_id),
                'created_at': str(int(self._clock() * 1000)),
            }
            if moderated:  # absent: not moderated, as before moderation existed
                record['moderated'] = '1'
            if broadcast:
                record['broadcast'] = '1'
            if recording:
                record[recording_state.REQUESTED_FIELD] = '1'
            # 72 random bits make a clash all but impossible; never overwrite one.
            if self._store.create_presentation(record):
                break
        else:
            raise falcon.HTTPServiceUnavailable(
                title='Could not create the presentation',
                description='Please try again.',
            )
        log.info('created presentation %s', presentation_id)
        key = access.presenter_key(self._config.secret_key, presentation_id)
        path = f'/presentations/{presentation_id}'
        resp.status = falcon.HTTP_201
        resp.cache_control = ['no-store']
        resp.location = path
        resp.media = {
            'id': presentation_id,
            'title': title,
            'moderated': moderated,
            'broadcast': broadcast,
            'recording': recording,
            'attendee_url': self._config.public_link(path),
            # The key rides in the fragment, which browsers never send to servers.
            'presenter_url': self._config.public_link(f'{path}/present#key={key}'),
            'presenter_key': key,
        }


class PresentationEnd:
    """`POST /api/presentations/{id}/end`: end the talk and close its room."""

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
        body = read_json_object(req)
        presentation = access.find_presentation(self._store, presentation_id)
        access.require_presenter(self._config.secret_key, presentation, body.get('key'))
        now_ms = int(self._clock() * 1000)
        if self._store.end_presentation(presentation_id, now_ms):
            log.info('presentation %s ended', presentation_id)
        presentation = self._store.get_presentation(presentation_id) or presentation
        # Completing again on a repeated end is how a failed first attempt recovers.
        room_sid = presentation.get('room_sid')
        if room_sid:
            room = self._store.get_room(room_sid)
            if not (room and room.get('ended_at')):
                self._rooms.complete(room_sid)
        # The one file of the talk; a repeated end asks again if this failed.
        records = self._store.media_records(presentation_id)
        if recording_state.wants_composition(presentation, records):
            request_composition(self._store, self._rooms, presentation)
        resp.cache_control = ['no-store']
        resp.media = {
            'id': presentation_id,
            'status': 'ended',
            'ended_at': int(presentation.get('ended_at') or now_ms),
        }
