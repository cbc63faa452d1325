"""Join storm through nginx on the local video backend (issue 14).

    python -m bench.media.join_storm [--attendees N] [--spread 10] [--json FILE]

Starts Podium in local mode (`launcher.Stack`: Redis, token service, webhooks,
web service, local_video with Janus, nginx, all on 127.0.0.1), creates a
presentation through the API, and starts the aiortc presenter (clients.py:
camera + microphone + screen) with a presenter token from the token service, as
the presenter page gets it. Then N aiortc attendees, at most 25 per process,
each press Join at a random moment spread over `spread` seconds and do what the
attendee page does, through nginx (page_join.py): token, signalling WebSocket,
subscribe rules (retried as the page retries), Janus's offer, media.

Reported: p50/p95/max of Join -> token, -> signalling connected, -> subscribe
rules answered, -> first screen RTP packet, -> first complete screen key frame;
refusals (any non-2xx the page would not retry past, or no key frame within the
media timeout) by reason; CPU of every part over the storm (first Join to last
attendee done) and over a steady window afterwards, with everyone receiving.
"""

from __future__ import annotations

import argparse
import math
import os
import random
import secrets
import shutil
import subprocess
import sys
import tempfile
import time
from pathlib import Path

import httpx

from bench.stats import percentile, print_report
from launcher import Ports, Stack

from . import procstat
from .load import FPS, VIDEO_BITRATE, Child

PER_PROCESS = 25
DEFAULT_ATTENDEES = 50
DEFAULT_SPREAD = 10.0
MEDIA_TIMEOUT = 45.0
READY_TIMEOUT = 120.0
STEADY_SETTLE, STEADY_WINDOW = 2.0, 8.0
STEPS = (
    ('token_ms', 'Join → token'),
    ('signal_ms', 'Join → signalling connected'),
    ('rules_ms', 'Join → subscribe rules answered'),
    ('offer_ms', "Join → Janus's offer received"),
    ('answer_ms', 'Join → answer sent'),
    ('dtls_ms', 'Join → connected (ICE + DTLS)'),
    ('first_rtp_ms', 'Join → first screen RTP packet'),
    ('first_frame_ms', 'Join → first complete screen key frame'),
)
# The stack's parts whose CPU is reported; clients are added per run.
PARTS = ('token', 'webhooks', 'web', 'local_video', 'janus', 'nginx', 'redis')


def step_stats(values: list[float]) -> dict:
    """p50/p95/max (and n, min) of one step's times, in ms."""
    if not values:
        return {'n': 0, 'p50': None, 'p95': None, 'min': None, 'max': None}
    return {
        'n': len(values),
        'p50': round(percentile(values, 50), 1),
        'p95': round(percentile(values, 95), 1),
        'min': round(min(values), 1),
        'max': round(max(values), 1),
    }


def summarize_joins(results: list[dict]) -> dict:
    """Per-step stats over the attendees that reached each step; refusals by reason."""
    steps = {
        key: step_stats([r[key] for r in results if r.get(key) is not None])
        for key, _ in STEPS
    }
    refused: dict[str, int] = {}
    for r in results:
        if r.get('error'):
            # One bucket per kind of failure, without attendee-specific detail.
            reason = r['error'].split(' after ')[0].split('(')[0].strip()
            refused[reason] = refused.get(reason, 0) + 1
    statuses: dict[str, int] = {}
    for r in results:
        for status in r.get('rules_statuses', []):
            statuses[str(status)] = statuses.get(str(status), 0) + 1
    retried = sum(1 for r in results if len(r.get('rules_statuses', [])) > 1)
    return {
        'attendees': len(results),
        'reached_media': sum(1 for r in results if r.get('first_frame_ms') is not None),
        'refused': sum(refused.values()),
        'refused_by_reason': refused,
        'subscribe_rules_statuses': statuses,
        'subscribe_rules_retried': retried,
        'late_press_ms': step_stats([r['late_ms'] for r in results if 'late_ms' in r]),
        'steps': steps,
    }


