"""Build the ffmpeg command of one Composition from its VideoLayout (pure).

Each region of Twilio's VideoLayout is a box on the canvas; its video sources are
matched by track name or SID (`*` is a wildcard) and placed in the box, scaled to
fit, on a black canvas, lowest `z_pos` first. Audio sources are delayed to their
offset on the talk's clock and mixed. Sources that overlap in time inside one region
are drawn over each other (the newest on top); Twilio's grid cells are left out.
"""

from __future__ import annotations

import fnmatch
import json
from dataclasses import dataclass

from .errors import BAD_REQUEST, TwilioError

MAX_SIDE = 1280
MAX_PIXELS = 921_600
DEFAULT_RESOLUTION = (640, 480)
FRAME_RATE = 30
REGION_FIELDS = {
    'x_pos', 'y_pos', 'z_pos', 'width', 'height', 'max_columns', 'max_rows',
    'cells_excluded', 'reuse', 'video_sources', 'video_sources_excluded',
}  # fmt: skip


def _invalid(why: str) -> TwilioError:
    return TwilioError(BAD_REQUEST, f'Invalid VideoLayout: {why}')


@dataclass(frozen=True)
class Source:
    """A recorded track as the composer sees it: where it is and when it starts."""

    path: str
    kind: str  # audio | video
    track_name: str
    track_sid: str
    start: float  # seconds after the composition's start
    duration: float

    def as_json(self) -> dict:
        return dict(vars(self))


@dataclass(frozen=True)
class Region:
    name: str
    x: int
    y: int
    z: int
    width: int
    height: int
    sources: tuple[str, ...]
    excluded: tuple[str, ...] = ()


def parse_resolution(raw: str | None) -> tuple[int, int]:
    if not raw:
        return DEFAULT_RESOLUTION
    width, sep, height = raw.lower().partition('x')
    if not (sep and width.isdigit() and height.isdigit()):
        raise TwilioError(BAD_REQUEST, 'Resolution must look like 1280x720')
    w, h = int(width), int(height)
    if not (16 <= w <= MAX_SIDE and 16 <= h <= MAX_SIDE) or w * h > MAX_PIXELS:
        raise TwilioError(
            BAD_REQUEST,
            'Resolution: each side must be 16 to 1280 and the area at most '
            f'{MAX_PIXELS} pixels (for example 1280x720)',
        )
    return w, h


def parse_video_layout(raw: str | dict | None, size: tuple[int, int]) -> list[Region]:
    """Validate a VideoLayout (JSON text or object); regions in drawing order."""
    if raw in (None, '', {}):
        return []
    if isinstance(raw, str):
        try:
            raw = json.loads(raw)
        except ValueError:
            raise _invalid('it must be a JSON object of named regions') from None
    if not isinstance(raw, dict):
        raise _invalid('it must be a JSON object of named regions')
    regions = []
    for name, spec in raw.items():
        if not isinstance(spec, dict):
            raise _invalid(f'region {name!r} must be an object')
        unknown = set(spec) - REGION_FIELDS
        if unknown:
            raise _invalid(f'region {name!r} has unknown field {sorted(unknown)[0]!r}')

        def number(field: str, default: int, spec=spec, name=name) -> int:
            value = spec.get(field, default)
            if not isinstance(value, int) or isinstance(value, bool) or value < 0:
                raise _invalid(f'{name}.{field} must be a whole number >= 0')
            return value

        def names(field: str, spec=spec, name=name) -> tuple[str, ...]:
            value = spec.get(field, [])
            if not (isinstance(value, list) and all(isinstance(v, str) for v in value)):
                raise _invalid(f'{name}.{field} must be a list of track names')
            return tuple(value)

        x, y = number('x_pos', 0), number('y_pos', 0)
        width = number('width', size[0] - x) or size[0] - x
        height = number('height', size[1] - y) or size[1] - y
        if x + width > size[0] or y + height > size[1] or width < 2 or height < 2:
            raise _invalid(f'region {name!r} does not fit in {size[0]}x{size[1]}')
        regions.append(
            Region(
                name=str(name),
                x=x,
                y=y,
                z=number('z_pos', 0),
                width=width - width % 2,  # yuv420p wants even sizes
                height=height - height % 2,
                sources=names('video_sources'),
                excluded=names('video_sources_excluded'),
            )
        )
    regions.sort(key=lambda r: r.z)
    return regions


def matches(patterns: tuple[str, ...], source: Source) -> bool:
    return any(
        fnmatch.fnmatchcase(source.track_name, p) or p == source.track_sid
        for p in patterns
    )


