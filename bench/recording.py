"""Recording bench: Janus CPU with recording on vs off, then remux and composition cost.

1. The Janus load bench (bench/media/load.py: an aiortc presenter publishing a
   synthetic 1280x720 VP8 camera + screen and Opus) with N attendees, once with
   recording off and once with RecordParticipantsOnConnect, measuring Janus's CPU.
2. The .mjr files of the recorded run: janus-pp-rec remuxes each (the "plain remux"),
   then the composer (local_video/composer.py) builds the picture-in-picture MP4
   from them, 1280x720 H.264 + AAC, the way a Composition does.
Wall and CPU seconds are per second of recorded talk. Run from the repository root:

    .venv/bin/python -m bench.recording [--attendees 10] [--window 60]
"""

from __future__ import annotations

import argparse
import json
import resource
import shutil
import subprocess
import sys
import tempfile
import time
from pathlib import Path

from bench.media import load
from local_video.composer import Source, build_command, parse_video_layout, pick_audio

LAYOUT = {
    'screen': {'z_pos': 1, 'video_sources': ['screen']},
    'pip': {'z_pos': 2, 'x_pos': 1000, 'y_pos': 520, 'width': 240,
            'height': 180, 'video_sources': ['camera']},
}  # fmt: skip


def _children_cpu() -> float:
    usage = resource.getrusage(resource.RUSAGE_CHILDREN)
    return usage.ru_utime + usage.ru_stime


def timed(args: list[str]) -> tuple[float, float]:
    """Run a tool; return (wall seconds, CPU seconds)."""
    cpu, wall = _children_cpu(), time.monotonic()
    subprocess.run(args, check=True, capture_output=True)
    return time.monotonic() - wall, _children_cpu() - cpu


def probe(path: Path) -> float:
    out = subprocess.run(
        ['ffprobe', '-v', 'error', '-show_entries', 'format=duration',
         '-of', 'csv=p=0', str(path)],
        check=True, capture_output=True, text=True,
    ).stdout  # fmt: skip
    return float(out.strip())


def remux_and_compose(folder: Path) -> dict:
    sources, remux_wall, remux_cpu, first = [], 0.0, 0.0, {}
    mjrs = sorted(folder.rglob('*.mjr'))
    if not mjrs:
        raise RuntimeError(f'no .mjr files under {folder}')
    for mjr in mjrs:
        header = json.loads(
            subprocess.run(
                ['janus-pp-rec', '--json', str(mjr)], capture_output=True, text=True
            )
            .stdout.strip()
            .splitlines()[-1]
        )
        kind = 'audio' if header['t'] == 'a' else 'video'
        target = mjr.with_suffix('.mka' if kind == 'audio' else '.mkv')
        wall, cpu = timed(['janus-pp-rec', str(mjr), str(target)])
        remux_wall, remux_cpu = remux_wall + wall, remux_cpu + cpu
        first[str(target)] = int(header.get('u') or header['s'])
        sources.append((target, kind, header.get('d', mjr.stem)))
    zero = min(first.values())
    picked = [
        Source(str(t), kind, name, name, (first[str(t)] - zero) / 1e6, probe(t))
        for t, kind, name in sources
    ]
    talk = max(s.start + s.duration for s in picked)
    regions = parse_video_layout(LAYOUT, (1280, 720))
    audio = pick_audio(picked, ('*',), ())
    output = folder / 'composition.mp4'
    command = build_command('ffmpeg', picked, regions, audio, (1280, 720), str(output))
    wall, cpu = timed(command.args)
    return {
        'talk_seconds': round(talk, 2),
        'tracks': sorted(name for _, _, name in sources),
        'remux_all_tracks_wall_s': round(remux_wall, 3),
        'remux_all_tracks_cpu_s': round(remux_cpu, 3),
        'remux_cpu_s_per_talk_s': round(remux_cpu / talk, 4),
        'composition_wall_s': round(wall, 2),
        'composition_cpu_s': round(cpu, 2),
        'composition_cpu_s_per_talk_s': round(cpu / talk, 3),
        'composition_wall_s_per_talk_s': round(wall / talk, 3),
        'composition_duration_s': round(probe(output), 2),
    }


def run(attendees: int = 10, window: float = 60.0) -> dict:
    keep = Path(tempfile.mkdtemp(prefix='podium-bench-recording-'))
    try:
        off = load.run(counts=(attendees,), window=window, verbose=False)
        on = load.run(
            counts=(attendees,),
            window=window,
            verbose=False,
            recordings_dir=str(keep),
        )
        files = remux_and_compose(keep)
    finally:
        shutil.rmtree(keep, ignore_errors=True)
    janus_off = off['results'][-1]['janus_cpu_pct']
    janus_on = on['results'][-1]['janus_cpu_pct']
    return {
        'conditions': {
            'presenter': on['conditions']['presenter'],
            'attendees': attendees,
            'window_s': window,
            'composition': '1280x720 PiP (screen full, camera 240x180), libx264 '
            'superfast crf 23, AAC 128k, one ffmpeg process',
        },
        'janus_cpu_pct_recording_off': janus_off,
        'janus_cpu_pct_recording_on': janus_on,
        'janus_recording_overhead_pct': round(
            (janus_on - janus_off) / janus_off * 100, 1
        )
        if janus_off
        else None,
        **files,
    }


def main(argv: list[str] | None = None) -> None:
    parser = argparse.ArgumentParser(description=__doc__.split('\n\n')[0])
    parser.add_argument('--attendees', type=int, default=10)
    parser.add_argument('--window', type=float, default=60.0)
    args = parser.parse_args(argv)
    report = run(args.attendees, args.window)
    json.dump(report, sys.stdout, indent=2)
    print()


if __name__ == '__main__':
    main()
