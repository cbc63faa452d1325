"""Media load benchmark: Janus CPU per receive-only attendee of one presenter.

    python -m bench.media.load [--quick] [--counts 0,10,25,50] [--window 15]
                               [--json FILE]

Starts the local video service (`python -m local_video`, which runs Janus as its
child) on 127.0.0.1 with throwaway credentials, creates a room over the Rooms REST
API, starts one presenter that publishes a 720p camera, a 720p screen (VP8, 20 fps,
about 0.7 Mbps each) and Opus audio over one PeerConnection, then adds receive-only
aiortc attendees (at most 25 per process) that count RTP without decoding. For each
attendee count it measures, over a steady window: Janus CPU (% of one core, from
/proc/<pid>/stat), the service's own CPU, frames/packets delivered per attendee per
stream, packet loss, and the presenter's send bitrate. Media goes to this machine's
own interface address only (Janus's ICE candidate); nothing leaves the machine.

`run(quick)` returns the results as a dict; the CLI prints a table as well.
"""

from __future__ import annotations

import argparse
import contextlib
import json
import os
import queue
import secrets
import shutil
import signal
import subprocess
import sys
import tempfile
import threading
import time
from dataclasses import dataclass, field
from pathlib import Path

import httpx
from twilio.jwt.access_token import AccessToken
from twilio.jwt.access_token.grants import VideoGrant

from bench.stats import print_report

from . import janus_tuning, procstat

ROOT = Path(__file__).resolve().parents[2]
COUNTS = (0, 10, 25, 50)
QUICK_COUNTS = (0, 10)
PER_PROCESS = 25  # aiortc attendees one Python process keeps up with on this box
FPS = 20
VIDEO_BITRATE = 700_000
STREAMS = ('camera', 'screen', 'microphone')
READY_TIMEOUT = 150.0
TARGET_PER_ATTENDEE = 0.5  # % of a core: the goal of >= 200 attendees per core


def _free_port() -> int:
    import socket

    with socket.socket() as sock:
        sock.bind(('127.0.0.1', 0))
        return sock.getsockname()[1]


class Child:
    """A child process in its own process group; JSON lines from its stdout."""

    def __init__(self, name: str, argv: list[str], log: Path, **popen) -> None:
        self.name = name
        self.log_path = log
        self._log = log.open('ab')
        self.proc = subprocess.Popen(
            argv,
            cwd=ROOT,
            stderr=self._log,
            start_new_session=True,
            **popen,
        )
        self.lines: queue.Queue = queue.Queue()
        if self.proc.stdout is not None:
            threading.Thread(target=self._read, daemon=True).start()

    @classmethod
    def client(cls, name: str, role: str, settings: dict, log_dir: Path) -> Child:
        """Start a `bench.media.clients` process; its settings go on its stdin."""
        child = cls(
            name,
            [sys.executable, '-m', 'bench.media.clients', role],
            log_dir / f'{name}.log',
            stdin=subprocess.PIPE,
            stdout=subprocess.PIPE,
        )
        child.send(json.dumps(settings))
        return child

    @property
    def pid(self) -> int:
        return self.proc.pid

    def _read(self) -> None:
        for raw in self.proc.stdout:
            try:
                self.lines.put(json.loads(raw))
            except ValueError:
                continue
        self.lines.put(None)

    def send(self, line: str) -> None:
        with contextlib.suppress(OSError, ValueError):
            self.proc.stdin.write(line.encode() + b'\n')
            self.proc.stdin.flush()

    def expect(self, event: str, timeout: float) -> dict:
        deadline = time.monotonic() + timeout
        while True:
            try:
                item = self.lines.get(timeout=max(deadline - time.monotonic(), 0.01))
            except queue.Empty:
                raise TimeoutError(
                    f'{self.name}: no {event} in {timeout:.0f} s; see {self.log_path}'
                ) from None
            if item is None:
                raise RuntimeError(f'{self.name} exited; see {self.log_path}')
            if item.get('event') == 'error':
                raise RuntimeError(f'{self.name}: {item.get("message")}')
            if item.get('event') == event:
                return item

    def stop(self, grace: float = 10.0) -> None:
        """Ask nicely (quit / SIGTERM), then kill this child's own process group."""
        if self.proc.poll() is None:
            if self.proc.stdin is not None:
                self.send('quit')
                with contextlib.suppress(OSError):
                    self.proc.stdin.close()
            else:
                self.proc.send_signal(signal.SIGTERM)
            try:
                self.proc.wait(grace)
            except subprocess.TimeoutExpired:
                pass
        with contextlib.suppress(ProcessLookupError, PermissionError):
            os.killpg(self.proc.pid, signal.SIGKILL)  # our own group: leftovers
        with contextlib.suppress(subprocess.TimeoutExpired):
            self.proc.wait(5)
        self._log.close()


