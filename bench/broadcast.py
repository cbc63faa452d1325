"""Broadcast bench: what the HLS encoder costs, how far behind live it is, and what
nginx pays per viewer.

1. A synthetic presenter (ffmpeg senders on loopback replaying clips encoded once:
   a full-motion 1280x720 VP8 screen and a 640x480 VP8 camera at 20 fps, Opus)
   feeds the encoder exactly as Janus's RTP forwarders do; the encoder is
   local_video's (broadcast_plan). Its CPU is read per rendition set: 720p alone,
   360p alone, 720p + 360p.
2. Behind live: the screen flashes a white square at known moments of the
   sender's clock; each new segment is decoded as soon as the playlist lists it,
   and the flash's frame gives capture -> listed. A player that starts three
   segments behind the edge (hls.js's liveSyncDurationCount) shows a frame about
   3 segments after its segment is complete, so glass-to-glass is capture ->
   segment complete and listed, + 3 s (less the browser-to-Janus hop, tens of
   milliseconds on a LAN, which this synthetic source does not have).
3. Viewers: N asyncio clients fetch the 360p playlist and each new segment as a
   player does, through nginx with Podium's /broadcast/ location; nginx's and
   the encoder's CPU are read in the same window.

Run from the repository root (by hand; numbers go to bench/RESULTS.md):

    .venv/bin/python -m bench.broadcast [--window 20] [--viewers 50,200]
"""

from __future__ import annotations

import argparse
import asyncio
import dataclasses
import os
import re
import shutil
import statistics
import subprocess
import sys
import tempfile
import time
from pathlib import Path

import httpx

from launcher import Ports
from launcher.nginx import nginx_argv, write_nginx_files
from local_video import broadcast_plan as bp
from local_video.broadcaster import free_port_pair

TICKS = os.sysconf('SC_CLK_TCK')
CLIP_SECONDS = 30  # a multiple of FLASH_PERIOD, so the loop keeps the rhythm
FLASH_PERIOD = 5.0
# Encoded once, then sent with -c copy: the senders cost (almost) no CPU, so the
# figures are the encoder's even on a busy 2-core machine.
SOURCES = {
    # A white square flashes for 0.1 s every FLASH_PERIOD s of the clip.
    'screen': ['-f', 'lavfi', '-i', f'testsrc2=s=1280x720:r=20:d={CLIP_SECONDS}',
               '-vf', "drawbox=x=0:y=0:w=160:h=160:color=white:t=fill:"
               "enable='lt(mod(t,5),0.1)'",
               '-c:v', 'libvpx', '-b:v', '700k', '-g', '20', '-f', 'webm'],
    'camera': ['-f', 'lavfi', '-i', f'testsrc=s=640x480:r=20:d={CLIP_SECONDS}',
               '-c:v', 'libvpx', '-b:v', '300k', '-g', '20', '-f', 'webm'],
    'microphone': ['-f', 'lavfi', '-i', f'sine=f=440:r=48000:d={CLIP_SECONDS}',
                   '-c:a', 'libopus', '-ac', '2', '-b:a', '48k', '-f', 'webm'],
}  # fmt: skip


def cpu_seconds(pid: int) -> float:
    fields = Path(f'/proc/{pid}/stat').read_text().rsplit(')', 1)[1].split()
    return (int(fields[11]) + int(fields[12])) / TICKS


def make_clips(folder: Path) -> dict[str, Path]:
    clips = {}
    for name, args in SOURCES.items():
        clips[name] = folder / f'{name}.webm'
        subprocess.run(
            ['ffmpeg', '-hide_banner', '-loglevel', 'error', '-y', *args,
             str(clips[name])],
            check=True,
        )  # fmt: skip
    return clips


def start_presenter(feeds: list[bp.Feed], clips: dict[str, Path]) -> list:
    procs = []
    for feed in feeds:
        args = ['ffmpeg', '-hide_banner', '-loglevel', 'error', '-nostdin', '-re',
                '-stream_loop', '-1', '-i', str(clips[feed.name]), '-c', 'copy',
                '-payload_type', str(feed.payload_type),
                '-f', 'rtp', f'rtp://127.0.0.1:{feed.port}']  # fmt: skip
        procs.append(subprocess.Popen(args))
    return procs