def cpu_pct(before: dict, after: dict) -> dict:
    """% of one core per part between two readings of `cpu_reading`."""
    elapsed = after['time'] - before['time']
    out = {
        name: round(100.0 * (after['parts'][name] - before['parts'][name]) / elapsed, 1)
        for name in before['parts']
        if elapsed > 0
    }
    busy = after['machine'][0] - before['machine'][0]
    total = after['machine'][1] - before['machine'][1]
    cores = os.cpu_count() or 1
    out['machine (of 200)' if cores == 2 else f'machine (of {cores * 100})'] = (
        round(100.0 * cores * busy / total, 1) if total else 0.0
    )
    out['window_s'] = round(elapsed, 1)
    out['udp_rcvbuf_drops'] = after['udp_drops'] - before['udp_drops']
    return out


def _tree(pid: int, skip: set[int] = frozenset()) -> list[int]:
    """`pid` and all its descendants, less the subtrees rooted in `skip`."""
    found, todo = [], [pid]
    while todo:
        current = todo.pop()
        if current in skip:
            continue
        found.append(current)
        todo.extend(procstat.children(current))
    return found


class Storm:
    """The stack, the presenter and the attendee processes of one run."""

    def __init__(
        self,
        attendees: int,
        spread: float,
        media_timeout: float,
        answer_pli: bool,
        settings: dict[str, str] | None = None,
    ):
        self.n = attendees
        self.answer_pli = answer_pli
        self.spread = spread
        self.media_timeout = media_timeout
        self.run_dir = Path(tempfile.mkdtemp(prefix='podium-join-storm-'))
        ports = Ports.free()
        # No TWILIO_* settings: the stack picks the local backend, own credentials.
        self.stack = Stack(
            {
                'PODIUM_PUBLIC_URL': f'http://127.0.0.1:{ports.http}',
                'PODIUM_GRACEFUL_TIMEOUT': '3',
                'PODIUM_SECRET_KEY': secrets.token_urlsafe(32),
                **(settings or {}),
            },
            self.run_dir,
            ports,
        )
        self.clients: list[Child] = []
        self.presenter: Child | None = None
        self.pids: dict[str, list[int]] = {}

    def _client(self, name: str, role: str, settings: dict) -> Child:
        child = Child.client(name, role, settings, self.run_dir)
        self.clients.append(child)
        return child

    def start(self) -> dict:
        """Stack, presentation, presenter; return the presentation."""
        self.stack.start()
        http = httpx.Client(base_url=self.stack.url, timeout=15)
        try:
            response = http.post('/api/presentations', json={'title': 'Join storm'})
            response.raise_for_status()
            presentation = response.json()
            path = f'/api/presentations/{presentation["id"]}'
            # What the presenter page does on Start: a presenter token, then connect.
            response = http.post(
                f'{path}/tokens',
                json={'role': 'presenter', 'key': presentation['presenter_key']},
            )
            response.raise_for_status()
            token = response.json()
            self.presenter = self._client(
                'presenter',
                'presenter',
                {
                    'signal_url': token['signal_url'],
                    'token': token['token'],
                    'fps': FPS,
                    'video_bitrate': VIDEO_BITRATE,
                    'answer_pli': self.answer_pli,
                },
            )
            self.presenter.expect('ready', READY_TIMEOUT)
            # The page sets the presenter's rules too (exclude-all; not fatal there).
            http.post(
                f'{path}/subscribe-rules',
                json={},
                headers={'Authorization': f'Bearer {token["token"]}'},
            )
        finally:
            http.close()
        return presentation

    def start_attendees(self, presentation_id: str, seed: int | None) -> None:
        rng = random.Random(seed)
        offsets = [rng.uniform(0, self.spread) for _ in range(self.n)]
        processes = math.ceil(self.n / PER_PROCESS)
        for p in range(processes):
            # Round robin: every process has presses all over the window.
            members = [
                {'index': i, 'offset': offsets[i]} for i in range(p, self.n, processes)
            ]
            self._client(
                f'attendees-{p}',
                'storm',
                {
                    'base_url': self.stack.url,
                    'presentation_id': presentation_id,
                    'members': members,
                    'media_timeout': self.media_timeout,
                },
            )
        for child in self.attendee_processes:
            child.expect('ready', READY_TIMEOUT)

    @property
    def attendee_processes(self) -> list[Child]:
        return [c for c in self.clients if c is not self.presenter]

    def find_pids(self) -> None:
        local_video = self.stack.process('local_video').pid
        janus = procstat.children(local_video, 'janus')
        if len(janus) != 1:
            raise RuntimeError(f'expected one janus child, found {janus}')
        for name in PARTS:
            if name == 'janus':
                self.pids[name] = _tree(janus[0])
            elif name == 'local_video':
                self.pids[name] = _tree(local_video, skip=set(janus))
            else:
                self.pids[name] = _tree(self.stack.process(name).pid)
        self.pids['presenter'] = [self.presenter.pid]
        self.pids['attendee processes'] = [c.pid for c in self.attendee_processes]

    def cpu_reading(self) -> dict:
        return {
            'time': time.monotonic(),
            'parts': {
                name: sum(procstat.cpu_seconds(pid) for pid in pids)
                for name, pids in self.pids.items()
            },
            'machine': procstat.machine_seconds(),
            'udp_drops': procstat.udp_receive_drops(),
        }

    def key_frame_requests(self) -> dict:
        self.presenter.send('snap')
        streams = self.presenter.expect('snap', 30)['streams']
        return {name: s['key_frame_requests'] for name, s in streams.items()}

    def go(self) -> tuple[list[dict], dict, dict]:
        """Press Join everywhere; return results, storm CPU and steady CPU."""
        epoch = time.time() + 1.0
        for child in self.attendee_processes:
            child.send(f'go {epoch}')
        time.sleep(max(epoch - time.time(), 0))
        before = self.cpu_reading()
        results = []
        wait = self.spread + self.media_timeout + 30
        for child in self.attendee_processes:
            results += child.expect('done', wait)['results']
        after = self.cpu_reading()
        time.sleep(STEADY_SETTLE)
        steady0 = self.cpu_reading()
        time.sleep(STEADY_WINDOW)
        steady1 = self.cpu_reading()
        return results, cpu_pct(before, after), cpu_pct(steady0, steady1)

    def close(self) -> None:
        for child in reversed(self.clients):
            child.stop()
        self.stack.stop()