@dataclass
class Bench:
    """Everything one benchmark run started; `close()` stops all of it."""

    workdir: Path
    quick: bool
    window: float
    settle: float
    children: list[Child] = field(default_factory=list)
    service: Child | None = None
    janus_pid: int | None = None
    presenter: Child | None = None
    attendees: list[Child] = field(default_factory=list)
    base_url: str = ''
    room: str = ''
    creds: dict = field(default_factory=dict)
    joined: int = 0
    janus_options: dict = field(default_factory=dict)
    # Record the presenter (RecordParticipantsOnConnect) into this folder ('' : off).
    recordings_dir: str = ''

    # Start-up --------------------------------------------------------------------

    def start_service(self) -> None:
        self.creds = {
            'TWILIO_ACCOUNT_SID': 'AC' + secrets.token_hex(16),
            'TWILIO_API_KEY_SID': 'SK' + secrets.token_hex(16),
            'TWILIO_API_KEY_SECRET': secrets.token_urlsafe(24),
            'TWILIO_AUTH_TOKEN': secrets.token_urlsafe(24),
        }
        port = _free_port()
        env = {
            **os.environ,
            **self.creds,
            'PODIUM_LOCAL_VIDEO_PORT': str(port),
            'PODIUM_JANUS_RUN_DIR': str(self.workdir / 'janus'),
        }
        if self.recordings_dir:
            env['PODIUM_RECORDINGS_DIR'] = self.recordings_dir
        if self.janus_options:
            script = janus_tuning.wrapper_script(self.workdir, self.janus_options)
            env['PODIUM_JANUS_BINARY'] = str(script)
        self.service = Child(
            'local_video',
            [sys.executable, '-m', 'local_video'],
            self.workdir / 'local_video.log',
            env=env,
            stdin=subprocess.DEVNULL,
            stdout=subprocess.DEVNULL,
        )
        self.children.append(self.service)
        self.base_url = f'http://127.0.0.1:{port}'
        deadline = time.monotonic() + 30
        while True:
            if self.service.proc.poll() is not None:
                raise RuntimeError(f'local_video exited; see {self.service.log_path}')
            try:
                if httpx.get(f'{self.base_url}/video/healthz', timeout=1).is_success:
                    break
            except httpx.HTTPError:
                pass
            if time.monotonic() > deadline:
                raise TimeoutError('local_video did not become healthy in 30 s')
            time.sleep(0.1)
        janus = procstat.children(self.service.pid, 'janus')
        if len(janus) != 1:
            raise RuntimeError(f'expected one janus child, found {janus}')
        self.janus_pid = janus[0]

    def create_room(self, capacity: int) -> None:
        auth = (self.creds['TWILIO_API_KEY_SID'], self.creds['TWILIO_API_KEY_SECRET'])
        name = f'bench-media-{secrets.token_hex(4)}'
        resp = httpx.post(
            f'{self.base_url}/v1/Rooms',
            data={
                'UniqueName': name,
                'MaxParticipants': str(capacity),
                'RecordParticipantsOnConnect': str(bool(self.recordings_dir)).lower(),
            },
            auth=auth,
            timeout=10,
        )
        resp.raise_for_status()
        self.room = name

    def token(self, identity: str) -> str:
        token = AccessToken(
            self.creds['TWILIO_ACCOUNT_SID'],
            self.creds['TWILIO_API_KEY_SID'],
            self.creds['TWILIO_API_KEY_SECRET'],
            identity=identity,
            ttl=3600,
        )
        token.add_grant(VideoGrant(room=self.room))
        return token.to_jwt()

    def _client(self, name: str, role: str, settings: dict) -> Child:
        child = Child.client(name, role, settings, self.workdir)
        self.children.append(child)
        return child

    @property
    def signal_url(self) -> str:
        return self.base_url.replace('http://', 'ws://') + '/video/signal'

    def start_presenter(self) -> dict:
        self.presenter = self._client(
            'presenter',
            'presenter',
            {
                'signal_url': self.signal_url,
                'token': self.token('presenter'),
                'fps': FPS,
                'video_bitrate': VIDEO_BITRATE,
            },
        )
        return self.presenter.expect('ready', READY_TIMEOUT)

    def add_attendees(self, target: int) -> list[dict]:
        """Start processes of <= PER_PROCESS attendees until `target` have joined."""
        started = []
        while self.joined < target:
            count = min(PER_PROCESS, target - self.joined)
            first = self.joined
            child = self._client(
                f'attendees-{len(self.attendees)}',
                'attendees',
                {
                    'signal_url': self.signal_url,
                    'tokens': [
                        self.token(f'attendee-{first + i}') for i in range(count)
                    ],
                    'streams': list(STREAMS),
                },
            )
            self.attendees.append(child)
            started.append(child)
            self.joined += count
        return [child.expect('ready', READY_TIMEOUT) for child in started]

    # Measuring ----------------------------------------------------------------------

    def _snap(self) -> dict:
        for child in [self.presenter, *self.attendees]:
            child.send('snap')
        return {
            'presenter': self.presenter.expect('snap', 30),
            'attendees': [child.expect('snap', 30) for child in self.attendees],
        }

    def _cpu(self) -> dict:
        return {
            'time': time.monotonic(),
            'janus': procstat.cpu_seconds(self.janus_pid),
            'service': procstat.cpu_seconds(self.service.pid),
            'presenter': procstat.cpu_seconds(self.presenter.pid),
            'attendees': sum(procstat.cpu_seconds(c.pid) for c in self.attendees),
            'machine': procstat.machine_seconds(),
            'udp_drops': procstat.udp_receive_drops(),
        }

    def measure(self, n: int) -> dict:
        time.sleep(self.settle)
        cpu0, snap0 = self._cpu(), self._snap()
        time.sleep(self.window)
        cpu1, snap1 = self._cpu(), self._snap()
        return summarize(n, cpu0, cpu1, snap0, snap1)

    def close(self) -> None:
        # Clients first (they say disconnect), then the service, which stops Janus.
        for child in reversed(self.children):
            child.stop()
        if self.janus_pid is not None and Path(f'/proc/{self.janus_pid}').exists():
            with contextlib.suppress(ProcessLookupError):
                os.kill(self.janus_pid, signal.SIGKILL)  # our service's own child


