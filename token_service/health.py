"""`GET /api/healthz`: the service is up and can reach Redis."""

from __future__ import annotations

import logging

import falcon
import redis

from podium.store import Store

log = logging.getLogger(__name__)


class Health:
    def __init__(self, store: Store):
        self._store = store

    def on_get(self, req: falcon.Request, resp: falcon.Response):
        try:
            self._store.client.ping()
        except redis.RedisError as ex:
            log.warning('health check: Redis is unreachable: %s', type(ex).__name__)
            raise falcon.HTTPServiceUnavailable(
                title='Redis is unreachable',
                description='The token service cannot reach its Redis server.',
            ) from None
        resp.cache_control = ['no-store']
        resp.media = {'status': 'ok'}
