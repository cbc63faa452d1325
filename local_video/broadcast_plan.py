"""What the live broadcast encoder runs (pure): RTP inputs, SDP, ffmpeg arguments.

Janus forwards the presenter's tracks (and the stage speakers' voices) as plain RTP
to loopback ports; one ffmpeg reads them all from one SDP file, draws the same
regions as the recording (podium/video_layout.py, composer.place_in_region), mixes
the voices, and writes HLS: a few H.264/AAC renditions with short segments and a
master playlist, in one folder that nginx (or a CDN in front of it) serves.

Timestamps are the packets' arrival times (`use_wallclock_as_timestamps`): Janus's
forwarders send no RTCP sender reports, so arrival is the only clock the streams
share, and it stays continuous across a presenter's reconnect.
"""

from __future__ import annotations

from dataclasses import dataclass

from podium import room_state, stage, video_layout

from .composer import Region, parse_resolution, parse_video_layout, place_in_region

CANVAS = parse_resolution(video_layout.RESOLUTION)
FRAME_RATE = 25
AUDIO_BITRATE = '96k'
PLAYLIST = 'index.m3u8'
VIDEO_TRACKS = ('screen', 'camera')
PRESENTER_AUDIO = tuple(video_layout.AUDIO_SOURCES)
SPEAKER_AUDIO = ('microphone',)
# Video bit rates by rendition height, as the usual HLS ladders for 30 fps content.
BITRATES = {720: 2500, 540: 1600, 480: 1000, 360: 600, 240: 350}
PAYLOAD_TYPES = {'audio': 111, 'video': 96}


@dataclass(frozen=True)
class Rendition:
    height: int

    @property
    def name(self) -> str:
        return f'{self.height}p'

    @property
    def width(self) -> int:
        width = self.height * CANVAS[0] // CANVAS[1]
        return width - width % 2

    @property
    def video_kbps(self) -> int:
        return BITRATES.get(self.height) or max(200, self.height * 3)


def parse_renditions(raw: str) -> tuple[Rendition, ...]:
    """Read PODIUM_BROADCAST_RENDITIONS ("720,360"): heights, highest first."""
    heights = []
    for part in raw.replace(' ', '').split(','):
        if not part.isdigit() or not 144 <= int(part) <= CANVAS[1]:
            raise ValueError(
                'PODIUM_BROADCAST_RENDITIONS must list picture heights from 144 to '
                f'{CANVAS[1]} (the broadcast canvas is {CANVAS[0]}x{CANVAS[1]}), '
                f'for example "720,360"; got {raw!r}'
            )
        height = int(part) - int(part) % 2
        if height not in heights:
            heights.append(height)
    return tuple(Rendition(h) for h in sorted(heights, reverse=True))


@dataclass(frozen=True)
class Feed:
    """One published track the broadcast takes: whose, which, and where it arrives."""

    publisher_id: int  # the Janus feed id of the participant's publisher
    identity: str
    name: str  # track name: screen, camera, microphone, screen-audio
    kind: str  # audio | video
    mid: str
    port: int = 0  # loopback UDP port the forwarder sends to (set when started)

    @property
    def payload_type(self) -> int:
        return PAYLOAD_TYPES[self.kind]


def wanted_feeds(
    publishers: list[tuple[str, int, list[tuple[str, str, str]]]],
) -> list[Feed]:
    """Pick the tracks the broadcast shows from `(identity, feed id, tracks)`.

    `tracks` are `(mid, name, kind)` of what each publisher has in Janus. The
    presenter gives the screen, camera and its audio; a stage speaker its voice.
    """
    feeds = []
    for identity, publisher_id, tracks in publishers:
        if room_state.is_presenter(identity):
            names = VIDEO_TRACKS + PRESENTER_AUDIO
        elif stage.slot_of(identity, stage.MAX_SLOTS) is not None:
            names = SPEAKER_AUDIO
        else:
            continue  # attendees never publish; if one does, it is not on air
        for mid, name, kind in tracks:
            if name in names and kind == ('video' if name in VIDEO_TRACKS else 'audio'):
                feeds.append(Feed(publisher_id, identity, name, kind, mid))
    # Stable order, so that the same tracks always give the same encoder.
    return sorted(feeds, key=lambda f: (f.kind != 'video', f.identity, f.name, f.mid))


def signature(feeds: list[Feed]) -> tuple:
    """What makes a running encoder right or stale: the feeds, without their ports."""
    return tuple((f.publisher_id, f.identity, f.name, f.kind, f.mid) for f in feeds)


def sdp(feeds: list[Feed]) -> str:
    """The SDP ffmpeg reads the forwarded RTP with: one m-line per feed, in order."""
    lines = [
        'v=0',
        'o=- 0 0 IN IP4 127.0.0.1',
        's=Podium broadcast',
        'c=IN IP4 127.0.0.1',
        't=0 0',
    ]
    for feed in feeds:
        pt = feed.payload_type
        lines.append(f'm={feed.kind} {feed.port} RTP/AVP {pt}')
        lines.append(
            f'a=rtpmap:{pt} opus/48000/2'
            if feed.kind == 'audio'
            else f'a=rtpmap:{pt} VP8/90000'
        )
    return '\r\n'.join(lines) + '\r\n'


