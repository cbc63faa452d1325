"""LayerControl: the attendee's choice and link reports reach Janus, once each."""

from __future__ import annotations

import asyncio

import pytest

from local_video import layer_policy as lp
from local_video.layer_control import RETRY_AFTER, LayerControl


class FakeSubscriber:
    """What the subscriber handle was told, and what Janus says it relays."""

    def __init__(self) -> None:
        self.names = {
            '0': ('PA-presenter', 'camera'),
            '1': ('PA-presenter', 'screen'),
            '2': ('PA-presenter', 'microphone'),
        }
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


def test_heavy_loss_takes_from_the_camera_first_and_retries_an_unmade_switch():
    sub = FakeSubscriber()
    control = sub.control()
    asyncio.run(control.report(report(0, 100), None))
    assert sorted(sub.calls) == [('0', 2, 2), ('1', 1, 2)]  # both on top
    sub.relayed = {'0': {'substream': 2, 'temporal': 2}, '1': {'substream': 1}}
    sub.now = 2.0
    before = len(sub.calls)
    asyncio.run(control.report(report(50, 150), None))  # 33 % lost: at once
    # The camera gives way (to half size); the screen keeps its full layer.
    assert sub.calls[before:] == [('0', 1, 2)]
    assert control.layers() == {'0': (1, 2), '1': (1, 2)}
    # Janus does not report the new substream (the keyframe request was dropped):
    # asked again; the next heavy report also takes the camera down one more rung.
    sub.now = 2.0 + RETRY_AFTER
    before = len(sub.calls)
    asyncio.run(control.report(report(100, 250), None))
    assert ('0', 0, 2) in sub.calls[before:]
    assert control.layers()['1'] == (1, 2)
    # Once Janus reports what was asked, nothing more is sent while the link holds
    # (moderate loss: neither down nor up).
    sub.relayed = {'0': {'substream': 0}, '1': {'substream': 1}}
    sub.now += 1
    before = len(sub.calls)
    asyncio.run(control.report(report(105, 350), None))
    assert sub.calls[before:] == []


def test_a_recovering_link_gives_to_the_screen_before_the_camera():
    sub = FakeSubscriber()
    control = sub.control()
    lost, got = 0, 100
    asyncio.run(control.report(report(lost, got), None))
    for _ in range(8):  # heavy loss until the bottom rung
        sub.now += 1
        lost, got = lost + 50, got + 100
        asyncio.run(control.report(report(lost, got), None))
    assert control.layers() == {'0': (0, 0), '1': (0, 0)}
    sub.relayed = {'0': {'substream': 0}, '1': {'substream': 0}}
    first_up = None
    for _ in range(60):  # clean
        sub.now += 1
        got += 100
        asyncio.run(control.report(report(lost, got), None))
        if first_up is None and control.layers() != {'0': (0, 0), '1': (0, 0)}:
            first_up = control.layers()
    assert first_up == {'0': (0, 0), '1': (0, 2)}  # the screen first
    assert control.layers() == {'0': (2, 2), '1': (1, 2)}  # and all back on top


def test_a_lone_camera_has_its_own_ladder():
    sub = FakeSubscriber()
    sub.names = {'0': ('PA-presenter', 'camera'), '2': ('PA-presenter', 'microphone')}
    control = sub.control()
    asyncio.run(control.set_mode(lp.DATA_SAVER))
    asyncio.run(control.reapply())
    assert sub.calls == [('0', 0, 0)]


def test_a_bad_mode_is_refused_with_the_names_of_the_good_ones():
    control = FakeSubscriber().control()
    with pytest.raises(ValueError, match='auto, high, data-saver'):
        asyncio.run(control.set_mode('ultra'))


def test_a_speakers_camera_beside_the_presenters_has_its_own_ladder():
    sub = FakeSubscriber()
    sub.names['3'] = ('PA-speaker', 'camera')
    control = sub.control()
    asyncio.run(control.set_mode(lp.DATA_SAVER))
    asyncio.run(control.reapply())
    assert sorted(sub.calls) == [('0', 0, 0), ('1', 0, 0), ('3', 0, 0)]
    sub.now = 1.0
    asyncio.run(control.set_mode(lp.AUTO))
    asyncio.run(control.report(report(0, 100), None))
    assert control.layers() == {'0': (0, 0), '1': (0, 0), '3': (0, 0)}


def test_every_rung_change_is_logged_with_who_and_why(caplog):
    sub = FakeSubscriber()
    control = LayerControl(
        sub.apply, lambda: sub.names, lambda: sub.relayed, lambda: sub.now, 'PA1'
    )
    caplog.set_level('INFO', logger='local_video.layer_control')
    asyncio.run(control.report(report(0, 100), None))
    assert caplog.messages == []  # the first report changes nothing
    sub.now = 2.0
    asyncio.run(control.report(report(50, 150), None))  # 50 lost, 50 received
    top = len(lp.PRESENTATION_LADDER) - 1
    assert caplog.messages == [
        f'layers PA1 presentation:PA-presenter: rung {top} -> {top - 1},'
        ' loss 50.0 %, hold-off 5 s'
    ]
