"""One attendee's layer choice, fed by what its browser reports over signalling.

The attendee page sends `linkStats` every 2 s: cumulative inbound-rtp counters per
received mid (`packetsLost`, `packetsReceived`) and the candidate pair's
`availableIncomingBitrate`; `setQuality {mode}` is the attendee's menu choice. This
turns them into `layer_policy` samples and calls `apply(mid, substream, temporal)`
(the subscriber handle's `configure`) only when a track's layer changes, so Janus
requests a keyframe from the presenter only on a real switch, and Janus itself sends
at most one PLI per second per publisher stream however many attendees ask.

The link is shared, so the estimate is split: the screen (what a talk is about) takes
what its rung needs first, the camera gets the rest. Audio is never touched.
"""

from __future__ import annotations

import time
from collections.abc import Awaitable, Callable

from . import layer_policy as lp

Apply = Callable[[str, int, int], Awaitable[None]]


class LayerControl:
    def __init__(
        self,
        apply: Apply,
        names: Callable[[], dict[str, str]],
        clock: Callable[[], float] = time.monotonic,
    ) -> None:
        self._apply = apply
        self._names = names  # subscriber mid -> published track name
        self._clock = clock
        self._mode = lp.AUTO
        self._states: dict[str, lp.LayerState] = {}
        self._counters: dict[str, tuple[int, int]] = {}

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
        self._mode = mode
        self._sync_tracks()
        for mid, state in list(self._states.items()):
            await self._set(mid, lp.set_mode(state, mode))

    async def report(self, streams: list, available_bps: float | None) -> None:
        """Take one `linkStats` report; configure the tracks whose layer changed."""
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

    def _sync_tracks(self) -> None:
        names = self._names()
        for mid, name in names.items():
            if name in lp.LADDERS and mid not in self._states:
                self._states[mid] = lp.initial(name, self._mode)
        for mid in [m for m in self._states if m not in names]:
            del self._states[mid]
            self._counters.pop(mid, None)

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
        old = self._states.get(mid)
        self._states[mid] = new
        if old is None or old.layer != new.layer:
            await self._apply(mid, *new.layer)
