"""`POST /webhooks/room-events`: merge one room status callback into the store."""

from __future__ import annotations

import asyncio
import logging

import falcon

from podium import metrics, recording_state, room_state
from podium.room_state import InvalidEvent
from podium.store import AsyncRoomState, InlineRoomState, Store
from webhooks.form import MAX_BODY_BYTES, Form, read_form, single_values
from webhooks.publish_guard import PublishGuard
from webhooks.signature import TwilioSignature, verify_signature
from webhooks.stage_exits import StageExits

logger = logging.getLogger(__name__)


class RoomEvents:
    """Room status callbacks from Twilio or the local video server.

    Recording callbacks come here too (on the room's StatusCallback), and so do
    composition callbacks: the token service gives compositions this URL.

    On the event loop: a participant or room callback is one round trip on
    `room_state` (redis.asyncio). The rare callbacks that need more (recordings
    and compositions, a speaker's slot, a forbidden publish) use the sync
    `store` and the Rooms API in a thread, so they never hold up the others.
    """

    def __init__(
        self,
        store: Store,
        signature: TwilioSignature,
        max_body: int = MAX_BODY_BYTES,
        publish_guard: PublishGuard | None = None,
        stage: StageExits | None = None,
        room_state: AsyncRoomState | InlineRoomState | None = None,
    ):
        self._store = store
        self._room_state = room_state or InlineRoomState(store)
        self._publish_guard = publish_guard
        self._stage = stage
        self.signature = signature  # read by the verify_signature hook
        self.max_body = max_body  # read by the read_form hook

    # Hooks run top to bottom: parse the body once, then check it is signed.
    @falcon.before(read_form)
    @falcon.before(verify_signature)
    async def on_post(self, req, resp: falcon.Response, form: Form) -> None:
        fields = single_values(form)
        name = fields.get('StatusCallbackEvent', '')
        req.context.callback_counted = True
        try:
            media = recording_state.parse_media_event(fields)
        except InvalidEvent as ex:
            metrics.count_callback(name, 'rejected', 'invalid')
            logger.warning('rejected callback %r: %s', name[:64], ex)
            raise falcon.HTTPBadRequest(
                title='Invalid recording or composition callback',
                description=str(ex),
            ) from None
        if media is not None:
            await asyncio.to_thread(
                self._apply_media, resp, media, fields.get('RoomName', '')
            )
            return
        try:
            event = room_state.parse_event(fields)
        except InvalidEvent as ex:
            metrics.count_callback(name, 'rejected', 'invalid')
            logger.warning('rejected callback %r: %s', name[:64], ex)
            raise falcon.HTTPBadRequest(
                title='Invalid room status callback', description=str(ex)
            ) from None
        resp.status = falcon.HTTP_204
        if event is None:
            metrics.count_callback(name, 'ignored', 'untracked')
            logger.info('ignored callback %r: not an event Podium tracks', name[:64])
            return
        if room_state.presentation_id_for(event.room_name) is None:
            metrics.count_callback(name, 'ignored', 'foreign_room')
            logger.info(
                'ignored callback %s room=%s: not a Podium room',
                event.name,
                event.room_sid,
            )
            return
        changed = await self._room_state.apply_event(event)
        metrics.count_callback(name, 'applied' if changed else 'duplicate')
        if changed:  # a duplicate is a retry, late on purpose
            metrics.observe_callback_lag(event.timestamp)
        logger.info(
            'callback %s room=%s participant=%s track=%s %s',
            event.name,
            event.room_sid,
            event.participant_sid or '-',
            event.track_sid or '-',
            'applied' if changed else 'already known',
        )
        # After the merge: what pages show never waits on the Rooms API, and a
        # failed removal still answers 204 (the marker makes the next one retry).
        if self._publish_guard is not None and self._publish_guard.concerns(event):
            await asyncio.to_thread(self._publish_guard.check, event)
        if self._stage is not None and self._stage.concerns(event):
            await asyncio.to_thread(self._stage.check, event)

    def _apply_media(self, resp, event, room_name: str) -> None:
        resp.status = falcon.HTTP_204
        # Composition callbacks name no room: the room's record (from its
        # room-created, long before any composition) does.
        if not room_name:
            room = self._store.get_room(event.room_sid)
            room_name = room['name'] if room else ''
        presentation_id = room_state.presentation_id_for(room_name)
        if presentation_id is None:
            metrics.count_callback(event.name, 'ignored', 'foreign_room')
            logger.info(
                'ignored callback %s room=%s: not a Podium room',
                event.name,
                event.room_sid,
            )
            return
        changed = self._store.apply_media_event(presentation_id, event)
        metrics.count_callback(event.name, 'applied' if changed else 'duplicate')
        logger.info(
            'callback %s room=%s sid=%s %s',
            event.name,
            event.room_sid,
            event.sid,
            'applied' if changed else 'already known',
        )
