"""Which simulcast layer each attendee receives: a pure, damped policy.

Janus 1.1.2 does not adapt a subscriber to its downlink (`fallback` only reacts to a
publisher that stops sending a layer; `slow_link` is only reported), so local_video
chooses a `(substream, temporal)` per subscribed video track and applies it with the
subscriber handle's `configure`. This module decides; it knows neither Janus nor Redis
nor the clock: callers pass link samples with their time and keep the returned state.

Damping, in the manner of Galène and WebRTC's own rate control:
- down fast: a congested link (loss above `LOSS_DOWN`, a `slow_link`, or an estimate
  below what the current layer needs) for `DOWN_AFTER` seconds, or heavy loss at once,
  drops to the highest layer the estimate carries (one layer when there is no estimate);
- up carefully: only after `UP_AFTER` seconds of a clean link and at least `HOLD_OFF`
  seconds after the last down-step, one layer at a time unless the estimate shows room
  for more, so a recovered link is back on top within about 15 s, unless the rungs
  above had failed several times (then up to `MAX_HOLD_OFF`: the price of probing
  a rung that does not fit about once a minute instead of every 15 s);
- no oscillation: each rung remembers how often in a row it failed within
  `PROBE_WINDOW` seconds of being reached, and the hold-off before it is tried again
  doubles with every failure (up to `MAX_HOLD_OFF`). The memory is per rung: a link
  that carries everything but the top rung keeps probing the top rarely while a rung
  below that once failed, and then held, is tried again at the usual pace. A rung
  forgets its failures once it has carried the link: a clean spell on it that leads
  to the next step up, or a down-step from it more than `PROBE_WINDOW` after it was
  reached;
- a failed probe goes back to the rung it left, which was clean, and stays there for
  `PROBE_SETTLE` seconds whatever the reports say: they still show the loss of the
  overflowing queue, and acting on them took a 300 kbit/s attendee two rungs down
  (bench.slow_link --timeline, bench/RESULTS.md "Adaptive layers").
Audio is not in here: it is never switched off.
"""

from __future__ import annotations

from dataclasses import dataclass, replace

AUTO, HIGH, DATA_SAVER = 'auto', 'high', 'data-saver'
MODES = (AUTO, HIGH, DATA_SAVER)

# Rungs from lowest to highest: (substream, temporal, kbit/s the rung needs).
# Camera: three spatial layers (scaleResolutionDownBy 4/2/1) and their frame rates.
CAMERA_LADDER: tuple[tuple[int, int, int], ...] = (
    (0, 0, 40),
    (0, 2, 100),
    (1, 2, 450),
    (2, 2, 1300),
)
# Screen: both layers keep full resolution (text stays legible); substream 0 is the
# low-frame-rate encoding, substream 1 the full one.
SCREEN_LADDER: tuple[tuple[int, int, int], ...] = (
    (0, 0, 60),
    (0, 2, 150),
    (1, 2, 1200),
)
# Screen and camera together (what a talk sends): one ladder over both, so a shrinking
# link takes from the camera first and a recovering one gives to the screen first,
# the way Twilio's "presentation" bandwidth profile favours the high-priority screen.
# Rungs: (camera rung, screen rung, kbit/s both need).
PRESENTATION_LADDER: tuple[tuple[int, int, int], ...] = (
    (0, 0, 100),  # camera 1/4 size at 1/4 rate, screen's low layer at 1/4 rate
    (0, 1, 190),  # the screen's low layer at its full 5 fps
    (1, 1, 250),  # the camera's 1/4 size at full rate
    (1, 2, 1300),  # the screen's full layer
    (2, 2, 1650),  # camera 1/2 size
    (3, 2, 2500),  # everything on top
)
LADDERS = {
    'camera': CAMERA_LADDER,
    'screen': SCREEN_LADDER,
    'presentation': PRESENTATION_LADDER,
}

LOSS_DOWN = 0.10  # fraction of packets lost that counts as congestion
LOSS_HEAVY = 0.25  # so much loss that waiting would only freeze the picture
LOSS_CLEAN = 0.02  # at most this much loss counts as a clean link
HEADROOM = 1.2  # an estimate must exceed a rung's need by this factor to go up
DOWN_AFTER = 2.0  # seconds of congestion before stepping down
UP_AFTER = 2.5  # seconds of a clean link before stepping up (5 steps: ~12.5 s)
HOLD_OFF = 5.0  # seconds after a down-step before any up-step
PROBE_WINDOW = 8.0  # a down-step this soon after an up-step means the probe failed
# Every failed probe costs the attendee a freeze or two (the overflowing queue, then
# the keyframes Janus asks for on each switch), so a rung that keeps failing is tried
# about once a minute; a link that recovers meanwhile waits that long to be used.
MAX_HOLD_OFF = 60.0
PROBE_SETTLE = 3.0  # seconds a failed probe's queue takes to drain (and the keyframe
# of the layer it went back to to arrive): loss reported meanwhile is the probe's


@dataclass(frozen=True)
class LinkSample:
    """What is known of one attendee's downlink at time `at` (seconds, any origin)."""

    at: float
    loss: float = 0.0  # fraction of packets lost since the previous sample
    available_kbps: float | None = None  # e.g. candidate-pair availableIncomingBitrate
    slow_link: bool = (
        False  # Janus reported slow_link on the handle since the last sample
    )


