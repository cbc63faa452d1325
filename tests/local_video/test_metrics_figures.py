"""local_video's media figures, from Janus 1.1 `handle_info` as it really answers."""

from __future__ import annotations

from prometheus_client import REGISTRY

from local_video.janus_api import JanusSession
from local_video.metrics import media_figures


def stream(bytes_in: int, bytes_out: int, nacks: int, lost: int) -> dict:
    return {
        'type': 'video',
        'mid': '0',
        'rtcp': {'main': {'lost': lost, 'lost-by-remote': 1, 'jitter-local': 1}},
        'stats': {
            'in': {
                'packets': 9,
                'bytes': 900,
                'bytes_lastsec': bytes_in,
                'nacks': nacks,
            },
            'out': {'packets': 0, 'bytes': 0, 'bytes_lastsec': bytes_out, 'nacks': 1},
        },
    }


def test_figures_sum_every_stream_of_every_handle():
    publisher = {
        'webrtc': {'media': {'0': stream(1000, 0, 2, 3), '1': stream(500, 0, 0, 0)}}
    }
    subscriber = {'webrtc': {'media': {'0': stream(0, 1500, 0, 0)}}}
    not_negotiated = {'webrtc': {}}
    figures = media_figures([publisher, subscriber, not_negotiated])
    assert figures == {
        'bitrate_in': 8 * 1500.0,
        'bitrate_out': 8 * 1500.0,
        'packets_lost': 3.0 + 3 * 1,
        'nacks': 2.0 + 3 * 1,
        'handles': 3.0,
    }


def test_slowlink_events_are_counted_by_direction():
    session = JanusSession.__new__(JanusSession)
    session._waiting, session._handles = {}, {}
    before = (
        REGISTRY.get_sample_value(
            'podium_janus_slow_links_total', {'direction': 'downlink'}
        )
        or 0.0
    )
    session._dispatch({'janus': 'slowlink', 'sender': 1, 'uplink': False, 'lost': 40})
    after = REGISTRY.get_sample_value(
        'podium_janus_slow_links_total', {'direction': 'downlink'}
    )
    assert after == before + 1
