"""Recording Rules and Recordings at /v1, shaped like Twilio's Video v1 API.

Every resource here subclasses rest._Base, so it authenticates exactly like the
Rooms resources (HTTP Basic with the API key or the account token).
"""

from __future__ import annotations

from pathlib import Path

import falcon

from .clock import iso_seconds
from .errors import BAD_REQUEST, NOT_FOUND, TwilioError
from .recorder import Recorder
from .recordings import Recording, parse_recording_rules
from .rest import BasicAuth, _Base, _form, _form_value, _page
from .rooms import Registry, Room
from .rules import rules_json


class _RecordingBase(_Base):
    def __init__(
        self, registry: Registry, account_sid: str, auth: BasicAuth, recorder: Recorder
    ) -> None:
        super().__init__(registry, account_sid, auth)
        self._recorder = recorder

    def _recording(self, sid: str, room: Room | None = None) -> Recording:
        found = self._recorder.book.get(sid)
        if (
            found is None
            or found.status == 'deleted'
            or (room is not None and found.room_sid != room.sid)
        ):
            raise TwilioError(
                NOT_FOUND, f'The requested resource /Recordings/{sid} was not found'
            )
        return found

    def recording_json(self, req, recording: Recording) -> dict:
        url = f'{req.prefix}/v1/Recordings/{recording.sid}'
        room = self._registry.find_room(recording.room_sid)
        room_us = int(room.created_at.timestamp() * 1_000_000) if room else 0
        return {
            'account_sid': self._account_sid,
            'status': recording.status,
            'date_created': iso_seconds(recording.created_at),
            'sid': recording.sid,
            'source_sid': recording.track_sid,
            'size': recording.size,
            'url': url,
            'type': recording.kind,
            'duration': round(recording.duration) if recording.duration else None,
            'container_format': recording.container,
            'codec': recording.codec_name,
            'grouping_sids': {
                'room_sid': recording.room_sid,
                'participant_sid': recording.participant_sid,
            },
            'track_name': recording.track_name,
            'offset': room_us // 1000 + recording.offset_ms(room_us),
            'media_external_location': None,
            'status_callback': None,
            'status_callback_method': 'POST',
            'room_sid': recording.room_sid,
            'links': {'media': f'{url}/Media'},
        }

    def _list(self, req, resp, room: Room | None) -> None:
        found = self._recorder.book.all(room.sid if room else None)
        found = [r for r in found if r.status != 'deleted']
        filters = {}
        for param, attribute in (
            ('Status', 'status'),
            ('SourceSid', 'track_sid'),
            ('MediaType', 'kind'),
        ):
            value = req.get_param(param)
            if value:
                found = [r for r in found if getattr(r, attribute) == value]
                filters[param] = value
        grouping = req.get_param('GroupingSid')
        if grouping:
            found = [r for r in found if grouping in (r.room_sid, r.participant_sid)]
            filters['GroupingSid'] = grouping
        path = f'/v1/Rooms/{room.sid}/Recordings' if room else '/v1/Recordings'
        resp.media = _page(
            req,
            [self.recording_json(req, r) for r in found],
            'recordings',
            path,
            filters,
        )

    def _delete(self, resp, recording: Recording) -> None:
        if recording.status == 'processing':
            raise TwilioError(
                BAD_REQUEST,
                f'Recording {recording.sid} is still being recorded or processed; '
                'delete it once its status is completed or failed',
            )
        if recording.media_path:
            Path(recording.media_path).unlink(missing_ok=True)
        recording.mjr_path.unlink(missing_ok=True)
        recording.status = 'deleted'
        resp.status = falcon.HTTP_204


class RecordingRulesResource(_RecordingBase):
    """`/v1/Rooms/{room}/RecordingRules`: read and replace."""

    def _json(self, room: Room) -> dict:
        updated = iso_seconds(room.recording_rules_updated_at)
        return {
            'room_sid': room.sid,
            'rules': rules_json(room.recording_rules),
            'date_created': iso_seconds(room.created_at),
            'date_updated': updated,
        }

    async def on_get(self, req, resp, room: str) -> None:
        resp.media = self._json(self._room(room))

    async def on_post(self, req, resp, room: str) -> None:
        found = self._room(room)
        form = await _form(req)
        raw = _form_value(form, 'Rules')
        if raw is None:
            raise TwilioError(
                BAD_REQUEST,
                'Invalid Recording Rules: Rules is required, e.g. '
                '[{"type": "include", "all": true}] to record everything',
            )
        rules = parse_recording_rules(raw)
        if not found.in_progress:
            raise TwilioError(
                BAD_REQUEST,
                'Recording Rules can only change while the room is in progress',
            )
        self._registry.set_recording_rules(found, rules)
        resp.media = self._json(found)


class RecordingsResource(_RecordingBase):
    """`/v1/Recordings`: list."""

    async def on_get(self, req, resp) -> None:
        self._list(req, resp, None)


class RecordingResource(_RecordingBase):
    """`/v1/Recordings/{sid}`: fetch and delete."""

    async def on_get(self, req, resp, sid: str) -> None:
        resp.media = self.recording_json(req, self._recording(sid))

    async def on_delete(self, req, resp, sid: str) -> None:
        self._delete(resp, self._recording(sid))


class RoomRecordingsResource(_RecordingBase):
    """`/v1/Rooms/{room}/Recordings`: list one room's."""

    async def on_get(self, req, resp, room: str) -> None:
        self._list(req, resp, self._room(room))


class RoomRecordingResource(_RecordingBase):
    """`/v1/Rooms/{room}/Recordings/{sid}`: fetch and delete."""

    async def on_get(self, req, resp, room: str, sid: str) -> None:
        resp.media = self.recording_json(req, self._recording(sid, self._room(room)))

    async def on_delete(self, req, resp, room: str, sid: str) -> None:
        self._delete(resp, self._recording(sid, self._room(room)))


def add_recording_routes(
    app, registry: Registry, account_sid: str, auth: BasicAuth, recorder: Recorder
) -> None:
    routes = {
        '/v1/Rooms/{room}/RecordingRules': RecordingRulesResource,
        '/v1/Recordings': RecordingsResource,
        '/v1/Recordings/{sid}': RecordingResource,
        '/v1/Rooms/{room}/Recordings': RoomRecordingsResource,
        '/v1/Rooms/{room}/Recordings/{sid}': RoomRecordingResource,
    }
    for path, resource in routes.items():
        app.add_route(path, resource(registry, account_sid, auth, recorder))
