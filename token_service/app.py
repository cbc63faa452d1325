"""The token service's Falcon ASGI app: wiring only.

Tokens is a coroutine on redis.asyncio (the hot path); every other resource is
a sync class served in a thread through `token_service.on_the_loop` (see there
for how to add one).
"""

from __future__ import annotations

import time
from collections.abc import Callable

import falcon
import falcon.asgi
import redis
import requests
from twilio.rest import Client

from podium import health, ids
from podium.config import TokenServiceConfig
from podium.http_errors import serialize_error
from podium.metrics import RequestMetrics
from podium.store import (
    AsyncAudienceWrites,
    AsyncTokenStore,
    AudienceStore,
    InlineAudienceWrites,
    Store,
    SyncTokenStore,
)
from token_service.broadcast import Broadcast, BroadcastOverflow
from token_service.errors import HANDLED, handle_store_error, handle_video_error
from token_service.exports import Export
from token_service.hands import Hand, HandOf, Hands, Reactions
from token_service.health import Health
from token_service.on_the_loop import add_sync_route, sync_error_handler
from token_service.openapi import OPENAPI_PATH, OpenApiDocument
from token_service.polls import Poll, Polls, PollVote
from token_service.presentations import PresentationEnd, Presentations
from token_service.questions import (
    AudienceSettings,
    Question,
    Questions,
    QuestionVote,
)
from token_service.rate_limits import (
    ClientAddress,
    Limit,
    RateLimiter,
    RateLimitSettings,
)
from token_service.recording import (
    MediaLinks,
    Recording,
    RecordingComposition,
    RecordingMedia,
)
from token_service.report import Report
from token_service.rooms import Rooms, twilio_client
from token_service.stage import (
    Stage,
    StageAccept,
    StageLeave,
    StageSlot,
    StageSlotMute,
)
from token_service.subscribe_rules import SubscribeRules
from token_service.tokens import Tokens

# A malformed id matches no route: 404 before any resource or Redis sees it.
PRESENTATION_PATH = '/api/presentations/{presentation_id:presentation_id}'
TOKENS_PATH = f'{PRESENTATION_PATH}/tokens'
SUBSCRIBE_RULES_PATH = f'{PRESENTATION_PATH}/subscribe-rules'


def create_app(
    config: TokenServiceConfig | None = None,
    *,
    store: Store | None = None,
    rooms: Rooms | None = None,
    clock: Callable[[], float] = time.time,
    client_factory: Callable[[TokenServiceConfig], Client] = twilio_client,
    rate_limits: RateLimitSettings | None = None,
    token_store: AsyncTokenStore | SyncTokenStore | None = None,
    media_session: requests.Session | None = None,
) -> falcon.asgi.App:
    """Return the token service, reading settings from the environment if not given.

    Tokens go through `token_store` (redis.asyncio, one round trip on the event
    loop); everything else uses `store` (sync, pooled: threads share it). Given
    only a `store`, tokens use it inline (`SyncTokenStore`: tests on fakeredis).
    `media_session` fetches recordings from the video service (a fake in tests).
    """
    config = config or TokenServiceConfig.from_env()
    if token_store is None:
        token_store = (
            SyncTokenStore(store)
            if store is not None
            else AsyncTokenStore.from_url(config.redis_url)
        )
    store = store or Store.from_url(config.redis_url)
    rooms = rooms or Rooms(client_factory(config), config)
    rate_limits = rate_limits or RateLimitSettings.from_env(
        backend=config.video_backend
    )

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
    # Metrics first: rate-limited answers are counted and timed too.
    app = falcon.asgi.App(
        middleware=[
            RequestMetrics('token_service'),
            limiter,
            Lifespan(token_store),
        ]
    )
    app.set_error_serializer(serialize_error)
    ids.register_converter(app)
    add_sync_route(app, '/api/presentations', Presentations(config, store, clock))
    audience = AudienceStore(store)
    # The audience's hot writes share the tokens' event-loop pool.
    writes = (
        AsyncAudienceWrites(token_store.client)
        if isinstance(token_store, AsyncTokenStore)
        else InlineAudienceWrites(audience)
    )
    app.add_route(
        TOKENS_PATH,
        Tokens(config, store, rooms, clock, limiter, fast=token_store),
    )
    add_sync_route(
        app,
        SUBSCRIBE_RULES_PATH,
        SubscribeRules(config, store, rooms, clock, rate_limits),
    )
    add_sync_route(
        app,
        f'{PRESENTATION_PATH}/end',
        PresentationEnd(config, store, rooms, clock),
    )
    add_sync_route(
        app, f'{PRESENTATION_PATH}/broadcast', Broadcast(config, store, rooms)
    )
    add_sync_route(
        app,
        f'{PRESENTATION_PATH}/broadcast/overflow',
        BroadcastOverflow(config, store, rooms, clock),
    )
    add_audience_routes(app, config, audience, clock, rate_limits, writes)
    add_stage_routes(app, (config, audience, clock, rate_limits, rooms))
    add_recording_routes(app, (config, store, rooms, clock), media_session)
    add_sync_route(app, '/api/healthz', Health(store))
    app.add_route('/api/livez', health.AsyncLiveness())
    app.add_route(
        '/api/readyz',
        health.AsyncReadiness({'redis': health.redis_check(store, 'token_service')}),
    )
    add_sync_route(app, OPENAPI_PATH, OpenApiDocument())
    app.add_error_handler(HANDLED, sync_error_handler(handle_video_error))
    app.add_error_handler(redis.RedisError, sync_error_handler(handle_store_error))
    return app


