"""Fast checks of the media benchmark's arithmetic (no Janus, no network).

.venv/bin/python -m pytest bench/media/test_media_bench.py
"""

from __future__ import annotations

import os

import pytest

pytest.importorskip('aiortc')

from aiortc.rtp import RtpPacket  # noqa: E402

from bench.media import janus_tuning, procstat  # noqa: E402
from bench.media.counting import FirstFrame, StreamCount, vp8_keyframe_start  # noqa: E402
from bench.media.load import _add_marginal, summarize  # noqa: E402
from bench.media.page_join import address, retry_delay_s, retryable  # noqa: E402


def packet(seq: int, *, marker: bool = False, size: int = 100) -> RtpPacket:
    return RtpPacket(sequence_number=seq, marker=marker, payload=b'x' * size)


def test_stream_count_unwraps_sequence_numbers_and_counts_gaps():
    count = StreamCount()
    for seq in (65533, 65534, 1, 2):  # 65535 and 0 are lost
        count.add(packet(seq, marker=seq == 2), video=True)
    assert count.expected == 6
    assert count.packets == 4
    assert count.frames == 1
    assert count.bytes == 400


def test_stream_count_ignores_late_packets_for_the_highest_sequence():
    count = StreamCount()
    for seq in (10, 12, 11):
        count.add(packet(seq), video=False)
    assert (count.expected, count.packets, count.frames) == (3, 3, 3)


def _snap(t: float, frames: int, sent: int) -> tuple[dict, dict]:
    stream = {'packets': frames, 'bytes': frames * 1000, 'frames': frames, 'rtx': 0}
    received = {name: {**stream, 'expected': frames + 1} for name in ('camera',)}
    presenter = {
        'time': t,
        'streams': {
            name: {'frames': sent, 'bytes': 0}
            for name in ('camera', 'screen', 'microphone')
        },
        'wire': {'camera': {'packets': sent, 'bytes': sent * 1000}},
    }
    return presenter, {'time': t, 'attendees': [received]}


def test_summarize_gives_rates_delivery_and_loss_per_stream():
    p0, a0 = _snap(100.0, frames=0, sent=0)
    p1, a1 = _snap(110.0, frames=190, sent=200)
    a1['attendees'][0]['camera']['expected'] = 201  # 200 sent, 190 arrived
    cpu0 = {
        'time': 100.0,
        'janus': 1.0,
        'service': 0,
        'presenter': 0,
        'attendees': 0,
        'machine': (0.0, 0.0),
    }
    cpu1 = {**cpu0, 'time': 110.0, 'janus': 3.0, 'machine': (10.0, 20.0)}
    result = summarize(
        1,
        cpu0,
        cpu1,
        {'presenter': p0, 'attendees': [a0]},
        {'presenter': p1, 'attendees': [a1]},
    )
    assert result['janus_cpu_pct'] == 20.0
    camera = result['delivered_per_attendee']['camera']
    assert camera['fps'] == 19.0
    assert camera['delivery_pct'] == 95.0
    assert camera['loss_pct'] == 5.0
    assert result['presenter_sent']['camera']['kbps'] == 160


def test_marginal_cost_is_measured_above_the_no_attendee_baseline():
    results = [
        {'attendees': 0, 'janus_cpu_pct': 2.0},
        {'attendees': 10, 'janus_cpu_pct': 7.0},
    ]
    _add_marginal(results)
    assert results[1]['janus_marginal_cpu_per_attendee_pct'] == 0.5
    assert results[1]['attendees_per_janus_core'] == 200
    assert results[1]['meets_target'] is True


def test_cpu_seconds_of_a_running_process_and_of_a_missing_one():
    assert procstat.cpu_seconds(os.getpid()) > 0
    assert procstat.cpu_seconds(2**22 + 12345) == 0.0
    busy, total = procstat.machine_seconds()
    assert 0 < busy < total


def test_janus_tuning_adds_settings_to_the_general_section(tmp_path):
    config = tmp_path / 'janus.jcfg'
    config.write_text('general: {\n    debug_level = 4\n}\nnat: {\n}\n')
    janus_tuning.tune(config, {'event_loops': 2, 'name': 'x'})
    text = config.read_text()
    assert text.startswith('general: {\n    event_loops = 2\n    name = "x"\n')
    assert 'debug_level = 4' in text


# VP8 payload descriptors (RFC 7741): X=1 with a 15-bit picture id, then the header.
KEY_START = bytes([0x90, 0x80, 0x81, 0x23, 0x10])  # S=1, PID=0; P=0: key frame
DELTA_START = bytes([0x90, 0x80, 0x81, 0x24, 0x11])  # P=1: a delta frame
MIDDLE = bytes([0x80, 0x80, 0x81, 0x23, 0x00])  # S=0: not a frame's first packet


def test_vp8_key_frame_start_reads_the_descriptor_and_the_p_bit():
    assert vp8_keyframe_start(KEY_START)
    assert not vp8_keyframe_start(DELTA_START)
    assert not vp8_keyframe_start(MIDDLE)
    assert vp8_keyframe_start(bytes([0x10, 0x00]))  # no extension byte
    assert not vp8_keyframe_start(bytes([0x11, 0x00]))  # partition 1, not a start
    assert not vp8_keyframe_start(b'')


def test_first_frame_waits_for_a_key_frame_with_no_packet_missing():
    first = FirstFrame()
    first.add(5, DELTA_START, True, 1.0)  # a delta frame: not decodable alone
    first.add(6, KEY_START, False, 2.0)
    first.add(8, MIDDLE, True, 3.0)  # 7 never came: this key frame is incomplete
    assert (first.first_packet_at, first.key_frame_at) == (1.0, None)
    first.add(65535, KEY_START, False, 4.0)  # across the sequence-number wrap
    first.add(1, MIDDLE, True, 5.0)
    assert first.key_frame_at is None  # 0 is missing
    first.add(0, MIDDLE, False, 5.5)  # too late: that key frame was given up
    assert first.key_frame_at is None
    first.add(10, KEY_START, False, 6.0)
    first.add(11, MIDDLE, False, 6.5)
    first.add(12, MIDDLE, True, 7.0)
    assert first.key_frame_at == 7.0


def test_subscribe_rules_retries_wait_like_the_page():
    assert retry_delay_s(1, 2, rand=lambda: 0.0) == 2.0
    assert retry_delay_s(1, 2, rand=lambda: 0.5) == 3.0  # + half of max(2, 1)
    assert retry_delay_s(1, 0, rand=lambda: 0.5) == 0.5  # spread over >= 1 s
    assert retry_delay_s(3, None, rand=lambda: 0.5) == 1.5  # 0.5 s x attempt
    assert [retryable(s) for s in (0, 404, 409, 429, 503)] == [True] * 5
    assert [retryable(s) for s in (400, 401, 410)] == [False] * 3


def test_each_attendee_has_its_own_address():
    addresses = {address(i) for i in range(1000)}
    assert len(addresses) == 1000
    assert address(0) == '198.18.0.1' and address(250) == '198.18.1.1'