@dataclass(frozen=True)
class LayerState:
    """One subscribed video track's layer and the memory the damping needs."""

    kind: str  # 'camera' or 'screen'
    rung: int
    mode: str = AUTO
    bad_since: float | None = None
    good_since: float | None = None
    last_down: float | None = None
    last_up: float | None = None
    settle_until: float | None = None  # after a failed probe: loss is its echo
    failures: tuple[int, ...] = ()  # per rung: failed probes in a row (short = none)

    def failed(self, rung: int) -> int:
        return self.failures[rung] if rung < len(self.failures) else 0

    def wait_before(self, rung: int) -> float:
        """Seconds after the last down-step before `rung` may be tried."""
        return min(HOLD_OFF * 2 ** self.failed(rung), MAX_HOLD_OFF)

    @property
    def hold_off(self) -> float:
        """The wait before the next rung up (what the decision log shows)."""
        return self.wait_before(self.rung + 1)

    @property
    def layer(self) -> tuple[int, int]:
        """The `(substream, temporal)` to configure on the subscriber handle."""
        substream, temporal, _ = LADDERS[self.kind][self.rung]
        return substream, temporal

    def track_layers(self) -> dict[str, tuple[int, int]]:
        """Track name -> `(substream, temporal)`, for one track or both of a talk."""
        if self.kind != 'presentation':
            return {self.kind: self.layer}
        camera, screen, _ = PRESENTATION_LADDER[self.rung]
        return {
            'camera': CAMERA_LADDER[camera][:2],
            'screen': SCREEN_LADDER[screen][:2],
        }


def initial(kind: str, mode: str = AUTO) -> LayerState:
    """Start on the top rung (Janus's default) unless the mode says otherwise."""
    ladder = LADDERS[kind]
    state = LayerState(kind=kind, rung=len(ladder) - 1)
    return set_mode(state, mode)


def set_mode(state: LayerState, mode: str) -> LayerState:
    """Apply the attendee's choice: High pins the top rung, Data saver the lowest."""
    if mode not in MODES:
        raise ValueError(f'mode must be one of {", ".join(MODES)}, not {mode!r}')
    top = len(LADDERS[state.kind]) - 1
    if mode == HIGH:
        return replace(state, mode=mode, rung=top, bad_since=None, good_since=None)
    if mode == DATA_SAVER:
        return replace(state, mode=mode, rung=0, bad_since=None, good_since=None)
    return replace(state, mode=mode)


def _highest_fitting(ladder, kbps: float, factor: float) -> int:
    fitting = [i for i, (_, _, need) in enumerate(ladder) if need * factor <= kbps]
    return fitting[-1] if fitting else 0


def step(state: LayerState, sample: LinkSample) -> LayerState:
    """Return the state after one link sample; `state.layer` is what to configure."""
    if state.mode != AUTO:
        return state
    ladder = LADDERS[state.kind]
    need = ladder[state.rung][2]
    estimate = sample.available_kbps
    congested = (
        sample.loss > LOSS_DOWN
        or sample.slow_link
        or (estimate is not None and estimate < need)
    )
    if congested and state.settle_until is not None and sample.at < state.settle_until:
        return replace(state, bad_since=None, good_since=None)
    if congested:
        bad_since = state.bad_since if state.bad_since is not None else sample.at
        waited = sample.at - bad_since >= DOWN_AFTER
        if state.rung > 0 and (waited or sample.loss > LOSS_HEAVY):
            return _down(state, sample, estimate)
        return replace(state, bad_since=bad_since, good_since=None)
    clean = sample.loss <= LOSS_CLEAN and not sample.slow_link
    if not clean:  # neither congested nor clean: stay, forget both timers
        return replace(state, bad_since=None, good_since=None)
    good_since = state.good_since if state.good_since is not None else sample.at
    state = replace(state, bad_since=None, good_since=good_since)
    top = len(ladder) - 1
    if state.rung == top or sample.at - good_since < UP_AFTER:
        return state
    target = state.rung + 1
    if state.last_down is not None and sample.at - state.last_down < state.wait_before(
        target
    ):
        return state
    if estimate is not None:
        if ladder[target][2] * HEADROOM > estimate:
            return state  # the estimate says the next rung would not fit
        target = max(target, _highest_fitting(ladder, estimate, HEADROOM))
    # The rung climbed from carried the link clean for UP_AFTER: it has held.
    failures = tuple(
        0 if rung <= state.rung else n for rung, n in enumerate(state.failures)
    )
    return replace(
        state,
        rung=min(target, top),
        good_since=sample.at,
        last_up=sample.at,
        failures=failures,
    )


def _down(state: LayerState, sample: LinkSample, estimate: float | None) -> LayerState:
    ladder = LADDERS[state.kind]
    target = state.rung - 1
    if estimate is not None:
        target = min(target, _highest_fitting(ladder, estimate, 1.0))
    target = max(target, 0)
    failures = list(state.failures) + [0] * (len(ladder) - len(state.failures))
    settle_until = None
    climbed = state.last_up is not None and (
        state.last_down is None or state.last_up > state.last_down
    )
    if climbed and sample.at - state.last_up < PROBE_WINDOW:
        failures[state.rung] += 1  # the rung just reached did not hold
        settle_until = sample.at + PROBE_SETTLE
    elif (
        climbed or state.last_down is None or sample.at - state.last_down > PROBE_WINDOW
    ):
        failures[state.rung] = 0  # it held: the link has changed since
    # else: back from a failed probe and still losing: its echo, not this rung's fault
    return replace(
        state,
        rung=target,
        bad_since=None,
        good_since=None,
        last_down=sample.at,
        settle_until=settle_until,
        failures=tuple(failures),
    )
