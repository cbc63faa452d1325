"""KeyframeGate: switches on one publisher stream are batched one window apart."""

from __future__ import annotations

import asyncio

from local_video.keyframe_gate import KeyframeGate


class FakeTime:
    def __init__(self) -> None:
        self.now = 100.0
        self.slept: list[float] = []

    def clock(self) -> float:
        return self.now

    async def sleep(self, seconds: float) -> None:
        self.slept.append(seconds)


def released_at(gate: KeyframeGate, time: FakeTime, key, at: float) -> float:
    """When a switch asked for at `at` goes out."""
    time.now = at
    before = len(time.slept)
    asyncio.run(gate.wait(key))
    return at + (time.slept[-1] if len(time.slept) > before else 0.0)


def test_first_switch_goes_at_once_and_later_ones_join_one_batch():
    time = FakeTime()
    gate = KeyframeGate(window=1.0, clock=time.clock, sleep=time.sleep)
    assert released_at(gate, time, 'cam', 100.0) == 100.0
    # Three attendees asking within the window all go together at its end.
    assert released_at(gate, time, 'cam', 100.2) == 101.0
    assert released_at(gate, time, 'cam', 100.5) == 101.0
    assert released_at(gate, time, 'cam', 100.9) == 101.0
    # Asked after that batch was reserved but before it went: the next window.
    assert released_at(gate, time, 'cam', 101.3) == 102.0


def test_a_quiet_stream_switches_at_once_again():
    time = FakeTime()
    gate = KeyframeGate(window=1.0, clock=time.clock, sleep=time.sleep)
    released_at(gate, time, 'cam', 100.0)
    assert released_at(gate, time, 'cam', 101.5) == 101.5


def test_streams_have_their_own_windows():
    time = FakeTime()
    gate = KeyframeGate(window=1.0, clock=time.clock, sleep=time.sleep)
    released_at(gate, time, 'cam', 100.0)
    assert released_at(gate, time, 'screen', 100.1) == 100.1
    assert released_at(gate, time, 'cam', 100.1) == 101.0