def run(
    attendees: int = DEFAULT_ATTENDEES,
    spread: float = DEFAULT_SPREAD,
    *,
    media_timeout: float = MEDIA_TIMEOUT,
    seed: int | None = None,
    keep_logs: bool = False,
    answer_pli: bool = True,
    settings: dict[str, str] | None = None,
) -> dict:
    """One storm of `attendees` joins over `spread` s; return the results."""
    if attendees < 1 or spread < 0:
        raise ValueError('attendees must be at least 1 and spread not negative')
    for binary in ('janus', 'nginx', 'redis-server'):
        if shutil.which(binary) is None:
            raise RuntimeError(f'{binary} is not installed')
    load_before = [round(v, 2) for v in os.getloadavg()]
    storm = Storm(attendees, spread, media_timeout, answer_pli, settings)
    ok = False
    try:
        presentation = storm.start()
        storm.start_attendees(presentation['id'], seed)
        storm.find_pids()
        results, storm_cpu, steady_cpu = storm.go()
        key_frame_requests = storm.key_frame_requests()
        ok = True
    finally:
        storm.close()
        if keep_logs or not ok:
            print(f'logs kept in {storm.run_dir}', file=sys.stderr)
        else:
            shutil.rmtree(storm.run_dir, ignore_errors=True)  # Janus's secrets
    return {
        'conditions': {
            'attendees': attendees,
            'spread_s': spread,
            'attendee_processes': math.ceil(attendees / PER_PROCESS),
            'media_timeout_s': media_timeout,
            'loadavg_before': load_before,
            'loadavg_after': [round(v, 2) for v in os.getloadavg()],
            'cores': os.cpu_count(),
            'commit': _commit(),
            'presenter': f'aiortc, camera + screen pre-encoded 720p VP8 {FPS} fps '
            f'~{VIDEO_BITRATE // 1000} kbps each (key frame every 2 s) + Opus',
            'path': 'all HTTP and signalling through nginx; media Janus <-> aiortc',
            'presenter_answers_pli': answer_pli,
            'settings': dict(settings or {}),
        },
        'presenter_key_frame_requests': key_frame_requests,
        'joins': summarize_joins(results),
        'cpu_storm_pct': storm_cpu,
        'cpu_steady_pct': steady_cpu,
        'failures': [r for r in results if r.get('error')][:10],
        # Every attendee's times, by index (press order is by offset, not index).
        'per_attendee': sorted(results, key=lambda r: r['index']),
    }


