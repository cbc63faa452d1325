"""The broadcast plan: which tracks go on air and the ffmpeg that runs (pure)."""

from __future__ import annotations

import dataclasses

import pytest

from local_video import broadcast_plan as bp
from local_video.config import ConfigError, from_env
from tests.conftest import TEST_ENV

PRESENTER = ('presenter', 11, [('0', 'microphone', 'audio'), ('1', 'camera', 'video'),
                               ('2', 'screen', 'video')])  # fmt: skip


def with_ports(feeds):
    return [dataclasses.replace(f, port=40000 + 2 * i) for i, f in enumerate(feeds)]


def graph_of(args):
    return args[args.index('-filter_complex') + 1]


def test_the_presenter_gives_picture_and_sound_a_speaker_only_sound():
    speaker = (
        'speaker-1',
        22,
        [('0', 'microphone', 'audio'), ('1', 'camera', 'video')],
    )
    attendee = ('attendee-00ff', 33, [('0', 'microphone', 'audio')])
    feeds = bp.wanted_feeds([attendee, speaker, PRESENTER])
    assert [(f.identity, f.name) for f in feeds] == [
        ('presenter', 'camera'), ('presenter', 'screen'),
        ('presenter', 'microphone'), ('speaker-1', 'microphone'),
    ]  # fmt: skip
    # A track named like a video but sent as audio is not drawn.
    odd = bp.wanted_feeds([('presenter', 1, [('0', 'screen', 'audio')])])
    assert odd == []


def test_the_signature_ignores_ports_and_order():
    one = bp.wanted_feeds([PRESENTER])
    two = bp.wanted_feeds([(PRESENTER[0], PRESENTER[1], list(reversed(PRESENTER[2])))])
    assert bp.signature(with_ports(one)) == bp.signature(two)
    fewer = bp.wanted_feeds([('presenter', 11, PRESENTER[2][:2])])
    assert bp.signature(fewer) != bp.signature(one)


def test_the_sdp_has_one_m_line_per_feed_on_its_port():
    feeds = with_ports(bp.wanted_feeds([PRESENTER]))
    text = bp.sdp(feeds)
    assert text.count('m=') == 3
    assert 'm=video 40000 RTP/AVP 96' in text and 'a=rtpmap:96 VP8/90000' in text
    assert 'm=audio 40004 RTP/AVP 111' in text and 'opus/48000/2' in text


def test_screen_and_camera_are_drawn_in_the_recording_layout():
    feeds = with_ports(bp.wanted_feeds([PRESENTER]))
    args = bp.encoder_args(
        'ffmpeg', 'in.sdp', feeds, bp.parse_renditions('720,360'), 'out'
    )
    graph = graph_of(args)
    # The screen (SDP stream 1) fills the canvas; the camera (stream 0) is the PiP.
    assert '[0:1]scale=1280:720' in graph and 'overlay=0:0' in graph
    assert '[0:0]scale=240:180' in graph and 'overlay=1000:520' in graph
    assert graph.index('[0:1]') < graph.index('[0:0]')  # the screen below
    assert 'scale=640:360' in graph and 'anull[mix]' in graph
    assert args[args.index('-var_stream_map') + 1] == (
        'v:0,a:0,name:720p v:1,a:1,name:360p'
    )
    assert args[-1] == 'out/%v/live.m3u8'
    assert '-use_wallclock_as_timestamps' in args


def test_without_a_screen_the_camera_fills_the_canvas():
    feeds = with_ports(bp.wanted_feeds([('presenter', 1, [('0', 'camera', 'video')])]))
    graph = graph_of(
        bp.encoder_args('ffmpeg', 'in.sdp', feeds, (bp.Rendition(720),), 'o')
    )
    assert '[0:0]scale=1280:720' in graph and 'overlay=1000' not in graph
    # No voice yet: silence, so every rendition keeps an audio track players expect.
    args = bp.encoder_args('ffmpeg', 'in.sdp', feeds, (bp.Rendition(720),), 'o')
    assert 'anullsrc=r=48000:cl=stereo' in args


def test_two_voices_are_mixed_and_nothing_on_air_is_a_black_canvas():
    speaker = ('speaker-2', 5, [('0', 'microphone', 'audio')])
    feeds = with_ports(bp.wanted_feeds([PRESENTER, speaker]))
    graph = graph_of(
        bp.encoder_args('ffmpeg', 'in.sdp', feeds, (bp.Rendition(360),), 'o')
    )
    assert 'amix=inputs=2' in graph
    empty = bp.encoder_args('ffmpeg', 'in.sdp', [], (bp.Rendition(360),), 'o')
    assert 'in.sdp' not in empty and 'overlay' not in graph_of(empty)


@pytest.mark.parametrize('raw', ['1080', 'abc', '720,', '100'])
def test_renditions_outside_the_canvas_are_refused_with_the_setting_named(raw):
    with pytest.raises(ConfigError, match='PODIUM_BROADCAST_RENDITIONS'):
        from_env({**TEST_ENV, 'PODIUM_BROADCAST_RENDITIONS': raw})


def test_renditions_are_sorted_highest_first_without_repeats():
    assert [r.name for r in bp.parse_renditions('360, 720,360')] == ['720p', '360p']
    assert bp.Rendition(360).width == 640 and bp.Rendition(720).video_kbps == 2500


def test_segment_length_is_bounded():
    with pytest.raises(ConfigError, match='PODIUM_BROADCAST_SEGMENT_SECONDS'):
        from_env({**TEST_ENV, 'PODIUM_BROADCAST_SEGMENT_SECONDS': '0'})
    config = from_env({**TEST_ENV, 'PODIUM_BROADCAST_SEGMENT_SECONDS': '2'})
    assert config.broadcast_segment_seconds == 2
