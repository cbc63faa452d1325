"""Fan presentation changes out from Redis pub/sub to the open state streams.

One `ChangeHub` per process holds ONE pub/sub subscription to
`podium.store.CHANGES_CHANNEL` (each message is a presentation id) and the
watches of the process's open SSE connections. A burst of callbacks for one
presentation is coalesced: its view is recomputed at most once per
`coalesce` seconds and once per change for all of its connections, never
once per connection.
"""

from __future__ import annotations

import asyncio
import contextlib
import logging
from collections.abc import AsyncIterator, Awaitable, Callable

from podium.store import CHANGES_CHANNEL

log = logging.getLogger(__name__)

DEFAULT_COALESCE = (
    0.075  # seconds a presentation's changes are gathered before one read
)
DEFAULT_MIN_BACKOFF = 0.5  # seconds before the first resubscription attempt
DEFAULT_MAX_BACKOFF = 30.0
POLL_TIMEOUT = 5.0  # seconds one pub/sub read waits, so health checks get to run

ReadView = Callable[[str], Awaitable[dict | None]]


class Watch:
    """One connection's mailbox: holds only the newest view of its presentation.

    A slow connection never queues up stale views: a newer one replaces the
    one it has not taken yet.
    """

    def __init__(self, presentation_id: str):
        self.presentation_id = presentation_id
        self.closed = False
        self._view: dict | None = None
        self._ready = asyncio.Event()

    def close(self) -> None:
        """End the watch now (its client went away); `next()` returns None."""
        self.closed = True
        self._ready.set()

    def offer(self, view: dict) -> None:
        """Leave `view` for the connection, replacing any view it has not taken."""
        self._view = view
        self._ready.set()

    async def next(self, timeout: float) -> dict | None:
        """Return the next view, or None if none came within `timeout` seconds."""
        if self.closed:
            return None
        try:
            await asyncio.wait_for(self._ready.wait(), timeout)
        except TimeoutError:
            return None
        self._ready.clear()
        view, self._view = self._view, None
        return view


class ChangeHub:
    """Deliver each presentation's new view to the connections watching it.

    `read_view` computes a view (None for an unknown presentation).
    `subscriber` makes a `redis.asyncio.Redis` client for the pub/sub
    subscription; without one the hub only hears `notify()` calls, which is
    what unit tests drive.
    """

    def __init__(
        self,
        read_view: ReadView,
        *,
        subscriber: Callable[[], object] | None = None,
        channel: str = CHANGES_CHANNEL,
        coalesce: float = DEFAULT_COALESCE,
        min_backoff: float = DEFAULT_MIN_BACKOFF,
        max_backoff: float = DEFAULT_MAX_BACKOFF,
    ):
        self._read_view = read_view
        self._subscriber = subscriber
        self._channel = channel
        self._coalesce = coalesce
        self._min_backoff = min_backoff
        self._max_backoff = max_backoff
        self._watches: dict[str, set[Watch]] = {}
        self._dirty: set[str] = set()
        self._refreshing: dict[str, asyncio.Task] = {}
        self._listener: asyncio.Task | None = None
        self.subscribed = asyncio.Event()  # set while the subscription is live
        self.reads = 0  # views computed; tests check the coalescing with it

    def watching(self, presentation_id: str) -> int:
        """Return how many connections watch a presentation."""
        return len(self._watches.get(presentation_id, ()))

    @contextlib.asynccontextmanager
    async def watch(self, presentation_id: str) -> AsyncIterator[Watch]:
        """Watch a presentation for as long as the context lasts."""
        self.start()
        watch = Watch(presentation_id)
        self._watches.setdefault(presentation_id, set()).add(watch)
        try:
            yield watch
        finally:
            watches = self._watches.get(presentation_id)
            if watches is not None:
                watches.discard(watch)
                if not watches:
                    del self._watches[presentation_id]

    def notify(self, presentation_id: str) -> None:
        """Note that a presentation changed; its watchers get the new view soon."""
        if presentation_id not in self._watches:
            return  # nobody here shows it: no read at all
        self._dirty.add(presentation_id)
        if presentation_id not in self._refreshing:
            task = asyncio.get_running_loop().create_task(
                self._refresh(presentation_id)
            )
            self._refreshing[presentation_id] = task

    async def _refresh(self, presentation_id: str) -> None:
        try:
            while presentation_id in self._dirty:
                # Gather the rest of a burst (a join storm, a reconnect wave)
                # so that it costs one read instead of one per callback.
                await asyncio.sleep(self._coalesce)
                self._dirty.discard(presentation_id)
                if presentation_id not in self._watches:
                    return
                try:
                    self.reads += 1
                    view = await self._read_view(presentation_id)
                except Exception:
                    # Redis trouble: the resubscription refreshes everyone later.
                    log.exception('could not read presentation %s', presentation_id)
                    continue
                if view is None:
                    continue
                for watch in list(self._watches.get(presentation_id, ())):
                    watch.offer(view)
        finally:
            self._refreshing.pop(presentation_id, None)

    def start(self) -> None:
        """Start the pub/sub listener in the running loop, unless it runs already."""
        if self._subscriber is None:
            return
        loop = asyncio.get_running_loop()
        listener = self._listener
        if listener is not None and not listener.done() and listener.get_loop() is loop:
            return
        self._listener = loop.create_task(self._listen())

    async def stop(self) -> None:
        """Stop listening and forget pending refreshes."""
        tasks = [t for t in [self._listener, *self._refreshing.values()] if t]
        for task in tasks:
            task.cancel()
        for task in tasks:
            with contextlib.suppress(asyncio.CancelledError, RuntimeError):
                await task
        self._listener = None

    async def _listen(self) -> None:
        backoff = self._min_backoff
        while True:
            client = self._subscriber()
            try:
                async with client.pubsub(ignore_subscribe_messages=True) as pubsub:
                    await pubsub.subscribe(self._channel)
                    self.subscribed.set()
                    backoff = self._min_backoff
                    # Whatever was published while we were not subscribed is
                    # lost: refresh every presentation someone watches.
                    for presentation_id in list(self._watches):
                        self.notify(presentation_id)
                    while True:
                        message = await pubsub.get_message(
                            ignore_subscribe_messages=True, timeout=POLL_TIMEOUT
                        )
                        if message is not None and message['type'] == 'message':
                            self.notify(_text(message['data']))
            except asyncio.CancelledError:
                raise
            except Exception as ex:
                log.warning(
                    'lost the Redis subscription to %s (%s: %s); retrying in %.1f s',
                    self._channel,
                    type(ex).__name__,
                    ex,
                    backoff,
                )
            finally:
                self.subscribed.clear()
                with contextlib.suppress(Exception):
                    await client.aclose()
            await asyncio.sleep(backoff)
            backoff = min(backoff * 2, self._max_backoff)


def _text(data: bytes | str) -> str:
    return data.decode() if isinstance(data, bytes) else data
