"""Build the webhooks WSGI app: room status callbacks in, merged room state out."""

from __future__ import annotations

import logging
from collections.abc import Callable

import falcon
import redis
from twilio.rest import Client

from podium.config import WEBHOOK_PATH, Config
from podium.http_errors import serialize_error
from podium.store import Store
from webhooks.form import MAX_BODY_BYTES
from webhooks.health import Health
from webhooks.openapi import OPENAPI_PATH, OpenApiDocument
from webhooks.publish_guard import PublishGuard, kick_client
from webhooks.room_events import RoomEvents
from webhooks.signature import TwilioSignature

HEALTH_PATH = '/webhooks/healthz'

logger = logging.getLogger(__name__)


def _redis_unavailable(req, resp, ex, params) -> None:
    # 503 makes Twilio retry the callback instead of dropping it as a client error.
    logger.error('Redis error on %s %s: %s', req.method, req.path, type(ex).__name__)
    raise falcon.HTTPServiceUnavailable(
        title='Storage unavailable',
        description='Room state cannot be stored right now; try again shortly.',
    )


def create_app(
    config: Config | None = None,
    *,
    store: Store | None = None,
    max_body: int = MAX_BODY_BYTES,
    client_factory: Callable[[Config], Client] = kick_client,
) -> falcon.App:
    """Return the webhooks app; settings come from the environment unless given.

    `client_factory` makes the Rooms API client that removes participants who
    may not publish (Twilio's, or local_video's).
    """
    config = config or Config.from_env()
    # gunicorn sync workers serve one request at a time: the per-request Redis
    # commands share one connection, without a pool checkout each.
    store = store or Store.from_url(config.redis_url, single_connection=True)
    guard = PublishGuard(store, client_factory(config))
    app = falcon.App()
    app.set_error_serializer(serialize_error)
    app.add_route(
        WEBHOOK_PATH,
        RoomEvents(
            store,
            TwilioSignature(config.public_url, config.auth_token),
            max_body,
            publish_guard=guard,
        ),
    )
    app.add_route(HEALTH_PATH, Health(store))
    app.add_route(OPENAPI_PATH, OpenApiDocument())
    app.add_error_handler(redis.RedisError, _redis_unavailable)
    return app
