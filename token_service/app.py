"""The token service's Falcon app: wiring only."""

from __future__ import annotations

import time
from collections.abc import Callable

import falcon
import redis
from twilio.rest import Client

from podium.config import TokenServiceConfig
from podium.http_errors import serialize_error
from podium.store import Store
from token_service.errors import HANDLED, handle_store_error, handle_video_error
from token_service.health import Health
from token_service.openapi import OPENAPI_PATH, OpenApiDocument
from token_service.presentations import PresentationEnd, Presentations
from token_service.rate_limits import (
    ClientAddress,
    Limit,
    RateLimiter,
    RateLimitSettings,
)
from token_service.rooms import Rooms, twilio_client
from token_service.subscribe_rules import SubscribeRules
from token_service.tokens import Tokens


def create_app(
    config: TokenServiceConfig | None = None,
    *,
    store: Store | None = None,
    rooms: Rooms | None = None,
    clock: Callable[[], float] = time.time,
    client_factory: Callable[[TokenServiceConfig], Client] = twilio_client,
    rate_limits: RateLimitSettings | None = None,
) -> falcon.App:
    """Return the token service, reading settings from the environment if not given."""
    config = config or TokenServiceConfig.from_env()
    # gunicorn sync workers serve one request at a time: the per-request Redis
    # commands share one connection, without a pool checkout each.
    store = store or Store.from_url(config.redis_url, single_connection=True)
    rooms = rooms or Rooms(client_factory(config), config)
    rate_limits = rate_limits or RateLimitSettings.from_env()

    limiter = RateLimiter(
        store,
        {
            ('POST', '/api/presentations'): Limit(
                'presentations',
                rate_limits.presentations_per_minute,
                'create presentations',
            ),
            # Counted by Tokens itself, in the round trip that reads the
            # presentation: the hot path of a talk's start.
            ('POST', '/api/presentations/{presentation_id}/tokens'): Limit(
                'tokens',
                rate_limits.tokens_per_minute,
                'ask for access tokens',
                counted_by_resource=True,
            ),
        },
        ClientAddress(rate_limits.trusted_proxies),
        clock,
    )
    app = falcon.App(middleware=[limiter])
    app.set_error_serializer(serialize_error)
    app.add_route('/api/presentations', Presentations(config, store, clock))
    app.add_route(
        '/api/presentations/{presentation_id}/tokens',
        Tokens(config, store, rooms, clock, limiter),
    )
    app.add_route(
        '/api/presentations/{presentation_id}/subscribe-rules',
        SubscribeRules(config, store, rooms, clock),
    )
    app.add_route(
        '/api/presentations/{presentation_id}/end',
        PresentationEnd(config, store, rooms, clock),
    )
    app.add_route('/api/healthz', Health(store))
    app.add_route(OPENAPI_PATH, OpenApiDocument())
    app.add_error_handler(HANDLED, handle_video_error)
    app.add_error_handler(redis.RedisError, handle_store_error)
    return app
