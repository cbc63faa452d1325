"""`/v1/Rooms/{room}/Broadcast`: a Podium extension of the Rooms API (Twilio has none).

Twilio Programmable Video has no server-side participant and no HLS output, so
this resource exists on the local backend only; it authenticates like every Rooms
resource (HTTP Basic with the API key), so the token service reaches it with the
same twilio-python client.
"""

from __future__ import annotations

from .broadcaster import Broadcaster
from .errors import BAD_REQUEST, TwilioError
from .rest import BasicAuth, _Base, _form, _form_value
from .rooms import Registry, Room

STATUSES = ('started', 'stopped')


class BroadcastResource(_Base):
    def __init__(
        self,
        registry: Registry,
        account_sid: str,
        auth: BasicAuth,
        broadcaster: Broadcaster,
    ) -> None:
        super().__init__(registry, account_sid, auth)
        self._broadcaster = broadcaster

    def _json(self, req, room: Room) -> dict:
        on_air = self._broadcaster.get(room)
        body = {
            'room_sid': room.sid,
            'status': 'stopped',
            'playlist': None,
            'restarts': 0,
            'last_error': None,
            'url': f'{req.prefix}/v1/Rooms/{room.sid}/Broadcast',
        }
        if on_air is not None:
            body.update(on_air.as_json())
        return body

    async def on_get(self, req, resp, room: str) -> None:
        resp.media = self._json(req, self._room(room))

    async def on_post(self, req, resp, room: str) -> None:
        found = self._room(room)
        status = _form_value(await _form(req), 'Status')
        if status not in STATUSES:
            raise TwilioError(
                BAD_REQUEST,
                'Status must be "started" (broadcast the room as HLS) or "stopped"',
            )
        if status == 'started':
            if not found.in_progress:
                raise TwilioError(
                    BAD_REQUEST,
                    'A broadcast can only start while the room is in progress',
                )
            self._broadcaster.turn_on(found)
        else:
            await self._broadcaster.turn_off(found)
        resp.media = self._json(req, found)


def add_broadcast_routes(
    app, registry: Registry, account_sid: str, auth: BasicAuth, broadcaster: Broadcaster
) -> None:
    app.add_route(
        '/v1/Rooms/{room}/Broadcast',
        BroadcastResource(registry, account_sid, auth, broadcaster),
    )
