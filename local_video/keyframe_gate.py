"""Coalesce the keyframes that layer switches cost a publisher.

Every subscriber `configure` that changes a simulcast layer makes Janus 1.1.2 send
the publisher a PLI (`janus_videoroom_reqpli`: no rate limit for local publishers),
and each keyframe is several times the size of a normal frame for every viewer of
that stream. When many attendees switch at once (a shared uplink dips, a room of
data-saver phones joins), their switches on one publisher stream are batched: the
first goes at once, later ones wait for the window to close and then go out
together, so one keyframe (the encoder folds PLIs that arrive together) serves the
whole batch. Windows are per publisher stream, so a switch on the camera never waits
for the screen.
"""

from __future__ import annotations

import asyncio
import time
from collections.abc import Awaitable, Callable, Hashable

WINDOW = 1.0  # seconds between keyframe-costing switches of one publisher stream


class KeyframeGate:
    def __init__(
        self,
        window: float = WINDOW,
        clock: Callable[[], float] = time.monotonic,
        sleep: Callable[[float], Awaitable[None]] = asyncio.sleep,
    ) -> None:
        self._window = window
        self._clock = clock
        self._sleep = sleep
        self._release: dict[Hashable, float] = {}  # key -> time of its latest batch

    async def wait(self, key: Hashable) -> None:
        """Return when a switch on `key` may go out (at once, or with its batch)."""
        now = self._clock()
        last = self._release.get(key)
        if last is None or now >= last + self._window:
            self._release[key] = now
            self._forget_old(now)
            return
        if last <= now:  # the latest batch has gone: reserve the next one
            last = self._release[key] = last + self._window
        await self._sleep(last - now)  # join the batch waiting for `last`

    def _forget_old(self, now: float) -> None:
        if len(self._release) > 256:
            stale = [k for k, t in self._release.items() if now - t > self._window]
            for key in stale:
                del self._release[key]
