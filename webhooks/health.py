"""`GET /webhooks/healthz`: the service is up and can reach Redis."""

from __future__ import annotations

import falcon
import redis

from podium.store import Store


class Health:
    def __init__(self, store: Store):
        self._store = store

    def on_get(self, req: falcon.Request, resp: falcon.Response) -> None:
        try:
            self._store.client.ping()
        except redis.RedisError:
            raise falcon.HTTPServiceUnavailable(
                title='Redis unavailable',
                description=(
                    'The webhooks service cannot reach Redis at PODIUM_REDIS_URL.'
                ),
            ) from None
        resp.media = {'status': 'ok'}
