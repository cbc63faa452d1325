"""One attendee's layer choice, fed by what its browser reports over signalling.

The attendee page sends `linkStats` every second: cumulative inbound-rtp counters per
received mid (`packetsLost`, `packetsReceived`) and the candidate pair's
`availableIncomingBitrate`; `setQuality {mode}` is the attendee's menu choice. This
turns them into `layer_policy` samples and calls `apply(mid, substream, temporal)`
(the subscriber handle's `configure`) only when a track's layer changes: every
configure makes Janus 1.1.2 ask the presenter for a keyframe (it rate-limits PLIs only
for remote publishers), so the caller also batches switches per publisher stream
(keyframe_gate.py).

The link is shared: a screen and a camera climb and descend one presentation ladder
(layer_policy.PRESENTATION_LADDER), so the camera gives way first and the screen (what
a talk is about) gets back first. Audio is never touched.
"""

from __future__ import annotations

import asyncio
import logging
import time
from collections.abc import Awaitable, Callable

from . import layer_policy as lp

log = logging.getLogger(__name__)
Apply = Callable[[str, int, int], Awaitable[None]]
VIDEO = ('camera', 'screen')  # the tracks that have layers; audio is never touched

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
        names: Callable[[], dict[str, tuple[str, str]]],
        reported: Callable[[], dict[str, dict[str, int]]] = dict,
        clock: Callable[[], float] = time.monotonic,
        label: str = '',
    ) -> None:
        self._apply = apply
        self._label = label  # who this is, in the log line of every rung change
        self._names = names  # subscriber mid -> (publisher sid, published track name)
        self._reported = reported  # mid -> {'substream', 'temporal'} Janus relays
        self._clock = clock
        self._mode = lp.AUTO
        # Group ('presentation:<publisher>' or a mid) -> its tracks {name: mid}.
        self._groups: dict[str, dict[str, str]] = {}
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
        out = {}
        for group, state in self._states.items():
            by_name = state.track_layers()
            for name, mid in self._groups[group].items():
                out[mid] = by_name[name]
        return out

    async def set_mode(self, mode: str) -> None:
        """Apply the attendee's choice (ValueError names the modes for a bad one)."""
        if mode not in lp.MODES:
            raise ValueError(f'mode must be one of {", ".join(lp.MODES)}, not {mode!r}')
        async with self._lock:
            self._mode = mode
            self._sync_tracks()
            for group, state in list(self._states.items()):
                await self._set(group, lp.set_mode(state, mode))

    def handle_replaced(self) -> None:
        """A new subscriber handle starts on Janus's default layers: tell it again."""
        self._applied.clear()
        self._retry.clear()

    async def reapply(self) -> None:
        """Configure every received video track whose chosen layer Janus lacks."""
        async with self._lock:
            self._sync_tracks()
            for group, state in list(self._states.items()):
                await self._set(group, state)

    async def report(self, streams: list, available_bps: float | None) -> None:
        """Take one `linkStats` report; configure the tracks whose layer changed."""
        async with self._lock:
            await self._report(streams, available_bps)

    async def _report(self, streams: list, available_bps: float | None) -> None:
        self._sync_tracks()
        now = self._clock()
        loss = self._loss(streams)
        estimate = None if available_bps is None else available_bps / 1000
        # A lone screen before a lone camera: it takes what it needs first.
        order = sorted(self._states, key=lambda g: self._states[g].kind == 'camera')
        for group in order:
            state = self._states[group]
            sample = lp.LinkSample(at=now, loss=loss, available_kbps=estimate)
            new = lp.step(state, sample)
            if new.rung != state.rung:
                # What an operator (and bench/slow_link.py) reads to tie a freeze
                # to a decision.
                log.info(
                    'layers %s %s: rung %d -> %d, loss %.1f %%, hold-off %.0f s',
                    self._label,
                    group,
                    state.rung,
                    new.rung,
                    100 * loss,
                    new.hold_off,
                )
            await self._set(group, new)
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
        """Group the received video: a publisher's screen and camera share one
        presentation ladder (the screen favoured); any other track has its own (a
        speaker's camera on stage, a camera or screen alone)."""
        received = {
            mid: (publisher, name)
            for mid, (publisher, name) in self._names().items()
            if name in VIDEO
        }
        wanted: dict[str, dict[str, str]] = {}
        for mid, (publisher, name) in received.items():
            pair = {
                other_name: other_mid
                for other_mid, (other, other_name) in received.items()
                if other == publisher
            }
            if sorted(pair) == sorted(VIDEO) and len(pair) == 2:
                wanted[f'presentation:{publisher}'] = pair
            else:
                wanted[mid] = {name: mid}
        for group in [g for g in self._groups if self._groups[g] != wanted.get(g)]:
            del self._groups[group]
            del self._states[group]
        for group, tracks in wanted.items():
            if group not in self._groups:
                self._groups[group] = tracks
                kind = 'presentation' if len(tracks) == 2 else next(iter(tracks))
                self._states[group] = lp.initial(kind, self._mode)
        for table in (self._counters, self._applied, self._retry):
            for mid in [m for m in table if m not in received]:
                del table[mid]

    def _loss(self, streams: list) -> float:
        """The worst fraction lost since the last report over the video streams."""
        worst, video = 0.0, self._video_mids()
        for entry in streams if isinstance(streams, list) else []:
            if not isinstance(entry, dict) or entry.get('mid') not in video:
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

    def _video_mids(self) -> set[str]:
        return {mid for tracks in self._groups.values() for mid in tracks.values()}

    async def _set(self, group: str, new: lp.LayerState) -> None:
        self._states[group] = new
        by_name = new.track_layers()
        for name, mid in self._groups[group].items():
            layer = by_name[name]
            if self._applied.get(mid) != layer:
                await self._apply(mid, *layer)
                self._applied[mid] = layer
                self._retry.pop(mid, None)
