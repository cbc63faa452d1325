"""Token service vs. a minimal Flask baseline, one gunicorn worker each, side by side.

Ours: `token_service.asgi:app` with `deploy/gunicorn/token_service.conf.py`
(its worker class, threads, logging and max_requests) and PODIUM_TOKEN_WORKERS=1,
on a real redis-server, the room already ensured against tests/fake_twilio.py, so
each request is: read the presentation, check the cached room, sign a token.
Baseline: `bench/baseline_flask_token.py` under gunicorn, 1 sync worker, access
log on like ours.
"""

from __future__ import annotations

import json
import urllib.request

from bench import loadgen, procs, wrk
from bench.settings import Context
from bench.stats import median
from tests.fake_twilio import FakeTwilio

BODY = json.dumps({'role': 'attendee'})


def post_json(url: str, body: dict) -> dict:
    req = urllib.request.Request(
        url,
        data=json.dumps(body).encode(),
        headers={'Content-Type': 'application/json'},
        method='POST',
    )
    with urllib.request.urlopen(req, timeout=10) as resp:
        return json.loads(resp.read())


def start_ours(ctx: Context, fake_url: str, name: str, args=()) -> tuple:
    port = procs.free_port()
    proc = procs.gunicorn(
        name,
        'token_service.asgi:app',
        ctx.work_dir,
        procs.base_env(
            ctx.podium_env(
                PODIUM_TOKEN_PORT=str(port),
                PODIUM_TOKEN_WORKERS='1',
                PODIUM_VIDEO_API_URL=fake_url,
            )
        ),
        conf='token_service.conf.py',
        args=list(args),
    ).start()
    procs.ready(proc, f'http://127.0.0.1:{port}/api/healthz')
    return proc, port


def start_servers(ctx: Context, fake_url: str) -> dict:
    """Start ours (as deployed, and without worker recycling) and the baseline.

    Return {name: (proc, port)}.
    """
    log_dir = ctx.work_dir
    servers = {'ours': start_ours(ctx, fake_url, 'token_service')}
    try:
        # max_requests=2000 recycles the only worker every ~2 s at full load;
        # this variant shows what the app costs without those restarts.
        servers['ours_no_recycle'] = start_ours(
            ctx, fake_url, 'token_service_no_recycle', ['--max-requests', '0']
        )
    except BaseException:
        servers['ours'][0].stop()
        raise
    base_port = procs.free_port()
    baseline = procs.gunicorn(
        'baseline_flask',
        'bench.baseline_flask_token:app',
        log_dir,
        procs.base_env(ctx.credentials.env()),
        args=[
            '-w', '1', '-k', 'sync', '-b', f'127.0.0.1:{base_port}',
            '--access-logfile', '-', '--no-control-socket',
        ],
    ).start()  # fmt: skip
    servers['baseline'] = (baseline, base_port)
    try:
        procs.wait_port(base_port)
    except BaseException:
        for proc, _ in servers.values():
            proc.stop()
        raise
    return servers


