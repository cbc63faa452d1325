"""`GET /webhooks/healthz`: the service is up and can reach Redis."""

from __future__ import annotations

import falcon
import redis

from podium.store import AsyncRoomState


class Health:
    def __init__(self, room_state: AsyncRoomState):
        self._room_state = room_state

    async def on_get(self, req: falcon.Request, resp: falcon.Response) -> None:
        try:
            await self._room_state.ping()
        except redis.RedisError:
            raise falcon.HTTPServiceUnavailable(
                title='Redis unavailable',
                description=(
                    'The webhooks service cannot reach Redis at PODIUM_REDIS_URL.'
                ),
            ) from None
        resp.media = {'status': 'ok'}
