"""Build the local video ASGI app: Rooms REST, signalling WebSocket, Janus."""

from __future__ import annotations

from dataclasses import dataclass
from pathlib import Path

import falcon
import falcon.asgi

from podium import health
from podium.config import MetricsConfig

from . import config as config_module
from .broadcast_rest import add_broadcast_routes
from .broadcaster import Broadcaster
from .callbacks import CallbackSender
from .composition_rest import MediaSigner, add_composition_routes
from .composition_worker import CompositionWorker
from .compositions import CompositionStore
from .config import LocalVideoConfig
from .errors import TwilioError, handle_twilio_error, serialize_error
from .media import JanusMedia
from .metrics import LocalVideoMetrics
from .openapi import OPENAPI_PATH, OpenApiDocument
from .recorder import Recorder
from .recording_rest import add_recording_routes
from .rest import BasicAuth, add_routes
from .rooms import Registry
from .signalling import SignalHub

SIGNAL_PATH = '/video/signal'


class Lifecycle:
    """ASGI lifespan: start callbacks and Janus with the server, stop them with it."""

    def __init__(
        self,
        callbacks: CallbackSender,
        media: JanusMedia | None,
        hub: SignalHub,
        background: tuple = (),
    ) -> None:
        self._callbacks = callbacks
        self._background = background  # objects with async start()/stop()
        self._media = media
        self._hub = hub

    async def process_startup(self, scope, event) -> None:
        await self._callbacks.start()
        if self._media is not None:
            await self._media.start()
        for part in self._background:
            await part.start()

    async def process_shutdown(self, scope, event) -> None:
        await self._hub.close_all()
        for part in reversed(self._background):
            await part.stop()
        if self._media is not None:
            await self._media.stop()
        await self._callbacks.stop()


class Health:
    def __init__(self, media: JanusMedia | None) -> None:
        self._media = media

    async def on_get(self, req, resp) -> None:
        ready = self._media is None or (
            self._media.process is not None and self._media.process.ready.is_set()
        )
        resp.status = falcon.HTTP_200 if ready else falcon.HTTP_503
        resp.media = {
            'status': 'ok' if ready else 'media server restarting',
            'janus_restarts': self._media.process.restarts
            if self._media and self._media.process
            else 0,
        }


def janus_ready(media: JanusMedia | None):
    """Return the readiness check of the media server (none: always ready)."""
    return lambda: (
        media is None or (media.process is not None and media.process.ready.is_set())
    )


def build_service(
    config: LocalVideoConfig | None = None,
    *,
    media: JanusMedia | None = None,
    use_janus: bool = True,
    callbacks: CallbackSender | None = None,
    minute: float = 60.0,
    metrics_config: MetricsConfig | None = None,
) -> Service:
    """Wire the service. `use_janus=False` gives REST + signalling without media.

    `metrics_config`: where to serve Prometheus metrics (default: nowhere).
    """
    config = config or config_module.from_env()
    callbacks = callbacks or CallbackSender(config.account_sid, config.auth_token)
    if media is None and use_janus:
        media = JanusMedia(config)
    recorder = Recorder(config, callbacks)
    worker = CompositionWorker(
        config,
        CompositionStore(Path(config.recordings_dir) / 'compositions'),
        callbacks,
    )
    broadcasters: list[Broadcaster] = []  # set once the hub exists

    def room_ended(room) -> None:
        for broadcaster in broadcasters:
            broadcaster.room_ended(room)
        if media is not None:
            media.room_ended(room)

    registry = Registry(
        callbacks,
        minute=minute,
        on_room_ended=room_ended,
        on_tracks_changed=recorder.sync,
        on_recording_rules=recorder.rules_changed,
    )
    if media is not None:
        media.recording_options = recorder.publish_options
    hub = SignalHub(registry, config, media)
    broadcaster = Broadcaster(config, media, hub.media_of)
    broadcasters.append(broadcaster)
    app = falcon.asgi.App(
        middleware=[
            LocalVideoMetrics(registry, media, metrics_config or MetricsConfig()),
            Lifecycle(callbacks, media, hub, (recorder, worker, broadcaster)),
        ]
    )
    app.set_error_serializer(serialize_error)
    app.add_error_handler(TwilioError, handle_twilio_error)
    auth = BasicAuth(
        [
            (config.api_key_sid, config.api_key_secret),
            (config.account_sid, config.auth_token),
        ]
    )
    add_routes(app, registry, config.account_sid, auth)
    add_recording_routes(app, registry, config.account_sid, auth, recorder)
    add_composition_routes(
        app,
        registry,
        config.account_sid,
        auth,
        recorder,
        worker,
        MediaSigner(config.auth_token),
    )
    add_broadcast_routes(app, registry, config.account_sid, auth, broadcaster)
    app.add_route(SIGNAL_PATH, hub)
    app.add_route('/video/healthz', Health(media))
    app.add_route('/video/livez', health.AsyncLiveness())
    app.add_route('/video/readyz', health.AsyncReadiness({'janus': janus_ready(media)}))
    app.add_route(OPENAPI_PATH, OpenApiDocument())
    return Service(
        app=app,
        registry=registry,
        hub=hub,
        media=media,
        recorder=recorder,
        compositions=worker,
        broadcaster=broadcaster,
    )


@dataclass
class Service:
    """The app and the parts tests and diagnostics look at."""

    app: falcon.asgi.App
    registry: Registry
    hub: SignalHub
    media: JanusMedia | None
    recorder: Recorder
    compositions: CompositionWorker
    broadcaster: Broadcaster


def create_app(config: LocalVideoConfig | None = None, **options) -> falcon.asgi.App:
    """Return the ASGI app (see `build_service` for the options)."""
    return build_service(config, **options).app
