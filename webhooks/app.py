"""Build the webhooks WSGI app: room status callbacks in, merged room state out."""

from __future__ import annotations

import logging
from collections.abc import Callable

import falcon
import redis
from twilio.rest import Client

from podium import health, metrics
from podium.config import WEBHOOK_PATH, WebhooksConfig
from podium.http_errors import serialize_error
from podium.rebuild import StateWatcher, watch_state
from podium.store import AudienceStore, Store
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


def _redis_unavailable(req, resp, ex, params) -> None:
    # 503 makes Twilio retry the callback instead of dropping it as a client error.
    metrics.count_redis_error('webhooks')
    logger.error('Redis error on %s %s: %s', req.method, req.path, type(ex).__name__)
    raise falcon.HTTPServiceUnavailable(
        title='Storage unavailable',
        description='Room state cannot be stored right now; try again shortly.',
    )


class WebhooksApp(falcon.App):
    """The Falcon app plus its background work, started and stopped with the worker.

    WSGI has no lifespan events: gunicorn's `post_worker_init` and `worker_exit`
    hooks (deploy/gunicorn/webhooks.conf.py) call `start()` and `stop()`, so
    nothing runs merely because the module was imported.
    """

    def __init__(self, watcher: StateWatcher | None, **kwargs):
        super().__init__(**kwargs)
        self.state_watcher = watcher

    def start(self) -> None:
        """Start watching for a Redis that came back empty (and rebuild now)."""
        if self.state_watcher is not None:
            self.state_watcher.start()

    def stop(self) -> None:
        """Stop the background work; safe to call when it never started."""
        if self.state_watcher is not None:
            self.state_watcher.stop()


def create_app(
    config: WebhooksConfig | None = None,
    *,
    store: Store | None = None,
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
    """
    config = config or WebhooksConfig.from_env()
    # gunicorn sync workers serve one request at a time: the per-request Redis
    # commands share one connection, without a pool checkout each.
    store = store or Store.from_url(config.redis_url, single_connection=True)
    audience = AudienceStore(store)
    guard = PublishGuard(
        store,
        client_factory(config),
        speakers=stage_speakers(audience, config.stage_slots),
    )
    if watch and state_watcher is None:
        # Its own store: the watcher's thread must not share the request
        # thread's single connection.
        state_watcher = watch_state(config)
    app = WebhooksApp(
        state_watcher if watch else None,
        middleware=[metrics.RequestMetrics('webhooks'), CallbackRejections()],
    )
    app.set_error_serializer(serialize_error)
    app.add_route(
        WEBHOOK_PATH,
        RoomEvents(
            store,
            TwilioSignature(config.public_url, config.auth_token),
            max_body,
            publish_guard=guard,
            stage=StageExits(audience, config.stage_slots),
        ),
    )
    app.add_route(HEALTH_PATH, Health(store))
    app.add_route('/webhooks/livez', health.Liveness())
    app.add_route(
        '/webhooks/readyz',
        health.Readiness({'redis': health.redis_check(store, 'webhooks')}),
    )
    app.add_route(OPENAPI_PATH, OpenApiDocument())
    app.add_error_handler(redis.RedisError, _redis_unavailable)
    return app