def presenter_feeds() -> list[bp.Feed]:
    tracks = [('0', 'microphone', 'audio'), ('1', 'camera', 'video'),
              ('2', 'screen', 'video')]  # fmt: skip
    feeds = bp.wanted_feeds([('presenter', 1, tracks)])
    return [dataclasses.replace(f, port=free_port_pair()) for f in feeds]


def start_encoder(folder: Path, feeds, renditions: str) -> subprocess.Popen:
    shutil.rmtree(folder, ignore_errors=True)
    chosen = bp.parse_renditions(renditions)
    for rendition in chosen:
        (folder / rendition.name).mkdir(parents=True)
    sdp = folder.parent / f'{folder.name}.sdp'
    sdp.write_text(bp.sdp(feeds))
    args = bp.encoder_args('ffmpeg', str(sdp), feeds, chosen, str(folder))
    return subprocess.Popen(args, stdin=subprocess.DEVNULL)


def wait_segments(playlist: Path, count: int, timeout: float = 30.0) -> None:
    deadline = time.monotonic() + timeout
    while time.monotonic() < deadline:
        if playlist.exists() and playlist.read_text().count('.ts') >= count:
            return
        time.sleep(0.1)
    raise TimeoutError(f'{playlist} has no {count} segments after {timeout} s')


def encoder_cpu(folder: Path, feeds, renditions: str, window: float) -> float:
    """CPU seconds per second of the encoder for one set of renditions."""
    encoder = start_encoder(folder, feeds, renditions)
    try:
        first = bp.parse_renditions(renditions)[0].name
        wait_segments(folder / first / 'live.m3u8', 2)
        before, started = cpu_seconds(encoder.pid), time.monotonic()
        time.sleep(window)
        return (cpu_seconds(encoder.pid) - before) / (time.monotonic() - started)
    finally:
        encoder.terminate()
        encoder.wait()


LISTED = re.compile(r'#EXTINF:([\d.]+),\s*\n(?:#.*\n)*?(\S+\.ts)')


def flash_offsets(segment: Path) -> list[float]:
    """Seconds into `segment` of the frames whose top-left corner is white."""
    raw = subprocess.run(
        ['ffmpeg', '-v', 'error', '-i', str(segment),
         '-vf', 'crop=80:80:20:20,scale=1:1',
         '-f', 'rawvideo', '-pix_fmt', 'gray', '-'],
        capture_output=True, check=True,
    ).stdout  # fmt: skip
    return [i / bp.FRAME_RATE for i, level in enumerate(raw) if level > 200]


def behind_live(playlist: Path, sender_start: float, window: float) -> list[dict]:
    """Per flash: capture -> segment listed, and its position in the segment."""
    seen: set[str] = set()
    found = []
    deadline = time.monotonic() + window
    while time.monotonic() < deadline:
        text = playlist.read_text() if playlist.exists() else ''
        listed_at = time.time()
        for duration, name in LISTED.findall(text):
            if name in seen:
                continue
            seen.add(name)
            if len(seen) <= 6:
                continue  # listed before we looked: no arrival time
            offsets = flash_offsets(playlist.parent / name)
            if not offsets:
                continue
            periods = (listed_at - sender_start) // FLASH_PERIOD
            flash = sender_start + FLASH_PERIOD * periods
            if flash > listed_at - float(duration) + offsets[0]:
                flash -= FLASH_PERIOD  # listed before the next flash
            rest = float(duration) - offsets[0]  # the segment after the flash
            found.append({
                'capture_to_listed': listed_at - flash,
                'segment_end_to_listed': listed_at - flash - rest,
            })  # fmt: skip
        time.sleep(0.02)
    return found


async def viewer(base: str, stop: float, counts: dict) -> None:
    fetched: set[str] = set()
    async with httpx.AsyncClient(base_url=base, timeout=10) as client:
        while time.monotonic() < stop:
            started = time.monotonic()
            playlist = await client.get('360p/live.m3u8')
            counts['playlists'] += 1
            for name in re.findall(r'^(\S+\.ts)$', playlist.text, re.M)[-3:]:
                if name in fetched:
                    continue
                segment = await client.get(f'360p/{name}')
                fetched.add(name)
                counts['segments'] += segment.status_code == 200
                counts['bytes'] += len(segment.content)
                counts['errors'] += segment.status_code != 200
            await asyncio.sleep(max(0.0, 1.0 - (time.monotonic() - started)))