class Lifespan:
    """ASGI lifespan: close the worker's asyncio Redis pool on shutdown."""

    def __init__(self, token_store: AsyncTokenStore | SyncTokenStore):
        self._token_store = token_store

    async def process_shutdown(self, scope, event) -> None:
        await self._token_store.close()


def add_audience_routes(
    app: falcon.asgi.App,
    config: TokenServiceConfig,
    audience: AudienceStore,
    clock: Callable[[], float],
    limits: RateLimitSettings,
    writes: AsyncAudienceWrites | InlineAudienceWrites,
) -> None:
    """Route Q&A, hands, reactions, polls, settings and exports (docs/audience-api.md).

    Rate limited per identity inside each write's one Redis round trip, not by
    the per-address middleware. Asking, upvoting and reacting (the writes a
    whole audience makes at once) are coroutines on `writes`; the rest runs in
    a thread (`add_sync_route`).
    """
    base = PRESENTATION_PATH
    deps = (config, audience, clock, limits)
    hot = {'writes': writes}
    add_sync_route(app, f'{base}/questions', Questions(*deps, **hot))
    add_sync_route(app, f'{base}/questions/{{question_id}}', Question(*deps))
    add_sync_route(
        app, f'{base}/questions/{{question_id}}/vote', QuestionVote(*deps, **hot)
    )
    add_sync_route(app, f'{base}/reactions', Reactions(*deps, **hot))
    add_sync_route(app, f'{base}/hand', Hand(*deps))
    add_sync_route(app, f'{base}/hands', Hands(*deps))
    add_sync_route(app, f'{base}/hands/{{identity}}', HandOf(*deps))
    add_sync_route(app, f'{base}/polls', Polls(*deps))
    add_sync_route(app, f'{base}/polls/{{poll_id}}', Poll(*deps))
    add_sync_route(app, f'{base}/polls/{{poll_id}}/vote', PollVote(*deps))
    add_sync_route(app, f'{base}/settings', AudienceSettings(*deps))
    export = Export(*deps)
    for name in ('questions.csv', 'questions.json', 'polls.csv', 'polls.json'):
        suffix = name.replace('.', '_')
        add_sync_route(app, f'{base}/{name}', export, suffix=suffix)
    report = Report(config, audience, clock)
    add_sync_route(app, f'{base}/report', report)
    add_sync_route(app, f'{base}/report.csv', report, suffix='csv')


def add_recording_routes(
    app: falcon.asgi.App, deps: tuple, session: requests.Session | None
) -> None:
    """Route recording a talk and its one file (docs/recording.md).

    `session` fetches the file from the video service (a fake in unit tests).
    """
    config, _, _, clock = deps
    links = MediaLinks(config.secret_key, config.recording_link_ttl, clock)
    base = f'{PRESENTATION_PATH}/recording'
    add_sync_route(app, base, Recording(*deps, links))
    add_sync_route(app, f'{base}/composition', RecordingComposition(*deps, links))
    add_sync_route(app, f'{base}/media', RecordingMedia(*deps, links, session=session))


def add_stage_routes(app: falcon.asgi.App, deps: tuple) -> None:
    """Route inviting attendees on stage (docs/stage.md)."""
    base = f'{PRESENTATION_PATH}/stage'
    add_sync_route(app, base, Stage(*deps))
    add_sync_route(app, f'{base}/accept', StageAccept(*deps))
    leave = StageLeave(*deps)
    add_sync_route(app, f'{base}/decline', leave)
    add_sync_route(app, f'{base}/leave', leave)
    add_sync_route(app, f'{base}/{{slot}}', StageSlot(*deps))
    add_sync_route(app, f'{base}/{{slot}}/mute', StageSlotMute(*deps))
