"""Hold many Server-Sent Events streams open: `python -m bench.sse_clients SPEC.json`.

Runs in its own process, so the web service's event loop shares nothing with
it. SPEC: {"host", "port", "path", "connections", "warm", "open_concurrency"}.

Talks to its parent over stdin/stdout, one line each:
  -> `warm`                  the first `warm` streams have their first event
  <- any line                open the rest
  -> `connected <n> <errors>` every stream has its first event
  -> `all <version> <t>`     the last stream just received `version`
                             (t: CLOCK_MONOTONIC, comparable with the parent's)
  <- any line                finish: print one JSON line of every arrival, exit
"""

from __future__ import annotations

import asyncio
import collections
import json
import sys
import time


class Streams:
    def __init__(self, spec: dict):
        self.host = spec['host']
        self.port = int(spec['port'])
        self.path = spec['path']
        self.total = int(spec['connections'])
        self.arrivals: dict[int, list[float]] = collections.defaultdict(list)
        self.first_seen = 0
        self.errors: collections.Counter[str] = collections.Counter()
        self._gate = asyncio.Semaphore(int(spec.get('open_concurrency', 100)))
        self._first_events: asyncio.Queue[None] = asyncio.Queue()
        self._tasks: list[asyncio.Task] = []

    def open(self, count: int) -> None:
        loop = asyncio.get_running_loop()
        for _ in range(count):
            self._tasks.append(loop.create_task(self._stream()))

    async def wait_first_events(self, count: int) -> None:
        for _ in range(count):
            await self._first_events.get()

    async def _stream(self) -> None:
        first = True
        try:
            async with self._gate:
                reader, writer = await asyncio.open_connection(self.host, self.port)
                writer.write(
                    f'GET {self.path} HTTP/1.1\r\nHost: 127.0.0.1\r\n'
                    'Accept: text/event-stream\r\n\r\n'.encode()
                )
                head = await reader.readuntil(b'\r\n\r\n')
                if b' 200 ' not in head.split(b'\r\n', 1)[0]:
                    raise RuntimeError(head.split(b'\r\n', 1)[0].decode())
                chunked = b'transfer-encoding: chunked' in head.lower()
                buffer = b''
                # Hold the gate until the first event, so opening is paced.
                while first:
                    buffer = await self._read(reader, buffer, chunked)
                    buffer, first = self._dispatch(buffer, first)
            while True:
                buffer = await self._read(reader, buffer, chunked)
                buffer, _ = self._dispatch(buffer, False)
        except Exception as ex:
            self.errors[type(ex).__name__] += 1
            if first:
                self._first_events.put_nowait(None)

    @staticmethod
    async def _read(reader: asyncio.StreamReader, buffer: bytes, chunked: bool):
        if chunked:
            size = int((await reader.readuntil(b'\r\n')).split(b';')[0], 16)
            if size == 0:
                raise EOFError('stream ended')
            data = await reader.readexactly(size + 2)
            return buffer + data[:-2]
        data = await reader.read(65536)
        if not data:
            raise EOFError('stream ended')
        return buffer + data

    def _dispatch(self, buffer: bytes, first: bool) -> tuple[bytes, bool]:
        now = time.monotonic()
        while b'\n\n' in buffer:
            block, buffer = buffer.split(b'\n\n', 1)
            fields = dict(
                line.split(b': ', 1) for line in block.split(b'\n') if b': ' in line
            )
            if fields.get(b'event') != b'state':
                continue
            version = int(fields[b'id'])
            arrivals = self.arrivals[version]
            arrivals.append(now)
            if first:
                first = False
                self.first_seen += 1
                self._first_events.put_nowait(None)
            elif len(arrivals) == self.total:
                print(f'all {version} {now}', flush=True)
        return buffer, first


async def main(spec: dict) -> None:
    loop = asyncio.get_running_loop()
    streams = Streams(spec)
    warm = min(int(spec.get('warm', 20)), streams.total)
    streams.open(warm)
    await streams.wait_first_events(warm)
    print('warm', flush=True)
    await loop.run_in_executor(None, sys.stdin.readline)
    streams.open(streams.total - warm)
    await streams.wait_first_events(streams.total - warm)
    print(f'connected {streams.first_seen} {sum(streams.errors.values())}', flush=True)
    await loop.run_in_executor(None, sys.stdin.readline)
    result = {
        'arrivals': {str(v): times for v, times in streams.arrivals.items()},
        'errors': dict(streams.errors),
    }
    sys.stdout.write(json.dumps(result) + '\n')
    sys.stdout.flush()


if __name__ == '__main__':
    with open(sys.argv[1]) as f:
        spec = json.load(f)
    try:
        import uvloop
    except ImportError:
        asyncio.run(main(spec))
    else:
        uvloop.run(main(spec))
