"""One attendee's layer choice, fed by what its browser reports over signalling.

The attendee page sends `linkStats` every 2 s: cumulative inbound-rtp counters per
received mid (`packetsLost`, `packetsReceived`) and the candidate pair's
`availableIncomingBitrate`; `setQuality {mode}` is the attendee's menu choice. This
turns them into `layer_policy` samples and calls `apply(mid, substream, temporal)`
(the subscriber handle's `configure`) only when a track's layer changes: every
configure makes Janus 1.1.2 ask the presenter for a keyframe (it rate-limits PLIs only
for remote publishers), so the caller also batches switches per publisher stream
(keyframe_gate.py).

The link is shared, so the estimate is split: the screen (what a talk is about) takes
what its rung needs first, the camera gets the rest. Audio is never touched.
"""

from __future__ import annotations

import asyncio
import time
from collections.abc import Awaitable, Callable

from . import layer_policy as lp

Apply = Callable[[str, int, int], Awaitable[None]]

# Janus switches a substream only on a keyframe of the new one, and asks the publisher
# for it once: a request the encoder dropped (it folds keyframe requests that come
# close together) would leave the attendee on the old layer for good. A switch Janus
# has not reported after RETRY_AFTER seconds is asked for again, backing off.
RETRY_AFTER = 2.0
MAX_RETRY_AFTER = 30.0


class LayerControl:
    def __init__(
        self,
        apply: Apply,
        names: Callable[[], dict[str, str]],
        reported: Callable[[], dict[str, dict[str, int]]] = dict,
        clock: Callable[[], float] = time.monotonic,
    ) -> None:
        self._apply = apply
        self._names = names  # subscriber mid -> published track name
        self._reported = reported  # mid -> {'substream', 'temporal'} Janus relays
        self._clock = clock
        self._mode = lp.AUTO
        self._states: dict[str, lp.LayerState] = {}
        self._counters: dict[str, tuple[int, int]] = {}
        # What the subscriber handle was last told, per mid. Kept apart from the
        # policy state: a choice made before the stream existed, or before a new
        # subscriber handle, must still reach Janus.
        self._applied: dict[str, tuple[int, int]] = {}
        self._retry: dict[str, tuple[float, float]] = {}  # mid -> (due at, back-off)
        # One change at a time: a report must not interleave with a mode change
        # (each awaits Janus, and possibly the keyframe gate, between tracks).
        self._lock = asyncio.Lock()

    @property
    def mode(self) -> str:
        return self._mode

    def layers(self) -> dict[str, tuple[int, int]]:
        """The (substream, temporal) now chosen for each received video mid."""
        return {mid: state.layer for mid, state in self._states.items()}

    async def set_mode(self, mode: str) -> None:
        """Apply the attendee's choice (ValueError names the modes for a bad one)."""
        if mode not in lp.MODES:
            raise ValueError(f'mode must be one of {", ".join(lp.MODES)}, not {mode!r}')
        async with self._lock:
            self._mode = mode
            self._sync_tracks()
            for mid, state in list(self._states.items()):
                await self._set(mid, lp.set_mode(state, mode))

    def handle_replaced(self) -> None:
        """A new subscriber handle starts on Janus's default layers: tell it again."""
        self._applied.clear()
        self._retry.clear()

    async def reapply(self) -> None:
        """Configure every received video track whose chosen layer Janus lacks."""
        async with self._lock:
            self._sync_tracks()
            for mid, state in list(self._states.items()):
                await self._set(mid, state)

    async def report(self, streams: list, available_bps: float | None) -> None:
        """Take one `linkStats` report; configure the tracks whose layer changed."""
        async with self._lock:
            await self._report(streams, available_bps)

    async def _report(self, streams: list, available_bps: float | None) -> None:
        self._sync_tracks()
        now = self._clock()
        loss = self._loss(streams)
        estimate = None if available_bps is None else available_bps / 1000
        order = sorted(self._states, key=lambda m: self._states[m].kind != 'screen')
        for mid in order:
            state = self._states[mid]
            sample = lp.LinkSample(at=now, loss=loss, available_kbps=estimate)
            new = lp.step(state, sample)
            await self._set(mid, new)
            if estimate is not None:  # what is left for the next track
                estimate = max(estimate - lp.LADDERS[new.kind][new.rung][2], 0.0)
        await self._retry_unreached(now)

    async def _retry_unreached(self, now: float) -> None:
        reported = self._reported()
        for mid, layer in list(self._applied.items()):
            substream = reported.get(mid, {}).get('substream')
            if substream == layer[0]:
                self._retry.pop(mid, None)
                continue
            due, back_off = self._retry.get(mid, (now + RETRY_AFTER, RETRY_AFTER))
            if now >= due:
                await self._apply(mid, *layer)
                back_off = min(back_off * 2, MAX_RETRY_AFTER)
                due = now + back_off
            self._retry[mid] = (due, back_off)

    def _sync_tracks(self) -> None:
        names = self._names()
        for mid, name in names.items():
            if name in lp.LADDERS and mid not in self._states:
                self._states[mid] = lp.initial(name, self._mode)
        for mid in [m for m in self._states if m not in names]:
            del self._states[mid]
            self._counters.pop(mid, None)
            self._applied.pop(mid, None)
            self._retry.pop(mid, None)

    def _loss(self, streams: list) -> float:
        """The worst fraction lost since the last report over the video streams."""
        worst = 0.0
        for entry in streams if isinstance(streams, list) else []:
            if not isinstance(entry, dict) or entry.get('mid') not in self._states:
                continue
            lost, received = entry.get('packetsLost'), entry.get('packetsReceived')
            if not isinstance(lost, int) or not isinstance(received, int):
                continue
            before = self._counters.get(entry['mid'])
            self._counters[entry['mid']] = (lost, received)
            if before is None:
                continue
            d_lost, d_received = lost - before[0], received - before[1]
            if d_lost >= 0 and d_received >= 0 and d_lost + d_received > 0:
                worst = max(worst, d_lost / (d_lost + d_received))
        return worst

    async def _set(self, mid: str, new: lp.LayerState) -> None:
        self._states[mid] = new
        if self._applied.get(mid) != new.layer:
            await self._apply(mid, *new.layer)
            self._applied[mid] = new.layer
            self._retry.pop(mid, None)