def _pct(seconds: float, elapsed: float) -> float:
    return 100.0 * seconds / elapsed if elapsed > 0 else 0.0


def summarize(n: int, cpu0: dict, cpu1: dict, snap0: dict, snap1: dict) -> dict:
    """Turn two CPU readings and two client snapshots into per-N results."""
    elapsed = cpu1['time'] - cpu0['time']
    busy = cpu1['machine'][0] - cpu0['machine'][0]
    total = cpu1['machine'][1] - cpu0['machine'][1]
    cores = os.cpu_count() or 1
    result = {
        'attendees': n,
        'window_s': round(elapsed, 2),
        'janus_cpu_pct': round(_pct(cpu1['janus'] - cpu0['janus'], elapsed), 2),
        'service_cpu_pct': round(_pct(cpu1['service'] - cpu0['service'], elapsed), 2),
        'presenter_cpu_pct': round(
            _pct(cpu1['presenter'] - cpu0['presenter'], elapsed), 2
        ),
        'attendee_processes_cpu_pct': round(
            _pct(cpu1['attendees'] - cpu0['attendees'], elapsed), 2
        ),
        # Whole machine, % of one core (so up to cores * 100): the load noise.
        'machine_cpu_pct': round(100.0 * cores * busy / total, 1) if total else 0.0,
        # Kernel drops at full receive buffers: receivers behind, not Janus.
        'udp_rcvbuf_drops': cpu1.get('udp_drops', 0) - cpu0.get('udp_drops', 0),
    }
    pres0, pres1 = snap0['presenter'], snap1['presenter']
    pres_elapsed = pres1['time'] - pres0['time']
    sent = {}
    for name in STREAMS:
        frames = pres1['streams'][name]['frames'] - pres0['streams'][name]['frames']
        wire0 = pres0['wire'].get(name, {'bytes': 0, 'packets': 0})
        wire1 = pres1['wire'].get(name, {'bytes': 0, 'packets': 0})
        sent[name] = {
            'fps': round(frames / pres_elapsed, 2),
            'pps': round((wire1['packets'] - wire0['packets']) / pres_elapsed, 1),
            'kbps': round((wire1['bytes'] - wire0['bytes']) * 8 / pres_elapsed / 1000),
        }
    result['presenter_sent'] = sent
    result['presenter_kbps'] = sum(s['kbps'] for s in sent.values())

    streams = {
        name: {'fps': [], 'pps': [], 'kbps': [], 'lost': 0, 'expected': 0, 'rtx': 0}
        for name in STREAMS
    }
    receiving = 0
    for before, after in zip(snap0['attendees'], snap1['attendees'], strict=True):
        dt = after['time'] - before['time']
        for old, new in zip(before['attendees'], after['attendees'], strict=True):
            if all(
                new.get(s, {}).get('packets', 0) > old.get(s, {}).get('packets', 0)
                for s in STREAMS
            ):
                receiving += 1
            for name in STREAMS:
                a = old.get(
                    name,
                    {'packets': 0, 'bytes': 0, 'frames': 0, 'rtx': 0, 'expected': 0},
                )
                b = new.get(name, a)
                stream = streams[name]
                stream['fps'].append((b['frames'] - a['frames']) / dt)
                stream['pps'].append((b['packets'] - a['packets']) / dt)
                stream['kbps'].append((b['bytes'] - a['bytes']) * 8 / dt / 1000)
                expected = b['expected'] - a['expected']
                stream['expected'] += expected
                stream['lost'] += max(expected - (b['packets'] - a['packets']), 0)
                stream['rtx'] += b['rtx'] - a['rtx']
    delivered = {}
    for name, stream in streams.items():
        if not stream['fps']:
            continue
        fps = sum(stream['fps']) / len(stream['fps'])
        delivered[name] = {
            'fps': round(fps, 2),
            'fps_min': round(min(stream['fps']), 2),
            'pps': round(sum(stream['pps']) / len(stream['pps']), 1),
            'kbps': round(sum(stream['kbps']) / len(stream['kbps'])),
            'delivery_pct': round(100 * fps / sent[name]['fps'], 1)
            if sent[name]['fps']
            else None,
            'loss_pct': round(100 * stream['lost'] / stream['expected'], 3)
            if stream['expected']
            else 0.0,
            'rtx_packets': stream['rtx'],
        }
    result['delivered_per_attendee'] = delivered
    result['attendees_receiving_all'] = receiving
    if n:
        result['janus_cpu_per_attendee_pct'] = round(result['janus_cpu_pct'] / n, 3)
    return result


