"""Run wrk (closed loop: each connection sends as soon as it has an answer)."""

from __future__ import annotations

import json
import os
import shutil
import subprocess
from pathlib import Path

from bench import procs

LUA_DIR = Path(__file__).resolve().parent / 'lua'


def available() -> bool:
    return shutil.which('wrk') is not None


def parse(output: str) -> dict:
    """Return the WRKJSON line of a wrk run as a dict, with derived rates."""
    for line in output.splitlines():
        if line.startswith('WRKJSON '):
            data = json.loads(line[len('WRKJSON ') :])
            break
    else:
        raise RuntimeError(f'wrk printed no WRKJSON line:\n{output}')
    seconds = data['duration_us'] / 1e6
    errors = sum(data['errors'].values())
    ok = max(data['requests'] - data['errors']['status'], 0)
    data['rps'] = data['requests'] / seconds if seconds else 0.0
    data['ok_rps'] = ok / seconds if seconds else 0.0
    data['error_count'] = errors
    data['latency_ms'] = {k: v / 1000 for k, v in data.pop('latency_us').items()}
    return data


def run(
    url: str,
    script: str,
    *,
    threads: int,
    connections: int,
    duration: float,
    env: dict[str, str] | None = None,
    timeout_s: int = 5,
    server_pid: int | None = None,
) -> dict:
    """Run wrk once against `url` with one of bench/lua's scripts; return parse().

    With `server_pid` (a gunicorn master), also report the server's CPU time per
    request, which a busy machine disturbs far less than requests per second.
    """
    if not available():
        raise RuntimeError('wrk is not installed: apt-get install -y wrk')
    argv = [
        'wrk',
        f'-t{threads}',
        f'-c{max(connections, threads)}',
        f'-d{max(1, round(duration))}s',
        f'--timeout={timeout_s}s',
        '--latency',
        '-s',
        str(LUA_DIR / script),
        url,
    ]
    child_env = {
        **os.environ,
        'WRK_LUA_DIR': str(LUA_DIR),
        'WRK_THREADS': str(threads),
        **(env or {}),
    }
    cpu_before = procs.group_cpu_seconds(server_pid) if server_pid else None
    done = subprocess.run(
        argv, env=child_env, capture_output=True, text=True, timeout=duration + 60
    )
    if done.returncode != 0:
        raise RuntimeError(f'wrk failed ({done.returncode}):\n{done.stderr}')
    result = parse(done.stdout)
    result['threads'] = threads
    result['connections'] = max(connections, threads)
    if cpu_before is not None:
        cpu = procs.group_cpu_seconds(server_pid) - cpu_before
        result['server_cpu_s'] = cpu
        result['cpu_ms_per_request'] = (
            cpu * 1000 / result['requests'] if result['requests'] else None
        )
    return result
