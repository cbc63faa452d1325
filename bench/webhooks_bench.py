"""Webhooks: signed callbacks applied per second per worker, and a join storm.

`webhooks.asgi:app` under `deploy/gunicorn/webhooks.conf.py` (uvicorn workers,
access log and per-callback log line on) with PODIUM_WEBHOOKS_WORKERS=1, on a
real redis-server. Every request carries a distinct, correctly signed callback
that changes stored state (no "already known" shortcuts): the full path of
read form, check signature, compare-and-set merge (one EVALSHA), PUBLISH.
"""

from __future__ import annotations

import json
import random
import subprocess
import sys
import time

from bench import loadgen, procs, wrk
from bench.callbacks import Room, Signer
from bench.settings import Context
from bench.stats import median, summary
from podium import store as store_keys
from podium.config import WEBHOOK_PATH
from podium.store import Store

STORM_ATTENDEES = 2000  # one participant-connected each
STORM_CONCURRENCY = 200  # callbacks in flight at once during the storm
STORM_TIMEOUT = 60.0
# Distinct callbacks prepared per second of a wrk run. A faster server would
# wrap around and resend (cheaper, "already known") callbacks; the result's
# stored_participants (= requests when none repeat) shows it.
POOL_RATE = 10_000


def start_webhooks(ctx: Context, name: str, workers: int | None, args=()) -> tuple:
    port = procs.free_port()
    extra = {'PODIUM_WEBHOOKS_PORT': str(port)}
    if workers:
        extra['PODIUM_WEBHOOKS_WORKERS'] = str(workers)
    proc = procs.gunicorn(
        name,
        'webhooks.asgi:app',
        ctx.work_dir,
        procs.base_env(ctx.podium_env(**extra)),
        conf='webhooks.conf.py',
        args=list(args),
    ).start()
    procs.ready(proc, f'http://127.0.0.1:{port}/webhooks/healthz')
    return proc, port


class Presentations:
    """Fresh presentations (and rooms) in the store, one per measurement."""

    def __init__(self, store: Store, account_sid: str):
        self._store = store
        self._account_sid = account_sid
        self._count = 0

    def new(self) -> Room:
        self._count += 1
        presentation_id = f'bench{int(time.time())}x{self._count}'
        self._store.create_presentation(
            {'id': presentation_id, 'title': 'Bench', 'created_at': '0'}
        )
        room = Room(presentation_id, self._account_sid)
        self._store.set_room(presentation_id, room.sid, int(time.time() * 1000))
        return room


def write_lines(ctx: Context, signer: Signer, room: Room, count: int) -> str:
    """Write `count` distinct signed callbacks for wrk; return the file's path."""
    forms = room.join_callbacks(count, int(time.time() * 1000))
    path = ctx.work_dir / f'callbacks-{room.presentation_id}.txt'
    with open(path, 'w') as f:
        for form in forms:
            signature, body = signer.sign(form)
            f.write(f'{signature}\t{body}\n')
    return str(path)


def run(ctx: Context, on_step=print) -> dict:
    mode = ctx.mode
    store = Store.from_url(ctx.redis_url)
    rooms = Presentations(store, ctx.credentials.account_sid)
    signer = Signer(ctx.credentials.auth_token)
    servers = {'ours': start_webhooks(ctx, 'webhooks', 1)}
    try:
        # max_requests=5000 recycles the only worker every few seconds here.
        servers['ours_no_recycle'] = start_webhooks(
            ctx, 'webhooks_no_recycle', 1, ['--max-requests', '0']
        )
        # Enough distinct callbacks that no run repeats one (see POOL_RATE).
        pool = int(POOL_RATE * (mode.duration + 1))
        throughput = []
        for threads, conns in mode.webhook_wrk:
            runs = {name: [] for name in servers}
            for rep in range(mode.repeats):
                for name, (proc, port) in servers.items():
                    on_step(f'webhooks: wrk -t{threads} -c{conns} {name} #{rep + 1}')
                    room = rooms.new()
                    lines = write_lines(ctx, signer, room, pool)
                    result = wrk.run(
                        f'http://127.0.0.1:{port}{WEBHOOK_PATH}',
                        'post_signed_forms.lua',
                        threads=threads,
                        connections=conns,
                        duration=mode.duration,
                        env={'WRK_LINES': lines, 'WRK_PATH': WEBHOOK_PATH},
                        server_pid=proc.pid,
                    )
                    result['stored_participants'] = len(
                        store.client.keys(store_keys.participant_key(room.sid, '*'))
                    )
                    runs[name].append(result)
            throughput.append(summarise_wrk(threads, conns, runs))

        fixed = []
        proc, port = servers['ours']
        for rate in mode.webhook_rates:
            results = []
            for rep in range(mode.rate_repeats):
                on_step(f'webhooks: {rate} callbacks/s #{rep + 1}')
                room = rooms.new()
                count = int(rate * (mode.rate_duration + 2))
                forms = room.join_callbacks(count, int(time.time() * 1000))
                requests = [signer.raw_request(f) for f in forms]
                results.append(
                    loadgen.run_fixed_rate(
                        '127.0.0.1',
                        port,
                        requests,
                        rate=rate,
                        duration=mode.rate_duration,
                        max_connections=64,
                        work_dir=ctx.work_dir,
                    )
                )
            fixed.append(
                {
                    'rate': rate,
                    'p50_ms': median([r['latency_ms']['p50'] for r in results]),
                    'p99_ms': median([r['latency_ms']['p99'] for r in results]),
                    'p999_ms': median([r['latency_ms']['p999'] for r in results]),
                    'ok': sum(r['ok'] for r in results),
                    'sent': sum(r['sent'] for r in results),
                    'unfinished': sum(r['unfinished'] for r in results),
                    'client_lag_p99_ms': median(
                        [r['send_lag_ms']['p99'] for r in results]
                    ),
                    'statuses': [r['statuses'] for r in results],
                    'errors': [r['errors'] for r in results],
                }
            )

        storms = []
        for rep in range(mode.storm_repeats):
            on_step(f'webhooks: join storm, 1 worker #{rep + 1}')
            storms.append(join_storm(ctx, store, rooms, signer, port, workers=1))
    finally:
        for proc, _ in servers.values():
            proc.stop()

    if mode.storm_default_workers:
        proc, port = start_webhooks(ctx, 'webhooks_default', None)
        workers = len(procs.children_of(proc.pid))
        try:
            for rep in range(mode.storm_repeats):
                on_step(f'webhooks: join storm, {workers} workers #{rep + 1}')
                storms.append(
                    join_storm(ctx, store, rooms, signer, port, workers=workers)
                )
        finally:
            proc.stop()

    names = list(servers)
    best = {name: max(t[name]['rps_median'] for t in throughput) for name in names}
    cpu = {
        name: median([t[name]['cpu_ms_per_request'] for t in throughput])
        for name in names
    }
    storm_1 = [s['correct_s'] for s in storms if s['workers'] == 1]
    return {
        'conditions': {
            'ours': 'gunicorn -c deploy/gunicorn/webhooks.conf.py (uvicorn worker, '
            'PODIUM_WEBHOOKS_WORKERS=1, access log + one log line per callback, '
            'max_requests 50000)',
            'ours_no_recycle': 'ours with --max-requests 0',
            'storm': f'{STORM_ATTENDEES} participant-connected for one presentation, '
            f'shuffled, {STORM_CONCURRENCY} in flight, a new connection each',
        },
        'throughput': throughput,
        'fixed_rate': fixed,
        'storms': storms,
        'max_rps': best,
        'cpu_ms_per_request': cpu,
        'storm_correct_s_median_1_worker': median(storm_1),
    }