def _add_marginal(results: list[dict]) -> None:
    """CPU per attendee above the no-attendee baseline, and attendees per core."""
    base = next((r['janus_cpu_pct'] for r in results if r['attendees'] == 0), None)
    for result in results:
        n = result['attendees']
        if not n or base is None:
            continue
        marginal = max(result['janus_cpu_pct'] - base, 0.0) / n
        result['janus_marginal_cpu_per_attendee_pct'] = round(marginal, 3)
        result['attendees_per_janus_core'] = round(100 / marginal) if marginal else None
        result['meets_target'] = marginal <= TARGET_PER_ATTENDEE


def run(
    quick: bool = False,
    *,
    counts: tuple[int, ...] | None = None,
    window: float | None = None,
    verbose: bool = True,
    keep_logs: bool = False,
    janus_options: dict | None = None,
    recordings_dir: str = '',
) -> dict:
    """Run the benchmark; return {'conditions': ..., 'results': [per attendee count]}.

    quick: N = 0, 10 with a 10 s window; otherwise N = 0, 10, 25, 50 with 15 s.
    janus_options: extra janus.jcfg `general` settings to try (e.g. event_loops).
    """
    counts = tuple(sorted(set(counts or (QUICK_COUNTS if quick else COUNTS))))
    window = window or (10.0 if quick else 15.0)
    workdir = Path(tempfile.mkdtemp(prefix='podium-bench-media-'))
    bench = Bench(
        workdir=workdir,
        quick=quick,
        window=window,
        settle=3.0 if quick else 5.0,
        janus_options=dict(janus_options or {}),
        recordings_dir=recordings_dir,
    )

    def say(text: str) -> None:
        if verbose:
            print(text, file=sys.stderr, flush=True)

    results = []
    ok = False
    try:
        say(f'bench.media: logs in {workdir}')
        bench.start_service()
        say(f'local_video pid {bench.service.pid}, janus pid {bench.janus_pid}')
        bench.create_room(max(counts) + 5)
        ready = bench.start_presenter()
        say(f'presenter publishing: {ready["clip_bitrates"]}')
        for n in counts:
            for batch in bench.add_attendees(n):
                say(
                    f'  +{batch["attendees"]} attendees in {batch["seconds"]} s, '
                    f'{batch["flowing"]} receiving all streams'
                    + (f', errors: {batch["errors"]}' if batch['errors'] else '')
                )
            result = bench.measure(n)
            results.append(result)
            say(
                f'N={n}: janus {result["janus_cpu_pct"]}% of a core, '
                f'machine {result["machine_cpu_pct"]}%'
            )
        ok = True
    finally:
        bench.close()
        if ok and not keep_logs:
            shutil.rmtree(workdir, ignore_errors=True)  # holds Janus's secrets
        else:
            say(f'bench.media: logs kept in {workdir}')
    _add_marginal(results)
    loadavg = os.getloadavg()
    return {
        'conditions': {
            'presenter': (
                'aiortc publisher, one PeerConnection: camera + screen as pre-encoded '
                f'synthetic 1280x720 VP8 at {FPS} fps (~{VIDEO_BITRATE // 1000} kbps '
                'each, keyframe every 2 s, loop of 6 s) + Opus mono ~32 kbps, 50 pps'
            ),
            'attendees': (
                f'aiortc receive-only, <= {PER_PROCESS} per process, max-bundle, '
                'RTP counted without reassembly or decoding (RTCP RR and NACK kept)'
            ),
            'window_s': window,
            'settle_s': bench.settle,
            'cores': os.cpu_count(),
            'loadavg_after': [round(v, 2) for v in loadavg],
            'janus': 'Janus 1.1.2 VideoRoom via local_video, ICE on the primary '
            'interface address (media stays on this machine)',
            'janus_options': bench.janus_options,
            'recording': bool(recordings_dir),
        },
        'results': results,
    }


