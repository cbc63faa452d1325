"""LayerControl: the attendee's choice and link reports reach Janus, once each."""

from __future__ import annotations

import asyncio

import pytest

from local_video import layer_policy as lp
from local_video.layer_control import RETRY_AFTER, LayerControl


class FakeSubscriber:
    """What the subscriber handle was told, and what Janus says it relays."""

    def __init__(self) -> None:
        self.names = {'0': 'camera', '1': 'screen', '2': 'microphone'}
        self.calls: list[tuple[str, int, int]] = []
        self.relayed: dict[str, dict[str, int]] = {}
        self.now = 0.0

    async def apply(self, mid: str, substream: int, temporal: int) -> None:
        self.calls.append((mid, substream, temporal))

    def control(self) -> LayerControl:
        return LayerControl(
            self.apply, lambda: self.names, lambda: self.relayed, lambda: self.now
        )


def report(lost: int, received: int) -> list[dict]:
    return [
        {'mid': mid, 'packetsLost': lost, 'packetsReceived': received}
        for mid in ('0', '1')
    ]


def test_data_saver_chosen_before_any_stream_still_reaches_janus():
    sub = FakeSubscriber()
    names, sub.names = sub.names, {}
    control = sub.control()
    asyncio.run(control.set_mode(lp.DATA_SAVER))
    assert sub.calls == []  # nothing received yet
    sub.names = names
    asyncio.run(control.reapply())  # the subscription started
    assert sorted(sub.calls) == [('0', 0, 0), ('1', 0, 0)]  # audio untouched


def test_a_new_subscriber_handle_is_told_the_layers_again():
    sub = FakeSubscriber()
    control = sub.control()
    asyncio.run(control.set_mode(lp.DATA_SAVER))
    asyncio.run(control.reapply())
    assert len(sub.calls) == 2  # unchanged layers are not sent twice
    control.handle_replaced()
    asyncio.run(control.reapply())
    assert len(sub.calls) == 4


def test_heavy_loss_steps_down_and_a_switch_janus_never_made_is_asked_again():
    sub = FakeSubscriber()
    control = sub.control()
    asyncio.run(control.report(report(0, 100), None))
    top = list(sub.calls)
    assert sorted(top) == [('0', 2, 2), ('1', 1, 2)]
    sub.relayed = {'0': {'substream': 2, 'temporal': 2}, '1': {'substream': 1}}
    sub.now = 2.0
    asyncio.run(control.report(report(50, 150), None))  # 33 % lost: at once
    down = sub.calls[len(top) :]
    assert {mid for mid, *_ in down} == {'0', '1'}
    for mid, *layer in down:
        assert tuple(layer) < lp.LADDERS[sub.names[mid]][-1][:2]
    # Janus does not report the new substream (the keyframe request was dropped).
    sub.now = 2.0 + RETRY_AFTER
    before = len(sub.calls)
    asyncio.run(control.report(report(50, 250), None))
    retried = sub.calls[before:]
    assert {mid for mid, *_ in retried} == {'0', '1'}
    # Once Janus reports it, nothing more is sent (the link is not clean for long
    # enough to step up yet).
    sub.relayed = {mid: {'substream': s} for mid, s, _ in sub.calls[-2:]}
    sub.now += 1
    before = len(sub.calls)
    asyncio.run(control.report(report(50, 350), None))
    assert sub.calls[before:] == []


def test_a_bad_mode_is_refused_with_the_names_of_the_good_ones():
    control = FakeSubscriber().control()
    with pytest.raises(ValueError, match='auto, high, data-saver'):
        asyncio.run(control.set_mode('ultra'))
