"""Presentation state for pages: one JSON read, and a Server-Sent Events stream.

The stream carries typed events: `state` (the room-state view), `questions`,
`hands` and `polls` (public audience data), `stage` (who is invited or
speaking, podium.stage), each versioned, and `reactions` (counts since the
last one; not resumable, they are gone a second later). An event's id lists
the version of each kind the client holds once it has the event,
`<state>.<questions>.<hands>.<polls>.<stage>`, so a reconnection with
Last-Event-ID gets exactly the kinds it missed (docs/audience-api.md).
"""

from __future__ import annotations

import json
from collections.abc import AsyncIterator, Awaitable, Callable

import falcon
from falcon.asgi import SSEvent

from podium import audience, metrics, stage
from podium.store import AudienceSnapshot
from web_service.changes import KINDS, STATE, ChangeHub, ReadAudience
from web_service.pages import MAX_ID_LENGTH

KEEPALIVE_INTERVAL = 15.0  # seconds; proxies drop idle connections after ~60 s
RECONNECT_DELAY_MS = 2000  # how long EventSource waits before reconnecting
# Five versions of up to 16 digits; a longer Last-Event-ID was never ours.
MAX_EVENT_ID_LENGTH = 90

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


def parse_event_id(raw: str) -> dict[str, int]:
    """Return the version of each kind a Last-Event-ID says the client holds.

    A bare number is a state version (what streams sent before audience
    events existed); anything unreadable holds nothing, so all is sent.
    """
    parts = raw.split('.')
    if not all(p.isdigit() for p in parts):
        return {}
    if len(parts) == 1:
        return {STATE: int(parts[0])}
    if len(parts) != len(KINDS):
        return {}
    return dict(zip(KINDS, map(int, parts), strict=True))


def event_id(held: dict[str, int]) -> str:
    return '.'.join(str(held.get(kind, 0)) for kind in KINDS)


def section_event(
    kind: str, payload: dict, held: dict[str, int], *, retry: int | None = None
) -> SSEvent:
    """Return the SSE event carrying one kind's payload; `held` includes it."""
    data = json.dumps(payload, separators=(',', ':'), ensure_ascii=False).encode()
    return SSEvent(data=data, event=kind, event_id=event_id(held), retry=retry)


def state_event(view: dict, *, retry: int | None = None) -> SSEvent:
    """Return the SSE event that carries a presentation view."""
    return section_event(STATE, view, {STATE: view['version']}, retry=retry)


def reactions_event(counts: dict[str, int]) -> SSEvent:
    """Return a reactions event; no id, since a reconnection must not replay it."""
    data = json.dumps({'counts': counts}, separators=(',', ':'), ensure_ascii=False)
    return SSEvent(data=data.encode(), event='reactions')


def public_sections(snapshot: AudienceSnapshot, kinds) -> dict[str, dict]:
    """Return what every page may see of the kinds asked for (never pending
    questions, identities of askers, or tallies results must not show yet)."""
    sections = {}
    versions = snapshot.versions
    if audience.QUESTIONS in kinds:
        sections[audience.QUESTIONS] = audience.questions_view(
            snapshot.questions,
            snapshot.answering_now,
            snapshot.moderated,
            versions.get(audience.QUESTIONS, 0),
        )
    if audience.HANDS in kinds:
        sections[audience.HANDS] = audience.hands_view(
            audience.hand_queue(snapshot.hands, snapshot.names),
            versions.get(audience.HANDS, 0),
        )
    if audience.POLLS in kinds:
        sections[audience.POLLS] = audience.polls_view(
            snapshot.polls, versions.get(audience.POLLS, 0)
        )
    if audience.STAGE in kinds:
        sections[audience.STAGE] = stage.stage_view(
            snapshot.stage, versions.get(audience.STAGE, 0)
        )
    return sections


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
        read_audience: ReadAudience | None = None,
        keepalive: float = KEEPALIVE_INTERVAL,
        limit: int | None = None,
    ):
        self._read_view = read_view
        self._read_audience = read_audience
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
        stream = _counted(
            self.stream(presentation_id, last_event_id, req.scope.get(ON_DISCONNECT))
        )
        resp.sse = stream if self._limit is None else _limited(stream, self._limit)

    async def stream(
        self,
        presentation_id: str,
        last_event_id: str,
        on_disconnect: Disconnect | None = None,
    ) -> AsyncIterator[SSEvent]:
        """Yield what the client lacks of the current data, then every change."""
        async with self._hub.watch(presentation_id) as watch:
            if on_disconnect is not None:
                on_disconnect.then(watch.close)
            # Read only once watching, so no change can slip in between.
            view = await self._read_view(presentation_id)
            if view is None:
                return
            sections = {STATE: view}
            if self._read_audience is not None:
                sections |= await self._read_audience(
                    presentation_id, frozenset(audience.AUDIENCE_KINDS)
                )
            claimed = parse_event_id(last_event_id)
            held = {
                kind: payload['version']
                for kind, payload in sections.items()
                if claimed.get(kind) == payload['version']
            }
            retry: int | None = RECONNECT_DELAY_MS
            for kind in KINDS:
                payload = sections.get(kind)
                if payload is None or kind in held:
                    continue
                held[kind] = payload['version']
                yield section_event(kind, payload, held, retry=retry)
                retry = None
            if retry is not None:
                yield SSEvent(retry=RECONNECT_DELAY_MS)
            while True:
                update = await watch.next(self._keepalive)
                if watch.closed:
                    return
                if update is None:
                    # Also how Falcon learns that the client went away.
                    yield SSEvent(comment='keep-alive')
                    continue
                for kind in KINDS:
                    payload = update.sections.get(kind)
                    # Only forward: a refresh that started before our first
                    # read may deliver older data after it.
                    if payload is not None and payload['version'] > held.get(kind, -1):
                        held[kind] = payload['version']
                        yield section_event(kind, payload, held)
                if update.reactions:
                    yield reactions_event(update.reactions)


async def _read_known(read_view: ReadView, presentation_id: str) -> dict | None:
    """Read a view, without asking Redis about ids no presentation can have."""
    if len(presentation_id) > MAX_ID_LENGTH:
        return None
    return await read_view(presentation_id)


async def _counted(stream: AsyncIterator[SSEvent]):
    """Yield `stream`'s events, counted in the open streams gauge while it runs."""
    open_streams = metrics.EVENT_STREAMS.labels('web_service')
    open_streams.inc()
    try:
        async for event in stream:
            yield event
    finally:
        open_streams.dec()
        await stream.aclose()


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
