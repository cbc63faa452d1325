"""Push to pages: N open SSE streams on one web_service worker, and a state change.

`web_service.asgi:app` under `deploy/gunicorn/web_service.conf.py` (uvicorn
worker) with PODIUM_WEB_WORKERS=1, on a real redis-server. A separate process
(`bench.sse_clients`) holds the streams. For each change this process applies
one callback through `Store.apply_event` (which bumps the version and
publishes), and times until every stream has received that version. The
worker's RSS is read before and after opening the streams.
"""

from __future__ import annotations

import json
import queue
import random
import subprocess
import sys
import threading
import time

from bench import procs
from bench.callbacks import Room, sid
from bench.settings import Context
from bench.stats import summary
from podium import room_state
from podium.store import Store, version_key

WARM_STREAMS = 20  # opened before the baseline RSS, so per-connection is marginal


def start_web(ctx: Context) -> tuple:
    port = procs.free_port()
    proc = procs.gunicorn(
        'web_service',
        'web_service.asgi:app',
        ctx.work_dir,
        procs.base_env(
            ctx.podium_env(PODIUM_WEB_PORT=str(port), PODIUM_WEB_WORKERS='1')
        ),
        conf='web_service.conf.py',
    ).start()
    procs.ready(proc, f'http://127.0.0.1:{port}/live/healthz')
    return proc, port


def state_version(arrival_key: str) -> int | None:
    """Return the version of a `<kind> <version>` arrival key if its kind is state."""
    kind, _, version = arrival_key.partition(' ')
    return int(version) if kind == 'state' else None


class Lines:
    """A child's stdout lines, readable with a timeout."""

    def __init__(self, stream):
        self._queue: queue.Queue[str] = queue.Queue()
        threading.Thread(target=self._pump, args=(stream,), daemon=True).start()

    def _pump(self, stream) -> None:
        for line in stream:
            self._queue.put(line.rstrip('\n'))
        self._queue.put('')

    def next(self, timeout: float) -> str:
        try:
            line = self._queue.get(timeout=timeout)
        except queue.Empty:
            raise TimeoutError(f'SSE clients silent for {timeout} s') from None
        if not line:
            raise RuntimeError('the SSE clients exited')
        return line


def run(ctx: Context, on_step=print) -> dict:
    mode = ctx.mode
    store = Store.from_url(ctx.redis_url)
    presentation_id = f'ssebench{int(time.time())}'
    store.create_presentation(
        {'id': presentation_id, 'title': 'Bench', 'created_at': '0'}
    )
    room = Room(presentation_id, ctx.credentials.account_sid)
    store.set_room(presentation_id, room.sid, int(time.time() * 1000))

    proc, port = start_web(ctx)
    try:
        worker = procs.children_of(proc.pid)[0]
        rss_idle = procs.rss_kib(worker)
        spec = {
            'host': '127.0.0.1',
            'port': port,
            'path': f'/live/presentations/{presentation_id}/events',
            'connections': mode.sse_connections,
            'warm': WARM_STREAMS,
            'open_concurrency': 100,
        }
        spec_path = ctx.work_dir / 'sse-clients.json'
        spec_path.write_text(json.dumps(spec))
        clients = subprocess.Popen(
            [sys.executable, '-m', 'bench.sse_clients', str(spec_path)],
            cwd=procs.ROOT,
            stdin=subprocess.PIPE,
            stdout=subprocess.PIPE,
            text=True,
        )
        lines = Lines(clients.stdout)
        try:
            on_step(f'sse: opening {mode.sse_connections} streams')
            if lines.next(60) != 'warm':
                raise RuntimeError('unexpected answer from the SSE clients')
            time.sleep(0.5)
            rss_warm = procs.rss_kib(worker)
            opened = time.monotonic()
            clients.stdin.write('open\n')
            clients.stdin.flush()
            line = lines.next(180)
            while line.startswith('all '):  # the first events of the last streams
                line = lines.next(180)
            _, connected, errors = line.split()
            open_s = time.monotonic() - opened
            time.sleep(1.0)
            rss_open = procs.rss_kib(worker)

            on_step(f'sse: {mode.sse_changes} state changes')
            applied_at: dict[int, float] = {}
            all_at: dict[int, float] = {}
            for k in range(mode.sse_changes):
                event = room_state.parse_event(
                    room.participant_connected(
                        sid('PA'), f'attendee-{k:016x}', int(time.time() * 1000)
                    )
                )
                start = time.monotonic()
                store.apply_event(event)
                version = int(store.client.get(version_key(presentation_id)))
                applied_at[version] = start
                while version not in all_at:
                    _, kind, got, at = lines.next(15).split()
                    if kind == 'state':
                        all_at[int(got)] = float(at)
                # Off the coalescing window's beat, like real changes.
                time.sleep(0.2 + random.random() * 0.2)
            clients.stdin.write('finish\n')
            clients.stdin.flush()
            result = json.loads(lines.next(60))
        finally:
            if clients.poll() is None:
                clients.kill()
            clients.wait()
    finally:
        proc.stop()

    per_stream = [
        (t - applied_at[version]) * 1000
        for key, times in result['arrivals'].items()
        if (version := state_version(key)) in applied_at
        for t in times
    ]
    until_all = [(all_at[v] - applied_at[v]) * 1000 for v in applied_at]
    n = mode.sse_connections - WARM_STREAMS
    return {
        'conditions': {
            'server': 'gunicorn -c deploy/gunicorn/web_service.conf.py '
            '(uvicorn worker, PODIUM_WEB_WORKERS=1)',
            'streams': mode.sse_connections,
            'changes': mode.sse_changes,
            'change': 'Store.apply_event(participant-connected) in the bench '
            'process; web_service coalesces for 75 ms by design',
        },
        'connected': int(connected),
        'client_errors': result['errors'] or int(errors),
        'open_s': open_s,
        'until_all_ms': summary(until_all),
        'per_stream_ms': summary(per_stream),
        'rss_kib': {'idle': rss_idle, 'warm': rss_warm, 'open': rss_open},
        'kib_per_connection': (rss_open - rss_warm) / n,
    }