def table(report: dict) -> str:
    """Format the results as a Markdown table."""
    head = (
        '| attendees | Janus CPU % | per attendee % (marginal) | attendees/core '
        '| camera fps | screen fps | audio pps | loss % | presenter kbps '
        '| service CPU % | clients CPU % | machine CPU % (of 200) | UDP drops |'
    )
    lines = [head, '|' + '---|' * 13]
    for r in report['results']:
        d = r['delivered_per_attendee']

        def cell(name, key, d=d):
            return '-' if name not in d else f'{d[name][key]}'

        loss = max((v['loss_pct'] for v in d.values()), default=0.0)
        lines.append(
            f'| {r["attendees"]} | {r["janus_cpu_pct"]} '
            f'| {r.get("janus_marginal_cpu_per_attendee_pct", "-")} '
            f'| {r.get("attendees_per_janus_core", "-")} '
            f'| {cell("camera", "fps")} (min {cell("camera", "fps_min")}) '
            f'| {cell("screen", "fps")} (min {cell("screen", "fps_min")}) '
            f'| {cell("microphone", "pps")} '
            f'| {loss if d else "-"} | {r["presenter_kbps"]} '
            f'| {r["service_cpu_pct"]} | {r["attendee_processes_cpu_pct"]} '
            f'| {r["machine_cpu_pct"]} | {r.get("udp_rcvbuf_drops", "-")} |'
        )
    return '\n'.join(lines)


def main(argv: list[str] | None = None) -> None:
    parser = argparse.ArgumentParser(description=__doc__.split('\n\n')[0])
    parser.add_argument('--quick', action='store_true', help='N = 0, 10; 10 s window')
    parser.add_argument('--counts', help='comma-separated attendee counts')
    parser.add_argument('--window', type=float, help='measuring window in seconds')
    parser.add_argument('--json', help='also write the results to this file')
    parser.add_argument(
        '--janus-option',
        action='append',
        default=[],
        metavar='KEY=VALUE',
        help='extra janus.jcfg general setting to try, e.g. event_loops=2',
    )
    parser.add_argument('--keep-logs', action='store_true')
    args = parser.parse_args(argv)
    counts = tuple(int(c) for c in args.counts.split(',')) if args.counts else None
    options = {}
    for item in args.janus_option:
        key, _, raw = item.partition('=')
        try:
            options[key.strip()] = json.loads(raw)
        except ValueError:
            options[key.strip()] = raw
    report = run(
        args.quick,
        counts=counts,
        window=args.window,
        keep_logs=args.keep_logs,
        janus_options=options,
    )
    print_report(report, table(report), args.json)


if __name__ == '__main__':
    main()
