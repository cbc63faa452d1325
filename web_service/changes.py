"""Fan presentation changes out from Redis pub/sub to the open state streams.

One `ChangeHub` per process holds ONE pub/sub subscription to
`podium.store.CHANGES_CHANNEL` and the watches of the process's open SSE
connections. A message is `<presentation id>` (room state changed) or
`<presentation id> <kind>[ <detail>]` (kind: questions, hands, polls, or
reactions with the window it counted in). A burst for one presentation is
coalesced: each changed kind is read at most once per `coalesce` seconds
(`audience_coalesce` for audience data, which a vote storm changes) and once
for all of its connections, never once per connection. Reactions are read
once per window when it closes, so pages get at most one reactions event per
window (`podium.audience.REACTION_BUCKET_MS`), whatever the audience size.
"""

from __future__ import annotations

import asyncio
import contextlib
import logging
import time
from collections.abc import AsyncIterator, Awaitable, Callable
from dataclasses import dataclass, field

from podium import audience
from podium.store import CHANGES_CHANNEL

log = logging.getLogger(__name__)

DEFAULT_COALESCE = (
    0.075  # seconds a presentation's changes are gathered before one read
)
DEFAULT_MIN_BACKOFF = 0.5  # seconds before the first resubscription attempt
DEFAULT_MAX_BACKOFF = 30.0
POLL_TIMEOUT = 5.0  # seconds one pub/sub read waits, so health checks get to run
# Audience data is re-read at most 4 times a second per presentation: a vote
# storm costs each page 4 events a second, however many people vote.
DEFAULT_AUDIENCE_COALESCE = 0.25
REACTION_GRACE = 0.05  # seconds after a window ends, for reactions in flight
STATE = 'state'
KINDS = (STATE, *audience.AUDIENCE_KINDS)
REACTIONS = 'reactions'

ReadView = Callable[[str], Awaitable[dict | None]]
# Reads the given audience kinds: kind -> payload (each with a 'version').
ReadAudience = Callable[[str, frozenset[str]], Awaitable[dict[str, dict]]]
# Reads the reaction counts of one window: emoji -> count.
ReadReactions = Callable[[str, int], Awaitable[dict[str, int]]]


@dataclass
class Update:
    """What changed for a watch since it last looked.

    `sections`: the newest payload of each changed kind (state: the view);
    `reactions`: counts per emoji summed over the windows not yet taken.
    """

    sections: dict[str, dict] = field(default_factory=dict)
    reactions: dict[str, int] = field(default_factory=dict)

    @property
    def state(self) -> dict | None:
        return self.sections.get(STATE)


def parse_message(data: str) -> tuple[str, str, str]:
    """Return (presentation id, kind, detail) of a CHANGES_CHANNEL message."""
    presentation_id, _, rest = data.partition(' ')
    kind, _, detail = rest.partition(' ')
    return presentation_id, kind or STATE, detail


class Watch:
    """One connection's mailbox: holds only the newest payload of each kind.

    A slow connection never queues up stale views: a newer one replaces the
    one it has not taken yet (reaction counts add up instead).
    """

    def __init__(self, presentation_id: str):
        self.presentation_id = presentation_id
        self.closed = False
        self._update = Update()
        self._ready = asyncio.Event()

    def close(self) -> None:
        """End the watch now (its client went away); `next()` returns None."""
        self.closed = True
        self._ready.set()

    def offer(self, view: dict, kind: str = STATE) -> None:
        """Leave a payload for the connection, replacing one of its kind not taken."""
        self._update.sections[kind] = view
        self._ready.set()

    def offer_reactions(self, counts: dict[str, int]) -> None:
        """Add one window's reaction counts to what the connection has not taken."""
        pending = self._update.reactions
        for emoji, count in counts.items():
            pending[emoji] = pending.get(emoji, 0) + count
        self._ready.set()

    async def next(self, timeout: float) -> Update | None:
        """Return what changed, or None if nothing did within `timeout` seconds."""
        if self.closed:
            return None
        try:
            await asyncio.wait_for(self._ready.wait(), timeout)
        except TimeoutError:
            return None
        self._ready.clear()
        update, self._update = self._update, Update()
        return update