def nginx_pids(master_pid_file: Path) -> list[int]:
    master = int(master_pid_file.read_text())
    children = Path(f'/proc/{master}/task/{master}/children').read_text().split()
    return [master, *map(int, children)]


def serve_viewers(root: Path, encoder: subprocess.Popen, viewers: int, window: float):
    ports = Ports.free()
    conf = write_nginx_files(
        root / 'nginx', {'PODIUM_BROADCAST_DIR': str(root / 'hls')}, ports
    )
    nginx = subprocess.Popen(nginx_argv(conf))
    try:
        base = f'http://127.0.0.1:{ports.http}/broadcast/talk/'
        deadline = time.monotonic() + 10
        while True:
            try:
                if httpx.get(base + 'index.m3u8').status_code == 200:
                    break
            except httpx.TransportError:
                pass
            if time.monotonic() > deadline:
                raise TimeoutError('nginx does not serve the broadcast')
            time.sleep(0.1)
        pids = nginx_pids(root / 'nginx' / 'nginx.pid')
        counts = dict.fromkeys(('playlists', 'segments', 'bytes', 'errors'), 0)
        before = sum(cpu_seconds(p) for p in pids), cpu_seconds(encoder.pid)
        started = time.monotonic()

        async def crowd():
            stop = time.monotonic() + window
            await asyncio.gather(*(viewer(base, stop, counts) for _ in range(viewers)))

        asyncio.run(crowd())
        elapsed = time.monotonic() - started
        nginx_cpu = (sum(cpu_seconds(p) for p in pids) - before[0]) / elapsed
        encoder_cpu = (cpu_seconds(encoder.pid) - before[1]) / elapsed
        return {
            'viewers': viewers,
            'segments_per_s': counts['segments'] / elapsed,
            'playlists_per_s': counts['playlists'] / elapsed,
            'mbit_per_s': counts['bytes'] * 8 / elapsed / 1e6,
            'errors': counts['errors'],
            'nginx_cpu_percent': nginx_cpu * 100,
            'encoder_cpu_percent': encoder_cpu * 100,
        }
    finally:
        nginx.terminate()
        nginx.wait()


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__.split('\n\n')[0])
    parser.add_argument('--window', type=float, default=20.0)
    parser.add_argument('--viewers', default='50,200')
    options = parser.parse_args()
    for tool in ('ffmpeg', 'nginx'):
        if shutil.which(tool) is None:
            sys.exit(f'{tool} is not installed')
    root = Path(tempfile.mkdtemp(prefix='podium-broadcast-bench-'))
    os.chmod(root, 0o755)  # noqa: S103 - nginx's workers (nobody) read the segments
    feeds = presenter_feeds()
    clips = make_clips(root)
    sender_start = time.time()
    senders = start_presenter(feeds, clips)
    try:
        folder = root / 'hls' / 'talk'
        print('encoder CPU (CPU s per s of talk), full-motion synthetic source:')
        for renditions in ('720', '360', '720,360'):
            cpu = encoder_cpu(folder, feeds, renditions, options.window)
            print(f'  {renditions:8} {cpu:.2f}')
        encoder = start_encoder(folder, feeds, '720,360')
        try:
            wait_segments(folder / '720p' / 'live.m3u8', 3)
            flashes = behind_live(
                folder / '720p' / 'live.m3u8', sender_start, max(options.window, 16)
            )
            listed = statistics.median([f['capture_to_listed'] for f in flashes])
            complete = statistics.median([f['segment_end_to_listed'] for f in flashes])
            print(f'flash captured -> its segment listed: p50 {listed:.2f} s over '
                  f'{len(flashes)} flashes; segment complete -> listed '
                  f'{complete:.2f} s')
            print(f'glass-to-glass, player 3 segments behind the edge: '
                  f'~{complete + 3:.1f} s')
            for count in map(int, options.viewers.split(',')):
                print(serve_viewers(root, encoder, count, options.window))
        finally:
            encoder.terminate()
            encoder.wait()
    finally:
        for sender in senders:
            sender.terminate()
            sender.wait()
        shutil.rmtree(root, ignore_errors=True)


if __name__ == '__main__':
    main()