def pick_audio(
    sources: list[Source], wanted: tuple[str, ...], excluded: tuple[str, ...]
) -> list[Source]:
    return [
        s
        for s in sources
        if s.kind == 'audio' and matches(wanted, s) and not matches(excluded, s)
    ]


def place_in_region(
    stream: str,
    region: Region,
    n: int,
    canvas: str,
    *,
    timing: str = '',
    repeat_last: bool = True,
) -> list[str]:
    """Filters scaling `stream` into `region` and drawing it over `canvas` as [o<n>].

    The recording's composer and the live broadcast draw regions the same way.
    `timing` places a recorded source on the talk's clock; a live one keeps its own.
    """
    return [
        f'[{stream}]{timing}scale={region.width}:{region.height}'
        ':force_original_aspect_ratio=decrease,'
        f'pad={region.width}:{region.height}:(ow-iw)/2:(oh-ih)/2,'
        f'setsar=1[v{n}]',
        f'[{canvas}][v{n}]overlay={region.x}:{region.y}'
        f':eof_action=pass:repeatlast={int(repeat_last)}[o{n}]',
    ]


@dataclass(frozen=True)
class Command:
    args: list[str]
    duration: float  # seconds of output


def build_command(
    ffmpeg: str,
    sources: list[Source],
    regions: list[Region],
    audio: list[Source],
    size: tuple[int, int],
    output: str,
    fmt: str = 'mp4',
) -> Command:
    """Return the ffmpeg arguments composing `sources` into `output`."""
    placed = [
        (region, source)
        for region in regions
        for source in sorted(sources, key=lambda s: s.start)
        if source.kind == 'video'
        and matches(region.sources, source)
        and not matches(region.excluded, source)
    ]
    used = [s for _, s in placed] + audio
    duration = max((s.start + s.duration for s in used), default=0.0)
    args = [ffmpeg, '-hide_banner', '-nostdin', '-y', '-progress', 'pipe:1', '-nostats']
    graph: list[str] = []
    inputs: dict[str, int] = {}

    def input_of(source: Source) -> int:
        if source.path not in inputs:
            inputs[source.path] = len(inputs) + (1 if regions else 0)
            # WebRTC changes a track's resolution as bandwidth allows; rebuilding
            # the graph then drops that overlay for the rest of the file (ffmpeg
            # 5.1). Without the rebuild, scale takes each new size as it comes.
            args.extend(['-reinit_filter', '0', '-i', source.path])
        return inputs[source.path]

    maps: list[str] = []
    if regions:
        w, h = size
        args[len(args) :] = [
            '-f', 'lavfi', '-i',
            f'color=c=black:s={w}x{h}:r={FRAME_RATE}:d={duration:.3f}',
        ]  # fmt: skip
        last = '0:v'
        for n, (region, source) in enumerate(placed):
            index = input_of(source)
            graph += place_in_region(
                f'{index}:v',
                region,
                n,
                last,
                timing=f'setpts=PTS-STARTPTS+{source.start:.3f}/TB,',
                repeat_last=False,
            )
            last = f'o{n}'
        graph.append(f'[{last}]format=yuv420p[vout]')
        maps += ['-map', '[vout]']
    for n, source in enumerate(audio):
        index = input_of(source)
        delay = round(source.start * 1000)
        # async=1 fills the gaps in the timestamps with silence: a muted
        # microphone sends no packets, and without it every sound after an
        # unmute came early (650 ms after a 4 s mute, bench/av_sync.py).
        graph.append(
            f'[{index}:a]asetpts=PTS-STARTPTS,aresample=48000:async=1:first_pts=0,'
            f'adelay=delays={delay}:all=1[a{n}]'
        )
    if audio:
        labels = ''.join(f'[a{n}]' for n in range(len(audio)))
        graph.append(
            f'{labels}amix=inputs={len(audio)}:duration=longest:normalize=0[aout]'
        )
        maps += ['-map', '[aout]']
    if graph:
        args += ['-filter_complex', ';'.join(graph)]
    args += maps
    if regions:
        if fmt == 'webm':
            args += ['-c:v', 'libvpx', '-deadline', 'realtime', '-cpu-used', '8']
        else:
            # superfast: 0.41 CPU s per s of a full-motion 720p screen, veryfast 0.58
            # (bench/RESULTS.md, Recording); the target is <= 0.5.
            args += ['-c:v', 'libx264', '-preset', 'superfast', '-crf', '23']
        args += ['-r', str(FRAME_RATE)]
    if audio:
        args += ['-c:a', 'libopus' if fmt == 'webm' else 'aac', '-b:a', '128k']
    if fmt == 'mp4':
        args += ['-movflags', '+faststart']
    args += ['-t', f'{duration:.3f}', '-f', fmt, output]
    return Command(args=args, duration=duration)