class ChangeHub:
    """Deliver each presentation's new view to the connections watching it.

    `read_view` computes a view (None for an unknown presentation);
    `read_audience` and `read_reactions` read audience data (without them
    those changes are ignored). `subscriber` makes a `redis.asyncio.Redis`
    client for the pub/sub subscription; without one the hub only hears
    `notify()` calls, which is what unit tests drive.
    """

    def __init__(
        self,
        read_view: ReadView,
        *,
        read_audience: ReadAudience | None = None,
        read_reactions: ReadReactions | None = None,
        subscriber: Callable[[], object] | None = None,
        channel: str = CHANGES_CHANNEL,
        coalesce: float = DEFAULT_COALESCE,
        audience_coalesce: float = DEFAULT_AUDIENCE_COALESCE,
        min_backoff: float = DEFAULT_MIN_BACKOFF,
        max_backoff: float = DEFAULT_MAX_BACKOFF,
        clock: Callable[[], float] = time.time,
    ):
        self._read_view = read_view
        self._read_audience = read_audience
        self._read_reactions = read_reactions
        self._audience_coalesce = audience_coalesce
        self._clock = clock
        self._reaction_reads: dict[tuple[str, int], asyncio.Task] = {}
        self._subscriber = subscriber
        self._channel = channel
        self._coalesce = coalesce
        self._min_backoff = min_backoff
        self._max_backoff = max_backoff
        self._watches: dict[str, set[Watch]] = {}
        self._dirty: dict[str, set[str]] = {}
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

    def notify(self, presentation_id: str, kind: str = STATE, detail: str = '') -> None:
        """Note that a presentation changed; its watchers get the new data soon."""
        if presentation_id not in self._watches:
            return  # nobody here shows it: no read at all
        if kind == REACTIONS:
            self._read_reactions_later(presentation_id, detail)
            return
        if kind not in KINDS or (kind != STATE and self._read_audience is None):
            return
        self._dirty.setdefault(presentation_id, set()).add(kind)
        if presentation_id not in self._refreshing:
            task = asyncio.get_running_loop().create_task(
                self._refresh(presentation_id)
            )
            self._refreshing[presentation_id] = task

    async def _refresh(self, presentation_id: str) -> None:
        try:
            while self._dirty.get(presentation_id):
                # Gather the rest of a burst (a join storm, a reconnect wave, a
                # vote storm) so that it costs one read instead of one per change.
                only_state = self._dirty[presentation_id] == {STATE}
                await asyncio.sleep(
                    self._coalesce if only_state else self._audience_coalesce
                )
                kinds = self._dirty.pop(presentation_id, set())
                if presentation_id not in self._watches:
                    return
                try:
                    sections = await self._read(presentation_id, kinds)
                except Exception:
                    # Redis trouble: the resubscription refreshes everyone later.
                    log.exception('could not read presentation %s', presentation_id)
                    continue
                for watch in list(self._watches.get(presentation_id, ())):
                    for kind, payload in sections.items():
                        watch.offer(payload, kind)
        finally:
            self._refreshing.pop(presentation_id, None)

    async def _read(self, presentation_id: str, kinds: set[str]) -> dict[str, dict]:
        self.reads += 1
        sections = {}
        if STATE in kinds:
            view = await self._read_view(presentation_id)
            if view is not None:
                sections[STATE] = view
        wanted = frozenset(kinds - {STATE})
        if wanted and self._read_audience is not None:
            sections |= await self._read_audience(presentation_id, wanted)
        return sections

    def _read_reactions_later(self, presentation_id: str, detail: str) -> None:
        """Read a reaction window once it closes (once per window and process)."""
        if self._read_reactions is None or not detail.isdigit():
            return
        key = (presentation_id, int(detail))
        if key in self._reaction_reads:
            return
        task = asyncio.get_running_loop().create_task(self._push_reactions(*key))
        self._reaction_reads[key] = task

    async def _push_reactions(self, presentation_id: str, bucket: int) -> None:
        try:
            ends = (bucket + 1) * audience.REACTION_BUCKET_MS / 1000
            delay = ends - self._clock() + REACTION_GRACE
            await asyncio.sleep(min(max(delay, 0.0), 1.0))
            try:
                counts = await self._read_reactions(presentation_id, bucket)
            except Exception:
                log.exception('could not read reactions of %s', presentation_id)
                return
            if not counts:
                return
            for watch in list(self._watches.get(presentation_id, ())):
                watch.offer_reactions(counts)
        finally:
            self._reaction_reads.pop((presentation_id, bucket), None)

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
        tasks = [
            t
            for t in [
                self._listener,
                *self._refreshing.values(),
                *self._reaction_reads.values(),
            ]
            if t
        ]
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
                        for kind in KINDS:
                            self.notify(presentation_id, kind)
                    while True:
                        message = await pubsub.get_message(
                            ignore_subscribe_messages=True, timeout=POLL_TIMEOUT
                        )
                        if message is not None and message['type'] == 'message':
                            self.notify(*parse_message(_text(message['data'])))
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
