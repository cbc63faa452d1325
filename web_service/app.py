"""Build the web service's Falcon ASGI app: pages, static files, state and SSE."""

from __future__ import annotations

import asyncio
import logging
from collections.abc import Mapping
from pathlib import Path

import falcon
import falcon.asgi
import redis.asyncio
from redis.asyncio.retry import Retry
from redis.backoff import NoBackoff

from podium import health, ids, metrics
from podium.config import WebConfig
from podium.http_errors import error_body, serialize_error
from podium.store import AudienceStore, Store
from web_service import vendor
from web_service.changes import ChangeHub
from web_service.live import (
    KEEPALIVE_INTERVAL,
    Health,
    PresentationEvents,
    PresentationState,
    public_sections,
    track_disconnect,
)
from web_service.openapi import OPENAPI_PATH, OpenApiDocument
from web_service.pages import Home, PresentationPage, Templates, render_not_found
from web_service.security import SecurityHeaders, content_security_policy

log = logging.getLogger(__name__)

STATIC_DIR = Path(__file__).parent / 'static'
PUBSUB_HEALTH_CHECK_INTERVAL = 15  # seconds; finds a silently dead subscription
MAX_BODY_BYTES = 0  # every endpoint is a GET: no request takes a body


class OnlyPlainGets:
    """Refuse what no endpoint here takes: request bodies, and methods on /static.

    Checked before routing, so a body never reaches a resource (which would not
    read it) and Falcon's static route, which answers any method, serves GET only.
    """

    async def process_request(self, req, resp) -> None:
        chunked = 'chunked' in (req.get_header('Transfer-Encoding') or '').lower()
        if chunked or (req.content_length or 0) > MAX_BODY_BYTES:
            raise falcon.HTTPContentTooLarge(
                title='Request body not accepted',
                description='Podium pages and live state are read with GET and '
                'take no request body; send the request without one.',
            )
        if req.path.startswith('/static/') and req.method not in ('GET', 'HEAD'):
            raise falcon.HTTPMethodNotAllowed(['GET', 'HEAD'])


class RevalidateStatic:
    """Revalidate static files on each load, so a new release is never stale."""

    async def process_response(self, req, resp, resource, req_succeeded) -> None:
        if req.path.startswith('/static/') and not resp.get_header('Cache-Control'):
            resp.cache_control = ['no-cache']


class Lifespan:
    """Start the change hub with the server's lifespan and stop it on shutdown."""

    def __init__(self, changes: ChangeHub):
        self._changes = changes

    async def process_startup(self, scope, event) -> None:
        self._changes.start()

    async def process_shutdown(self, scope, event) -> None:
        await self._changes.stop()


class App(falcon.asgi.App):
    """Falcon's ASGI app, telling event streams at once when their client leaves."""

    async def __call__(self, scope, receive, send) -> None:
        if scope['type'] == 'http' and scope['path'].endswith('/events'):
            receive = track_disconnect(scope, receive)
        await super().__call__(scope, receive, send)


def _pubsub_client_factory(url: str):
    def make() -> redis.asyncio.Redis:
        # No silent retries inside redis-py: a reconnection must go through
        # ChangeHub, which then refreshes what was published meanwhile.
        return redis.asyncio.Redis.from_url(
            url,
            decode_responses=True,
            health_check_interval=PUBSUB_HEALTH_CHECK_INTERVAL,
            socket_keepalive=True,
            socket_connect_timeout=5,
            retry=Retry(NoBackoff(), 0),
        )

    return make


def create_app(
    config: WebConfig | None = None,
    *,
    store: Store | None = None,
    changes: ChangeHub | None = None,
    environ: Mapping[str, str] | None = None,
    keepalive: float = KEEPALIVE_INTERVAL,
    stream_limit: int | None = None,
) -> falcon.asgi.App:
    """Return the web service app; inject `store` and `changes` to test it.

    `stream_limit` ends every event stream after that many events, so that a test
    client can read one to its end; streams are endless without it.
    """
    config = config or WebConfig.from_env(environ)
    store = store or Store.from_url(config.redis_url)

    # Store is synchronous (redis-py); keep its round trips off the event loop.
    async def read_view(presentation_id: str) -> dict | None:
        return await asyncio.to_thread(store.read_view, presentation_id)

    async def read_presentation(presentation_id: str) -> dict | None:
        return await asyncio.to_thread(store.get_presentation, presentation_id)

    audience = AudienceStore(store)

    async def read_audience(presentation_id: str, kinds: frozenset[str]) -> dict:
        snapshot = await asyncio.to_thread(
            audience.read_audience, presentation_id, sorted(kinds)
        )
        return public_sections(snapshot, kinds)

    async def read_reactions(presentation_id: str, bucket: int) -> dict[str, int]:
        return await asyncio.to_thread(
            audience.reaction_counts, presentation_id, bucket
        )

    if changes is None:
        changes = ChangeHub(
            read_view,
            read_audience=read_audience,
            read_reactions=read_reactions,
            subscriber=_pubsub_client_factory(config.redis_url),
        )

    templates = Templates()
    headers = SecurityHeaders(content_security_policy(config))
    app = App(
        middleware=[
            metrics.RequestMetrics('web_service'),
            Lifespan(changes),
            OnlyPlainGets(),
            RevalidateStatic(),
            headers,
        ]
    )
    app.set_error_serializer(serialize_error)
    # A malformed id matches no route: the 404 below, before Redis sees it.
    ids.register_converter(app)
    app.add_route('/', Home(templates))
    page = PresentationPage(
        templates, read_presentation, config.video_backend, config.broadcast_base_url
    )
    app.add_route('/presentations/{presentation_id:presentation_id}', page)
    app.add_route(
        '/presentations/{presentation_id:presentation_id}/present',
        page,
        suffix='present',
    )
    app.add_route('/live/healthz', Health())
    app.add_route('/live/livez', health.AsyncLiveness())
    app.add_route(
        '/live/readyz',
        health.AsyncReadiness({'redis': health.redis_check(store, 'web_service')}),
    )
    app.add_route(
        '/live/presentations/{presentation_id:presentation_id}',
        PresentationState(read_view),
    )
    app.add_route(
        '/live/presentations/{presentation_id:presentation_id}/events',
        PresentationEvents(
            read_view,
            changes,
            read_audience=read_audience,
            keepalive=keepalive,
            limit=stream_limit,
        ),
    )
    app.add_route(OPENAPI_PATH, OpenApiDocument())
    app.add_static_route('/static', STATIC_DIR)
    # A dynamic route, so that only this one file of node_modules is reachable.
    node_modules = vendor.node_modules_dir(environ)
    app.add_route(
        '/static/vendor/twilio-video.min.js',
        vendor.VendorFile(node_modules / vendor.TWILIO_VIDEO_DIST),
    )
    app.add_route(
        '/static/vendor/hls.light.min.mjs',
        vendor.VendorFile(node_modules / vendor.HLS_DIST),
    )

    async def not_found(req, resp, ex, params) -> None:
        # Browsers get a page that says what to do; API clients get JSON.
        if req.path.startswith(('/live/', '/static/', '/api/')):
            resp.status = ex.status
            resp.media = error_body(req, ex)
            return
        render_not_found(templates, resp)

    app.add_error_handler(falcon.HTTPNotFound, not_found)

    async def store_unavailable(req, resp, ex, params) -> None:
        metrics.count_redis_error('web_service')
        raise falcon.HTTPServiceUnavailable(
            title='Storage is unavailable',
            description='The server cannot reach its database. Try again in a moment.',
        )

    app.add_error_handler(redis.RedisError, store_unavailable)
    return app
