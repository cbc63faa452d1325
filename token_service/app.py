"""The token service's Falcon app: wiring only."""

from __future__ import annotations

import time
from collections.abc import Callable

import falcon
import redis
from twilio.rest import Client

from podium import ids
from podium.config import Config
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

# A malformed id matches no route: 404 before any resource or Redis sees it.
PRESENTATION_PATH = '/api/presentations/{presentation_id:presentation_id}'
TOKENS_PATH = f'{PRESENTATION_PATH}/tokens'
SUBSCRIBE_RULES_PATH = f'{PRESENTATION_PATH}/subscribe-rules'


def create_app(
    config: Config | None = None,
    *,
    store: Store | None = None,
    rooms: Rooms | None = None,
    clock: Callable[[], float] = time.time,
    client_factory: Callable[[Config], Client] = twilio_client,
    rate_limits: RateLimitSettings | None = None,
) -> falcon.App:
    """Return the token service, reading settings from the environment if not given."""
    config = config or Config.from_env()
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
            ('POST', TOKENS_PATH): Limit(
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
    ids.register_converter(app)
    app.add_route('/api/presentations', Presentations(config, store, clock))
    app.add_route(
        TOKENS_PATH,
        Tokens(config, store, rooms, clock, limiter),
    )
    app.add_route(
        SUBSCRIBE_RULES_PATH,
        SubscribeRules(config, store, rooms, clock, rate_limits),
    )
    app.add_route(
        f'{PRESENTATION_PATH}/end',
        PresentationEnd(config, store, rooms, clock),
    )
    app.add_route('/api/healthz', Health(store))
    app.add_route(OPENAPI_PATH, OpenApiDocument())
    app.add_error_handler(HANDLED, handle_video_error)
    app.add_error_handler(redis.RedisError, handle_store_error)
    return app