def layout_for(feeds: list[Feed]) -> list[Region]:
    names = {f.name for f in feeds if f.kind == 'video'}
    layout = (
        video_layout.LAYOUT if 'screen' in names else video_layout.CAMERA_ONLY_LAYOUT
    )
    return parse_video_layout(layout, CANVAS)


def encoder_args(
    ffmpeg: str,
    sdp_path: str,
    feeds: list[Feed],
    renditions: tuple[Rendition, ...],
    out_dir: str,
    *,
    segment_seconds: int = 1,
    list_size: int = 6,
) -> list[str]:
    """Return the ffmpeg command turning the forwarded feeds into HLS in `out_dir`."""
    w, h = CANVAS
    args = [ffmpeg, '-hide_banner', '-nostdin', '-loglevel', 'warning', '-nostats']
    has_rtp = bool(feeds)
    if has_rtp:
        args += [
            '-use_wallclock_as_timestamps', '1',
            '-protocol_whitelist', 'file,udp,rtp',
            '-reorder_queue_size', '256', '-buffer_size', '4194304',
            '-analyzeduration', '3000000',
            '-i', sdp_path,
        ]  # fmt: skip
    canvas = 1 if has_rtp else 0
    args += ['-f', 'lavfi', '-i', f'color=c=black:s={w}x{h}:r={FRAME_RATE}']
    graph: list[str] = []
    last = f'{canvas}:v'
    stream_index = {f: i for i, f in enumerate(feeds)}
    n = 0
    for region in layout_for(feeds):
        for feed in feeds:
            if feed.kind == 'video' and feed.name in region.sources:
                graph += place_in_region(f'0:{stream_index[feed]}', region, n, last)
                last = f'o{n}'
                n += 1
                break
    count = len(renditions)
    graph.append(
        f'[{last}]fps={FRAME_RATE},format=yuv420p,split={count}'
        + ''.join(f'[c{i}]' for i in range(count))
    )
    for i, rendition in enumerate(renditions):
        if (rendition.width, rendition.height) == CANVAS:
            graph.append(f'[c{i}]null[v{i}out]')
        else:
            graph.append(f'[c{i}]scale={rendition.width}:{rendition.height}[v{i}out]')
    voices = [f for f in feeds if f.kind == 'audio']
    if voices:
        for k, feed in enumerate(voices):
            # async fills a reconnect's gap with silence, so audio stays continuous.
            graph.append(f'[0:{stream_index[feed]}]aresample=48000:async=1000[m{k}]')
        mixed = ''.join(f'[m{k}]' for k in range(len(voices)))
        graph.append(
            f'{mixed}amix=inputs={len(voices)}:duration=longest:normalize=0[mix]'
            if len(voices) > 1
            else f'{mixed}anull[mix]'
        )
    else:
        args += ['-f', 'lavfi', '-i', 'anullsrc=r=48000:cl=stereo']
        graph.append(f'[{canvas + 1}:a]anull[mix]')
    graph.append(
        '[mix]asplit=' + str(count) + ''.join(f'[a{i}out]' for i in range(count))
    )
    args += ['-filter_complex', ';'.join(graph)]
    for i in range(count):
        args += ['-map', f'[v{i}out]']
    for i in range(count):
        args += ['-map', f'[a{i}out]']
    args += ['-c:v', 'libx264', '-preset', 'veryfast', '-tune', 'zerolatency']
    for i, rendition in enumerate(renditions):
        kbps = rendition.video_kbps
        args += [f'-b:v:{i}', f'{kbps}k', f'-maxrate:v:{i}', f'{kbps}k',
                 f'-bufsize:v:{i}', f'{kbps * 2}k']  # fmt: skip
    args += [
        # A keyframe opens every segment, so players can start at any of them.
        '-force_key_frames', f'expr:gte(t,n_forced*{segment_seconds})',
        '-sc_threshold', '0',
        '-c:a', 'aac', '-b:a', AUDIO_BITRATE, '-ac', '2',
        '-f', 'hls',
        '-hls_time', str(segment_seconds),
        '-hls_list_size', str(list_size),
        '-hls_delete_threshold', '2',
        # append_list + discont_start: a restarted encoder continues the playlists
        # (numbering goes on, players see a discontinuity, not a new stream);
        # temp_file: nginx never serves a half-written playlist.
        '-hls_flags',
        'delete_segments+independent_segments+append_list+discont_start'
        '+omit_endlist+program_date_time+temp_file',
        '-master_pl_name', PLAYLIST,
        '-var_stream_map',
        ' '.join(f'v:{i},a:{i},name:{r.name}' for i, r in enumerate(renditions)),
        '-hls_segment_filename', f'{out_dir}/%v/seg%05d.ts',
        f'{out_dir}/%v/live.m3u8',
    ]  # fmt: skip
    return args
