"""Open-loop HTTP load at a fixed rate: `python -m bench.loadgen SPEC.json`.

wrk2 (fixed-rate wrk) is not packaged in Debian, and plain wrk is closed-loop: a
slow answer delays the next request, which hides queueing ("coordinated
omission"). Here request i is due at start + i/rate whatever happened before, and
its latency is measured from when it was DUE, so time spent waiting for a free
connection or behind a slow response counts.

SPEC is a JSON file: {"host", "port", "requests": [raw HTTP/1.1 request text, ...],
"rate", "duration", "warmup", "max_connections"}. Requests are sent in turn,
cycling. The result is one JSON object on stdout; latencies in milliseconds.
`send_lag_ms` is how late this client itself was in sending: if its p99 is not
far below the latency p99, the client, not the server, limited the run.
"""

from __future__ import annotations

import asyncio
import collections
import json
import subprocess
import sys
import time
from pathlib import Path

from bench.stats import summary


class Connection:
    def __init__(self, reader: asyncio.StreamReader, writer: asyncio.StreamWriter):
        self.reader = reader
        self.writer = writer

    def close(self) -> None:
        self.writer.close()


async def connect(host: str, port: int) -> Connection:
    reader, writer = await asyncio.open_connection(host, port)
    return Connection(reader, writer)


async def roundtrip(conn: Connection, request: bytes) -> tuple[int, bool]:
    """Send one request; return (status, whether the connection can be reused)."""
    conn.writer.write(request)
    head = await conn.reader.readuntil(b'\r\n\r\n')
    lines = head.decode('latin-1').split('\r\n')
    version, status = lines[0].split(' ', 2)[:2]
    headers = {}
    for line in lines[1:]:
        if ':' in line:
            name, value = line.split(':', 1)
            headers[name.strip().lower()] = value.strip().lower()
    if 'content-length' in headers:
        await conn.reader.readexactly(int(headers['content-length']))
    elif headers.get('transfer-encoding') == 'chunked':
        while True:
            size = int((await conn.reader.readuntil(b'\r\n')).split(b';')[0], 16)
            await conn.reader.readexactly(size + 2)
            if size == 0:
                break
    elif int(status) not in (204, 304):
        await conn.reader.read()  # body until close
        return int(status), False
    keep = version == 'HTTP/1.1' and headers.get('connection') != 'close'
    return int(status), keep


async def open_loop(spec: dict) -> dict:
    loop = asyncio.get_running_loop()
    host, port = spec['host'], int(spec['port'])
    requests = [r.encode('latin-1') for r in spec['requests']]
    rate = float(spec['rate'])
    warmup = float(spec.get('warmup', 1.0))
    duration = float(spec['duration'])
    max_connections = int(spec.get('max_connections', 256))

    # A slot is the right to hold a connection; idle ones wait for reuse.
    slots = asyncio.Semaphore(max_connections)
    idle: list[Connection] = []
    latencies: list[float] = []
    lags: list[float] = []
    statuses: collections.Counter[int] = collections.Counter()
    errors: collections.Counter[str] = collections.Counter()
    # loop.time() has millisecond resolution under uvloop; latencies need better.
    clock = time.monotonic
    start = clock() + 0.05
    measured_from = start + warmup

    async def one(index: int, due: float) -> None:
        conn = None
        async with slots:
            try:
                conn = idle.pop() if idle else await connect(host, port)
                status, keep = await roundtrip(conn, requests[index % len(requests)])
                finished = clock()
                if keep:
                    idle.append(conn)
                else:
                    conn.close()
                conn = None
                if due >= measured_from:
                    statuses[status] += 1
                    if 200 <= status < 300:
                        latencies.append((finished - due) * 1000)
            except Exception as ex:  # a failed request is a result, not a crash
                if due >= measured_from:
                    errors[type(ex).__name__] += 1
                if conn is not None:
                    conn.close()

    total = int(rate * (warmup + duration))
    tasks = set()
    for index in range(total):
        due = start + index / rate
        delay = due - clock()
        if delay > 0:
            await asyncio.sleep(delay)
        if due >= measured_from:
            lags.append(max(0.0, clock() - due) * 1000)
        task = loop.create_task(one(index, due))
        tasks.add(task)
        task.add_done_callback(tasks.discard)
    sent_until = clock()
    if tasks:
        await asyncio.wait(set(tasks), timeout=30)
    measured = sum(statuses.values()) + sum(errors.values())
    return {
        'rate': rate,
        'duration': duration,
        'sent': measured,
        'ok': len(latencies),
        'achieved_send_rate': measured / max(sent_until - measured_from, 1e-9),
        'statuses': {str(k): v for k, v in sorted(statuses.items())},
        'errors': dict(errors),
        'unfinished': len(tasks),
        'latency_ms': summary(latencies),
        'send_lag_ms': summary(lags),
    }


def run_fixed_rate(
    host: str,
    port: int,
    requests: list[str],
    *,
    rate: float,
    duration: float,
    warmup: float = 1.0,
    max_connections: int = 256,
    work_dir: Path,
) -> dict:
    """Run the generator in a child process (its own GIL); return its result."""
    spec = {
        'host': host,
        'port': port,
        'requests': requests,
        'rate': rate,
        'duration': duration,
        'warmup': warmup,
        'max_connections': max_connections,
    }
    path = work_dir / f'loadgen-{port}-{int(rate)}.json'
    path.write_text(json.dumps(spec))
    done = subprocess.run(
        [sys.executable, '-m', 'bench.loadgen', str(path)],
        cwd=Path(__file__).resolve().parent.parent,
        capture_output=True,
        text=True,
        timeout=warmup + duration + 90,
    )
    if done.returncode != 0:
        raise RuntimeError(f'loadgen failed:\n{done.stderr}')
    return json.loads(done.stdout)


def http_request(method: str, path: str, headers: dict[str, str], body: str) -> str:
    """Return the raw text of one HTTP/1.1 request to 127.0.0.1."""
    lines = [f'{method} {path} HTTP/1.1', 'Host: 127.0.0.1']
    lines += [f'{k}: {v}' for k, v in headers.items()]
    lines.append(f'Content-Length: {len(body.encode())}')
    return '\r\n'.join(lines) + '\r\n\r\n' + body


def main(argv: list[str]) -> int:
    with open(argv[0]) as f:
        spec = json.load(f)
    try:
        import uvloop  # a cheaper client leaves more of the CPU to the server
    except ImportError:
        result = asyncio.run(open_loop(spec))
    else:
        result = uvloop.run(open_loop(spec))
    json.dump(result, sys.stdout)
    sys.stdout.write('\n')
    return 0


if __name__ == '__main__':
    sys.exit(main(sys.argv[1:]))