def run(ctx: Context, on_step=print) -> dict:
    mode = ctx.mode
    creds = ctx.credentials
    with FakeTwilio(creds.account_sid, creds.api_key_sid, creds.api_key_secret) as fake:
        servers = start_servers(ctx, fake.url)
        try:
            ours_port = servers['ours'][1]
            created = post_json(
                f'http://127.0.0.1:{ours_port}/api/presentations', {'title': 'Bench'}
            )
            pid = created['id']
            token_path = f'/api/presentations/{pid}/tokens'
            # The first token ensures the room (one Rooms API round trip); every
            # later one within PODIUM_ROOM_CHECK_INTERVAL uses the cached check.
            post_json(f'http://127.0.0.1:{ours_port}{token_path}', {'role': 'attendee'})
            rooms_calls_before = len(fake.requests)
            paths = {
                'ours': token_path,
                'ours_no_recycle': token_path,
                'baseline': '/token',
            }
            ports = {name: port for name, (_, port) in servers.items()}
            pids = {name: proc.pid for name, (proc, _) in servers.items()}
            for name in paths:  # warm both (imports, first connections)
                wrk.run(
                    f'http://127.0.0.1:{ports[name]}{paths[name]}',
                    'post_json.lua',
                    threads=1,
                    connections=4,
                    duration=1,
                    env={'WRK_BODY': BODY},
                )

            throughput = []
            for threads, conns in mode.token_wrk:
                runs = {name: [] for name in paths}
                for rep in range(mode.repeats):
                    for name in paths:
                        on_step(f'token: wrk -t{threads} -c{conns} {name} #{rep + 1}')
                        runs[name].append(
                            wrk.run(
                                f'http://127.0.0.1:{ports[name]}{paths[name]}',
                                'post_json.lua',
                                threads=threads,
                                connections=conns,
                                duration=mode.duration,
                                env={'WRK_BODY': BODY},
                                server_pid=pids[name],
                            )
                        )
                throughput.append(summarise_wrk(threads, conns, runs))

            fixed = []
            for rate in mode.token_rates:
                runs = {'ours': [], 'baseline': []}
                for rep in range(mode.rate_repeats):
                    for name in runs:
                        on_step(f'token: {rate} req/s {name} #{rep + 1}')
                        runs[name].append(
                            loadgen.run_fixed_rate(
                                '127.0.0.1',
                                ports[name],
                                audience_requests(paths[name], rate, mode),
                                rate=rate,
                                duration=mode.rate_duration,
                                max_connections=64,
                                work_dir=ctx.work_dir,
                            )
                        )
                fixed.append(summarise_fixed(rate, runs))
            rooms_calls = len(fake.requests) - rooms_calls_before
        finally:
            for proc, _ in servers.values():
                proc.stop()

    names = ('ours', 'ours_no_recycle', 'baseline')
    best = {name: max(t[name]['rps_median'] for t in throughput) for name in names}
    cpu = {
        name: median([t[name]['cpu_ms_per_request'] for t in throughput])
        for name in names
    }
    return {
        'conditions': {
            'ours': 'gunicorn -c deploy/gunicorn/token_service.conf.py '
            '(uvicorn worker, PODIUM_TOKEN_WORKERS=1, access log on, '
            'max_requests 20000)',
            'baseline': 'gunicorn -w 1 -k sync --access-logfile - '
            'bench.baseline_flask_token:app',
            'ours_no_recycle': 'ours with --max-requests 0',
            'request': f'POST /api/presentations/<id>/tokens {BODY}, each from '
            'another X-Forwarded-For address (the per-client rate limit stays on)',
            'rooms_api_calls_during_bench': rooms_calls,
        },
        'throughput': throughput,
        'fixed_rate': fixed,
        'max_rps': best,
        'ratio': best['ours'] / best['baseline'] if best['baseline'] else None,
        'cpu_ms_per_request': cpu,
        'cpu_ratio': cpu['baseline'] / cpu['ours_no_recycle']
        if cpu['ours_no_recycle']
        else None,
    }


def audience_requests(path: str, rate: int, mode) -> list[str]:
    """Return token requests from distinct client addresses, one per request.

    The token service limits tokens per client address (X-Forwarded-For from
    nginx on loopback); an audience joining is many clients, not one.
    """
    count = int(rate * (mode.rate_duration + 1)) + 1
    return [
        loadgen.http_request(
            'POST',
            path,
            {
                'Content-Type': 'application/json',
                'X-Forwarded-For': f'10.{i >> 16 & 255}.{i >> 8 & 255}.{i & 255}',
            },
            BODY,
        )
        for i in range(count)
    ]


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
                [
                    r['cpu_ms_per_request']
                    for r in results
                    if r.get('cpu_ms_per_request')
                ]
            ),
        }
    row['ratio'] = (
        row['ours']['rps_median'] / row['baseline']['rps_median']
        if row['baseline']['rps_median']
        else None
    )
    return row


def summarise_fixed(rate: int, runs: dict[str, list[dict]]) -> dict:
    row = {'rate': rate}
    for name, results in runs.items():
        row[name] = {
            'p50_ms': median([r['latency_ms']['p50'] for r in results]),
            'p99_ms': median([r['latency_ms']['p99'] for r in results]),
            'p999_ms': median([r['latency_ms']['p999'] for r in results]),
            'ok': sum(r['ok'] for r in results),
            'sent': sum(r['sent'] for r in results),
            'unfinished': sum(r['unfinished'] for r in results),
            'client_lag_p99_ms': median([r['send_lag_ms']['p99'] for r in results]),
            'statuses': [r['statuses'] for r in results],
            'errors': [r['errors'] for r in results],
        }
    return row