def _commit() -> str:
    try:
        return subprocess.run(
            ['git', 'rev-parse', '--short', 'HEAD'],
            capture_output=True,
            text=True,
            cwd=Path(__file__).resolve().parent,
            check=True,
        ).stdout.strip()
    except (OSError, subprocess.CalledProcessError):
        return 'unknown'


def table(report: dict) -> str:
    """Markdown: the steps' times, then CPU per part."""
    joins = report['joins']
    lines = [
        f'N={report["conditions"]["attendees"]}, spread '
        f'{report["conditions"]["spread_s"]} s: {joins["reached_media"]} reached '
        f'media, {joins["refused"]} refused {joins["refused_by_reason"] or ""}; '
        f'subscribe-rules answers {joins["subscribe_rules_statuses"]}, '
        f'{joins["subscribe_rules_retried"]} attendees retried',
        '',
        '| step (ms) | n | p50 | p95 | max |',
        '|---|---|---|---|---|',
    ]
    for key, label in STEPS:
        s = joins['steps'][key]
        lines.append(f'| {label} | {s["n"]} | {s["p50"]} | {s["p95"]} | {s["max"]} |')
    lines += ['', '| CPU, % of a core | storm | steady |', '|---|---|---|']
    for name, value in report['cpu_storm_pct'].items():
        lines.append(f'| {name} | {value} | {report["cpu_steady_pct"].get(name)} |')
    return '\n'.join(lines)


def main(argv: list[str] | None = None) -> None:
    parser = argparse.ArgumentParser(description=__doc__.split('\n\n')[0])
    parser.add_argument('--attendees', type=int, default=DEFAULT_ATTENDEES)
    parser.add_argument(
        '--spread', type=float, default=DEFAULT_SPREAD, help='seconds of presses'
    )
    parser.add_argument('--media-timeout', type=float, default=MEDIA_TIMEOUT)
    parser.add_argument('--seed', type=int, help='seed of the press moments')
    parser.add_argument('--json', help='also write the results to this file')
    parser.add_argument('--keep-logs', action='store_true')
    parser.add_argument(
        '--ignore-pli',
        action='store_true',
        help='presenter ignores key frame requests (key frames every 2 s only)',
    )
    parser.add_argument(
        '--setting',
        action='append',
        default=[],
        metavar='NAME=VALUE',
        help='a Podium setting for the stack, e.g. '
        'PODIUM_RATE_LIMIT_SUBSCRIBE_RULES_PER_PRESENTATION=0',
    )
    args = parser.parse_args(argv)
    settings = dict(item.partition('=')[::2] for item in args.setting)
    report = run(
        args.attendees,
        args.spread,
        media_timeout=args.media_timeout,
        seed=args.seed,
        keep_logs=args.keep_logs,
        answer_pli=not args.ignore_pli,
        settings=settings,
    )
    print_report(report, table(report), args.json)


if __name__ == '__main__':
    main()
