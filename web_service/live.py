"""Presentation state for pages: one JSON read, and a Server-Sent Events stream."""

from __future__ import annotations

import json
from collections.abc import AsyncIterator, Awaitable, Callable

import falcon
from falcon.asgi import SSEvent

from web_service.changes import ChangeHub
from web_service.pages import MAX_ID_LENGTH

KEEPALIVE_INTERVAL = 15.0  # seconds; proxies drop idle connections after ~60 s
RECONNECT_DELAY_MS = 2000  # how long EventSource waits before reconnecting
MAX_EVENT_ID_LENGTH = 20  # a view version; a longer Last-Event-ID was never ours

ON_DISCONNECT = (
    'podium.on_disconnect'  # scope key: callbacks run when the client leaves
)

ReadView = Callable[[str], Awaitable[dict | None]]


class Disconnect:
    """Callbacks to run when an HTTP client goes away."""

    def __init__(self):
        self.happened = False
        self._callbacks: list[Callable[[], None]] = []

    def then(self, callback: Callable[[], None]) -> None:
        """Run `callback` when the client leaves (now, if it has left already)."""
        if self.happened:
            callback()
        else:
            self._callbacks.append(callback)

    def fire(self) -> None:
        self.happened = True
        callbacks, self._callbacks = self._callbacks, []
        for callback in callbacks:
            callback()


def track_disconnect(scope: dict, receive):
    """Return `receive`, wrapped to fire the scope's ON_DISCONNECT `Disconnect`.

    Falcon notices a closed SSE connection only when the next event is sent; a
    stream waiting for a change would hold its watch (and delay a server
    shutdown) until the next keep-alive. Falcon's own disconnect watcher calls
    this `receive`, so the stream learns of the disconnect at once.
    """
    disconnect = Disconnect()
    scope[ON_DISCONNECT] = disconnect

    async def tracking_receive():
        event = await receive()
        if event['type'] == 'http.disconnect' and not disconnect.happened:
            disconnect.fire()
        return event

    return tracking_receive


def _not_found() -> falcon.HTTPNotFound:
    return falcon.HTTPNotFound(
        title='Presentation not found',
        description='There is no presentation at this address. Check the link you '
        'were given; links stop working a month after the presentation was created.',
    )


def state_event(view: dict, *, retry: int | None = None) -> SSEvent:
    """Return the SSE event that carries a presentation view."""
    data = json.dumps(view, separators=(',', ':')).encode()
    return SSEvent(data=data, event='state', event_id=str(view['version']), retry=retry)


class PresentationState:
    """`GET /live/presentations/{id}`: the view pages show, as JSON."""

    def __init__(self, read_view: ReadView):
        self._read_view = read_view

    async def on_get(self, req, resp, presentation_id: str) -> None:
        view = await _read_known(self._read_view, presentation_id)
        if view is None:
            raise _not_found()
        resp.cache_control = ['no-store']
        resp.media = view


class PresentationEvents:
    """`GET /live/presentations/{id}/events`: the view as it changes, over SSE."""

    def __init__(
        self,
        read_view: ReadView,
        hub: ChangeHub,
        *,
        keepalive: float = KEEPALIVE_INTERVAL,
        limit: int | None = None,
    ):
        self._read_view = read_view
        self._hub = hub
        self._keepalive = keepalive
        self._limit = limit  # events per stream; None: endless

    async def on_get(self, req, resp, presentation_id: str) -> None:
        if await _read_known(self._read_view, presentation_id) is None:
            raise _not_found()
        # A browser's own reconnection sends the header; podium-api.js sends the
        # parameter when it has to open a new EventSource itself.
        last_event_id = (
            req.get_header('Last-Event-ID') or req.get_param('last_event_id') or ''
        ).strip()
        if len(last_event_id) > MAX_EVENT_ID_LENGTH:
            last_event_id = ''  # not a version we sent: send the view
        resp.cache_control = ['no-store']
        # nginx would otherwise buffer the stream and deliver events late.
        resp.set_header('X-Accel-Buffering', 'no')
        stream = self.stream(
            presentation_id, last_event_id, req.scope.get(ON_DISCONNECT)
        )
        resp.sse = stream if self._limit is None else _limited(stream, self._limit)

    async def stream(
        self,
        presentation_id: str,
        last_event_id: str,
        on_disconnect: Disconnect | None = None,
    ) -> AsyncIterator[SSEvent]:
        """Yield the current view (unless the client has it), then every newer one."""
        async with self._hub.watch(presentation_id) as watch:
            if on_disconnect is not None:
                on_disconnect.then(watch.close)
            # Read only once watching, so no change can slip in between.
            view = await self._read_view(presentation_id)
            if view is None:
                return
            if str(view['version']) == last_event_id:
                yield SSEvent(retry=RECONNECT_DELAY_MS)
            else:
                yield state_event(view, retry=RECONNECT_DELAY_MS)
            sent = view['version']
            while True:
                view = await watch.next(self._keepalive)
                if watch.closed:
                    return
                if view is None:
                    # Also how Falcon learns that the client went away.
                    yield SSEvent(comment='keep-alive')
                elif view['version'] > sent:
                    yield state_event(view)
                    sent = view['version']


async def _read_known(read_view: ReadView, presentation_id: str) -> dict | None:
    """Read a view, without asking Redis about ids no presentation can have."""
    if len(presentation_id) > MAX_ID_LENGTH:
        return None
    return await read_view(presentation_id)


async def _limited(stream: AsyncIterator[SSEvent], limit: int):
    """Yield the first `limit` events of `stream`, then close it."""
    try:
        sent = 0
        async for event in stream:
            yield event
            sent += 1
            if sent >= limit:
                return
    finally:
        await stream.aclose()


class Health:
    """`GET /live/healthz`."""

    async def on_get(self, req, resp) -> None:
        resp.cache_control = ['no-store']
        resp.media = {'status': 'ok'}
