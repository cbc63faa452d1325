"""Build the webhooks ASGI app: room status callbacks in, merged room state out."""

from __future__ import annotations

import asyncio
import logging
from collections.abc import Callable

import falcon
import falcon.asgi
import redis
from twilio.rest import Client

from podium import health, metrics
from podium.config import WEBHOOK_PATH, WebhooksConfig
from podium.http_errors import serialize_error
from podium.rebuild import StateWatcher, watch_state
from podium.store import AsyncRoomState, AudienceStore, InlineRoomState, Store
from webhooks.callback_metrics import CallbackRejections
from webhooks.form import MAX_BODY_BYTES
from webhooks.health import Health
from webhooks.openapi import OPENAPI_PATH, OpenApiDocument
from webhooks.publish_guard import PublishGuard, kick_client, stage_speakers
from webhooks.room_events import RoomEvents
from webhooks.signature import TwilioSignature
from webhooks.stage_exits import StageExits

HEALTH_PATH = '/webhooks/healthz'

logger = logging.getLogger(__name__)


async def _redis_unavailable(req, resp, ex, params) -> None:
    # 503 makes Twilio retry the callback instead of dropping it as a client error.
    metrics.count_redis_error('webhooks')
    logger.error('Redis error on %s %s: %s', req.method, req.path, type(ex).__name__)
    raise falcon.HTTPServiceUnavailable(
        title='Storage unavailable',
        description='Room state cannot be stored right now; try again shortly.',
    )


class WebhooksApp(falcon.asgi.App):
    """Falcon's ASGI app plus its background work, started and stopped with it.

    The server's lifespan events (`Lifespan`) call `start()` and `stop()`, so
    nothing runs merely because the module was imported.
    """

    def __init__(
        self,
        watcher: StateWatcher | None,
        room_state: AsyncRoomState | InlineRoomState,
        **kwargs,
    ):
        super().__init__(**kwargs)
        self.state_watcher = watcher
        self.room_state = room_state

    def start(self) -> None:
        """Start watching for a Redis that came back empty (and rebuild now)."""
        if self.state_watcher is not None:
            self.state_watcher.start()

    def stop(self) -> None:
        """Stop the background work; safe to call when it never started."""
        if self.state_watcher is not None:
            self.state_watcher.stop()


class Lifespan:
    """ASGI lifespan: background work and the asyncio Redis pool, per worker."""

    def __init__(self, app: WebhooksApp):
        self._app = app

    async def process_startup(self, scope, event) -> None:
        # The watcher's first check rebuilds from the Rooms API: not on the loop.
        await asyncio.to_thread(self._app.start)

    async def process_shutdown(self, scope, event) -> None:
        await asyncio.to_thread(self._app.stop)
        await self._app.room_state.close()


def create_app(
    config: WebhooksConfig | None = None,
    *,
    store: Store | None = None,
    room_state: AsyncRoomState | InlineRoomState | None = None,
    max_body: int = MAX_BODY_BYTES,
    state_watcher: StateWatcher | None = None,
    watch: bool = True,
    client_factory: Callable[[WebhooksConfig], Client] = kick_client,
) -> WebhooksApp:
    """Return the webhooks app; settings come from the environment unless given.

    `watch=False` leaves out the rebuild watcher (tests of the HTTP surface);
    otherwise one is made from `config` unless `state_watcher` is given. It
    starts only with `app.start()`. `client_factory` makes the Rooms API client
    that removes participants who may not publish (Twilio's, or local_video's).

    Callbacks are merged through `room_state` (redis.asyncio, one round trip on
    the event loop); the rare paths that call the Rooms API or read the stage
    use `store` (sync, pooled) from threads. Given only a `store`, callbacks go
    through it inline (`InlineRoomState`: tests on fakeredis).
    """
    config = config or WebhooksConfig.from_env()
    if room_state is None:
        room_state = (
            InlineRoomState(store)
            if store is not None
            else AsyncRoomState.from_url(config.redis_url)
        )
    # A pool, not one connection: several threads may use it at once.
    store = store or Store.from_url(config.redis_url)
    audience = AudienceStore(store)
    guard = PublishGuard(
        store,
        client_factory(config),
        speakers=stage_speakers(audience, config.stage_slots),
    )
    if watch and state_watcher is None:
        state_watcher = watch_state(config)
    app = WebhooksApp(
        state_watcher if watch else None,
        room_state,
        middleware=[metrics.RequestMetrics('webhooks'), CallbackRejections()],
    )
    app.add_middleware(Lifespan(app))
    app.set_error_serializer(serialize_error)
    app.add_route(
        WEBHOOK_PATH,
        RoomEvents(
            store,
            TwilioSignature(config.public_url, config.auth_token),
            max_body,
            publish_guard=guard,
            stage=StageExits(audience, config.stage_slots),
            room_state=room_state,
        ),
    )
    app.add_route(HEALTH_PATH, Health(room_state))
    app.add_route('/webhooks/livez', health.AsyncLiveness())
    app.add_route(
        '/webhooks/readyz',
        health.AsyncReadiness({'redis': health.redis_check(store, 'webhooks')}),
    )
    app.add_route(OPENAPI_PATH, OpenApiDocument())
    app.add_error_handler(redis.RedisError, _redis_unavailable)
    return app
