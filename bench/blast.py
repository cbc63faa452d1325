"""Send many HTTP requests at once, on a signal: `python -m bench.blast SPEC.json`.

The join-storm sender. It loads SPEC ({"host", "port", "requests": [raw HTTP
request text], "concurrency"}), opens nothing yet, prints `ready`, waits for a
line on stdin, then sends every request with at most `concurrency` in flight (a
new connection each, as Twilio's callbacks arrive) and prints one JSON line:
CLOCK_MONOTONIC times of the first send and last answer (comparable with the
parent's time.monotonic() on Linux), statuses and latencies in ms.
"""

from __future__ import annotations

import asyncio
import collections
import json
import sys
import time

from bench.loadgen import connect, roundtrip
from bench.stats import summary


async def blast(spec: dict) -> dict:
    host, port = spec['host'], int(spec['port'])
    requests = [r.encode('latin-1') for r in spec['requests']]
    gate = asyncio.Semaphore(int(spec.get('concurrency', 200)))
    statuses: collections.Counter[int] = collections.Counter()
    errors: collections.Counter[str] = collections.Counter()
    latencies: list[float] = []
    last = 0.0

    async def one(request: bytes) -> None:
        nonlocal last
        async with gate:
            began = time.monotonic()
            try:
                conn = await connect(host, port)
                try:
                    status, _ = await roundtrip(conn, request)
                finally:
                    conn.close()
            except Exception as ex:
                errors[type(ex).__name__] += 1
                return
            now = time.monotonic()
            last = max(last, now)
            statuses[status] += 1
            latencies.append((now - began) * 1000)

    sys.stdout.write('ready\n')
    sys.stdout.flush()
    await asyncio.get_running_loop().run_in_executor(None, sys.stdin.readline)
    first = time.monotonic()
    await asyncio.gather(*(one(r) for r in requests))
    return {
        'first_send': first,
        'last_answer': last,
        'elapsed_s': last - first,
        'statuses': {str(k): v for k, v in sorted(statuses.items())},
        'errors': dict(errors),
        'latency_ms': summary(latencies),
    }


def main(argv: list[str]) -> int:
    with open(argv[0]) as f:
        spec = json.load(f)
    result = asyncio.run(blast(spec))
    sys.stdout.write(json.dumps(result) + '\n')
    return 0


if __name__ == '__main__':
    sys.exit(main(sys.argv[1:]))