def summarise_wrk(threads: int, conns: int, runs: dict[str, list[dict]]) -> dict:
    row = {'threads': threads, 'connections': conns}
    for name, results in runs.items():
        row[name] = {
            'rps_median': median([r['ok_rps'] for r in results]),
            'rps_runs': [round(r['ok_rps'], 1) for r in results],
            'p50_ms': median([r['latency_ms']['p50'] for r in results]),
            'p99_ms': median([r['latency_ms']['p99'] for r in results]),
            'errors': sum(r['error_count'] for r in results),
            'cpu_ms_per_request': median(
                [r.get('cpu_ms_per_request') or 0 for r in results]
            ),
            'stored_participants': [r['stored_participants'] for r in results],
        }
    return row


def storm_done(store: Store, room: Room, attendees: int) -> bool:
    """Return whether the stored state shows every attendee, connected."""
    view = store.read_view(room.presentation_id)
    if view is None or view['attendees']['count'] != attendees:
        return False
    records = store.connected_attendees(room.sid)
    return len(records) == attendees and all(r['connected_at'] for r in records)


def join_storm(
    ctx: Context, store: Store, rooms: Presentations, signer: Signer, port: int,
    *, workers: int,
) -> dict:  # fmt: skip
    """Fire the storm; return the time until the stored view is final and correct."""
    room = rooms.new()
    forms = room.join_callbacks(STORM_ATTENDEES, int(time.time() * 1000))
    random.shuffle(forms)  # Twilio promises no order
    spec = {
        'host': '127.0.0.1',
        'port': port,
        'requests': [signer.raw_request(f) for f in forms],
        'concurrency': STORM_CONCURRENCY,
    }
    path = ctx.work_dir / f'storm-{room.presentation_id}.json'
    path.write_text(json.dumps(spec))
    sender = subprocess.Popen(
        [sys.executable, '-m', 'bench.blast', str(path)],
        cwd=procs.ROOT,
        stdin=subprocess.PIPE,
        stdout=subprocess.PIPE,
        text=True,
    )
    try:
        if sender.stdout.readline().strip() != 'ready':
            raise RuntimeError('the storm sender did not start')
        polls = []
        start = time.monotonic()
        sender.stdin.write('go\n')
        sender.stdin.flush()
        correct_at = None
        while time.monotonic() - start < STORM_TIMEOUT:
            began = time.monotonic()
            done = storm_done(store, room, STORM_ATTENDEES)
            polls.append((time.monotonic() - began) * 1000)
            if done:
                correct_at = time.monotonic()
                break
            time.sleep(0.005)
        result = json.loads(sender.communicate(timeout=STORM_TIMEOUT)[0])
    finally:
        if sender.poll() is None:
            sender.kill()
            sender.wait()
    return {
        'workers': workers,
        'callbacks': len(forms),
        'correct_s': None if correct_at is None else correct_at - start,
        'all_answered_s': result['last_answer'] - start,
        'statuses': result['statuses'],
        'errors': result['errors'],
        'callback_latency_ms': result['latency_ms'],
        'poll_ms': summary(polls),
        'final_view_attendees': (store.read_view(room.presentation_id) or {})
        .get('attendees', {})
        .get('count'),
    }
