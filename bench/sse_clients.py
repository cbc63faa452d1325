"""Hold many Server-Sent Events streams open: `python -m bench.sse_clients SPEC.json`.

Runs in its own process, so the web service's event loop shares nothing with
it. SPEC: {"host", "port", "path", "connections", "warm", "open_concurrency"}.

The stream's events are typed (web_service/live.py, docs/audience-api.md):
`state`, `questions`, `hands`, `polls` and `stage` carry a version each, and
every event id lists them all, `<state>.<questions>.<hands>.<polls>.<stage>`;
`reactions` events have no id. Arrivals are kept per (kind, version) of the
versioned kinds.

Talks to its parent over stdin/stdout, one line each:
  -> `warm`                  the first `warm` streams have their first event
  <- any line                open the rest
  -> `connected <n> <errors>` every stream has its first event
  -> `all <kind> <version> <t>`  the last stream just received `version` of
                             `kind` (t: CLOCK_MONOTONIC, comparable with the
                             parent's)
  <- `mark`                  start counting bytes and events afresh
  -> `marked <t>`
  <- `finish` (or anything else)  print one JSON line of every arrival and of
                             what arrived since the mark, exit
"""

from __future__ import annotations

import asyncio
import collections
import json
import sys
import time

VERSIONED_KINDS = ('state', 'questions', 'hands', 'polls', 'stage')  # the id's order


def parse_event_id(raw: bytes | str) -> dict[str, int]:
    """Return the version of each kind an event id names ({} if unreadable).

    A bare number is a state version (streams before audience events).
    """
    text = raw.decode() if isinstance(raw, bytes) else raw
    parts = text.split('.')
    if not all(p.isdigit() for p in parts):
        return {}
    if len(parts) == 1:
        return {'state': int(parts[0])}
    if len(parts) != len(VERSIONED_KINDS):
        return {}
    return dict(zip(VERSIONED_KINDS, map(int, parts), strict=True))


def parse_block(block: bytes) -> dict[bytes, bytes]:
    """Return the fields of one SSE event block (comment lines have none)."""
    fields = {}
    for line in block.split(b'\n'):
        name, sep, value = line.partition(b':')
        if not sep or not name:
            continue  # a comment (': keep-alive') or a blank
        fields[name] = value[1:] if value.startswith(b' ') else value
    return fields


class Streams:
    def __init__(self, spec: dict):
        self.host = spec['host']
        self.port = int(spec['port'])
        self.path = spec['path']
        self.total = int(spec['connections'])
        # (kind, version) -> arrival times, one per stream
        self.arrivals: dict[tuple[str, int], list[float]] = collections.defaultdict(
            list
        )
        self.first_seen = 0
        self.errors: collections.Counter[str] = collections.Counter()
        # Since the last mark, over all streams: bytes read, events by type.
        self.bytes = 0
        self.events: collections.Counter[str] = collections.Counter()
        self.first_event_at: float | None = None  # since the mark, any stream
        self.last_event_at: float | None = None
        self._gate = asyncio.Semaphore(int(spec.get('open_concurrency', 100)))
        self._first_events: asyncio.Queue[None] = asyncio.Queue()
        self._tasks: list[asyncio.Task] = []

    def open(self, count: int) -> None:
        loop = asyncio.get_running_loop()
        for _ in range(count):
            self._tasks.append(loop.create_task(self._stream()))

    def mark(self) -> float:
        self.bytes = 0
        self.events.clear()
        self.first_event_at = self.last_event_at = None
        return time.monotonic()

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

    async def _read(self, reader: asyncio.StreamReader, buffer: bytes, chunked: bool):
        if chunked:
            line = await reader.readuntil(b'\r\n')
            size = int(line.split(b';')[0], 16)
            if size == 0:
                raise EOFError('stream ended')
            data = await reader.readexactly(size + 2)
            self.bytes += len(line) + len(data)
            return buffer + data[:-2]
        data = await reader.read(65536)
        if not data:
            raise EOFError('stream ended')
        self.bytes += len(data)
        return buffer + data

    def _dispatch(self, buffer: bytes, first: bool) -> tuple[bytes, bool]:
        now = time.monotonic()
        while b'\n\n' in buffer:
            block, buffer = buffer.split(b'\n\n', 1)
            fields = parse_block(block)
            kind = fields.get(b'event', b'').decode()
            if not kind:
                continue  # keep-alive comment, or the bare retry hint
            self.events[kind] += 1
            if self.first_event_at is None:
                self.first_event_at = now
            self.last_event_at = now
            if kind not in VERSIONED_KINDS:
                continue  # reactions: counted, not versioned
            version = parse_event_id(fields.get(b'id', b'')).get(kind)
            if version is None:
                self.errors['unreadable event id'] += 1
                continue
            arrivals = self.arrivals[(kind, version)]
            arrivals.append(now)
            if first:
                first = False
                self.first_seen += 1
                self._first_events.put_nowait(None)
            elif len(arrivals) == self.total:
                print(f'all {kind} {version} {now}', flush=True)
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
    marked_at = streams.mark()
    while (await loop.run_in_executor(None, sys.stdin.readline)).strip() == 'mark':
        marked_at = streams.mark()
        print(f'marked {marked_at}', flush=True)
    result = {
        'arrivals': {f'{k} {v}': times for (k, v), times in streams.arrivals.items()},
        'errors': dict(streams.errors),
        'since_mark': {
            'seconds': time.monotonic() - marked_at,
            'bytes': streams.bytes,
            'events': dict(streams.events),
            'first_event_at': streams.first_event_at,
            'last_event_at': streams.last_event_at,
        },
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
