"""Redis killed mid-presentation and restarted EMPTY: Podium rebuilds within 5 s.

The real stack in local mode (redis-server, gunicorns, local_video with Janus,
nginx). A presenter and two attendees join through local_video's signalling
WebSocket (no media: state needs none), so local_video sends real signed room
status callbacks and its Rooms API knows the truth the rebuild reads back.
"""

from __future__ import annotations

import json
import queue
import subprocess
import sys
import threading
import time
from collections.abc import Callable, Iterator

import httpx
import pytest
import redis

from launcher import Ports, Stack, StackError
from tests.integration.conftest import HTTP_TIMEOUT, SMALL_STACK, sse_events
from tests.local_video.helpers import Signal

pytestmark = [pytest.mark.integration, pytest.mark.timeout(60)]

REBUILD_BUDGET = 5.0  # seconds from Redis being back to the right state everywhere
JOIN_WAIT = 10.0  # seconds for callbacks of a join to show (generous on a busy CI)


@pytest.fixture(scope='module')
def local_stack(tmp_path_factory) -> Iterator[Stack]:
    ports = Ports.free()
    env = {
        **SMALL_STACK,
        # Two webhooks workers: both watch the state epoch, the lock picks one.
        'PODIUM_WEBHOOKS_WORKERS': '2',
        'PODIUM_PUBLIC_URL': f'http://127.0.0.1:{ports.http}',
    }
    running = Stack(env, tmp_path_factory.mktemp('redis-loss'), ports)
    assert running.backend == 'local'
    try:
        running.start()
    except StackError as ex:
        pytest.fail(f'the local stack did not start: {ex}')
    try:
        yield running
    finally:
        running.stop()


def wait_until(check: Callable[[], object], timeout: float, what: str):
    """Return check()'s first truthy result; fail after `timeout` seconds."""
    deadline = time.monotonic() + timeout
    last = None
    while time.monotonic() < deadline:
        try:
            last = check()
        except httpx.HTTPError as ex:
            last = ex
        else:
            if last:
                return last
        time.sleep(0.05)
    raise AssertionError(f'{what} did not happen within {timeout} s (last: {last!r})')


def join(client: httpx.Client, stack: Stack, pid: str, **body) -> Signal:
    """Get a token through nginx and connect to the room like a browser would."""
    grant = client.post(f'/api/presentations/{pid}/tokens', json=body)
    assert grant.status_code == 200, grant.text
    signal = Signal(stack.local_url, grant.json()['token'])
    assert signal.first['type'] == 'connected', signal.first
    return signal


def view_shows(client, pid, attendees: int, presenter: bool = True):
    response = client.get(f'/live/presentations/{pid}')
    if response.status_code != 200:
        return None
    view = response.json()
    if (
        view['attendees']['count'] == attendees
        and view['presenter']['connected'] is presenter
    ):
        return view
    return None


class StreamReader:
    """Read an SSE stream in a thread; hand each state view over a queue."""

    def __init__(self, url: str):
        self.views: queue.Queue = queue.Queue()
        self.opened = threading.Event()
        self._client = httpx.Client(timeout=httpx.Timeout(30.0))
        self._thread = threading.Thread(target=self._read, args=(url,), daemon=True)
        self._thread.start()
        assert self.opened.wait(10), 'the event stream did not open'

    def _read(self, url: str) -> None:
        try:
            with self._client.stream('GET', url) as response:
                self.opened.set()
                for event in sse_events(response):
                    if event.get('event') == 'state':
                        self.views.put(json.loads(event['data']))
        except httpx.HTTPError as ex:
            self.views.put(ex)

    def next_view(self, predicate, timeout: float) -> dict:
        deadline = time.monotonic() + timeout
        while True:
            remaining = deadline - time.monotonic()
            if remaining <= 0:
                raise AssertionError(f'no matching state within {timeout} s')
            try:
                item = self.views.get(timeout=remaining)
            except queue.Empty:
                continue
            if isinstance(item, Exception):
                raise AssertionError(f'the event stream broke: {item!r}')
            if predicate(item):
                return item

    def close(self) -> None:
        self._client.close()


def test_redis_restarted_empty_mid_presentation(local_stack):
    stack = local_stack
    with httpx.Client(base_url=stack.url, timeout=HTTP_TIMEOUT) as client:
        created = client.post('/api/presentations', json={'title': 'Survivor'})
        assert created.status_code == 201, created.text
        pid, key = created.json()['id'], created.json()['presenter_key']

        presenter = join(client, stack, pid, role='presenter', key=key)
        attendees = [join(client, stack, pid, role='attendee') for _ in range(2)]
        before = wait_until(
            lambda: view_shows(client, pid, 2), JOIN_WAIT, 'presenter + 2 attendees'
        )
        stream = StreamReader(f'{stack.url}/live/presentations/{pid}/events')
        stream.next_view(lambda v: v['attendees']['count'] == 2, JOIN_WAIT)

        stack.process('redis').kill()
        # While Redis is down the token service answers a clear, retryable 503.
        down = client.post(
            f'/api/presentations/{pid}/tokens', json={'role': 'attendee'}
        )
        assert down.status_code == 503, down.text
        assert down.json()['title'] == 'Storage is unavailable'
        assert down.headers['Retry-After']
        assert client.get('/api/healthz').status_code == 503

        # Its append-only file would bring everything back; lose it, as a new
        # disk would, so that only the rebuild can restore room state.
        for item in (stack.run_dir / 'redis').rglob('*'):
            if item.is_file():
                item.unlink()
        stack.process('redis').restart()
        back = time.monotonic()

        # The rebuild restores the presentation and its room from local_video.
        rebuilt = wait_until(
            lambda: view_shows(client, pid, 2), REBUILD_BUDGET, 'the rebuild'
        )
        # The stream opened before the kill delivers it, without reconnecting.
        streamed = stream.next_view(
            lambda v: (
                v['version'] > before['version']
                and v['attendees']['count'] == 2
                and v['presenter']['connected']
            ),
            max(0.1, back + REBUILD_BUDGET - time.monotonic()),
        )
        assert streamed['room'] == before['room'] == rebuilt['room']
        assert streamed['status'] == 'live'
        stream.close()

        # The presenter link from before still works: its key needs no record.
        again = client.post(
            f'/api/presentations/{pid}/tokens', json={'role': 'presenter', 'key': key}
        )
        assert again.status_code == 200, again.text
        assert client.get('/api/healthz').status_code == 200

        # Someone joining now is counted on top of the rebuilt state.
        late = join(client, stack, pid, role='attendee')
        wait_until(lambda: view_shows(client, pid, 3), JOIN_WAIT, 'the late attendee')

        # And a departure after the rebuild merges as well.
        attendees[0].leave()
        wait_until(lambda: view_shows(client, pid, 2), JOIN_WAIT, 'a departure')
        for signal in (presenter, attendees[1], late):
            signal.close()


def test_rebuild_command_restores_a_flushed_redis(local_stack):
    """`python -m podium.rebuild`, as the README's Operations section documents."""
    stack = local_stack
    with httpx.Client(base_url=stack.url, timeout=HTTP_TIMEOUT) as client:
        created = client.post('/api/presentations', json={'title': 'By hand'})
        pid, key = created.json()['id'], created.json()['presenter_key']
        presenter = join(client, stack, pid, role='presenter', key=key)
        attendee = join(client, stack, pid, role='attendee')
        wait_until(lambda: view_shows(client, pid, 1), JOIN_WAIT, 'the joins')

        redis.Redis.from_url(stack.settings['PODIUM_REDIS_URL']).flushall()
        # With the webhooks service's secrets only: the rebuild is its job.
        env = {**stack.child_env('webhooks'), 'PODIUM_RUN_DIR': str(stack.run_dir)}
        done = subprocess.run(
            [sys.executable, '-m', 'podium.rebuild', '--env-file', '/dev/null'],
            env=env,
            cwd=stack.root,
            capture_output=True,
            text=True,
            timeout=40,
        )

        assert done.returncode == 0, done.stderr
        assert 'open rooms' in done.stdout
        assert stack.settings['PODIUM_SECRET_KEY'] not in done.stdout + done.stderr
        assert view_shows(client, pid, 1)
        presenter.close()
        attendee.close()


def test_redis_killed_keeps_what_was_written(local_stack):
    """kill -9 of redis-server loses at most the last second (appendfsync everysec)."""
    stack = local_stack
    with httpx.Client(base_url=stack.url, timeout=HTTP_TIMEOUT) as client:
        created = client.post('/api/presentations', json={'title': 'Kept on disk'})
        assert created.status_code == 201, created.text
        pid = created.json()['id']
        time.sleep(1.5)  # past the one-second fsync window

        stack.process('redis').kill()
        stack.process('redis').restart()

        state = wait_until(
            lambda: (
                (r := client.get(f'/live/presentations/{pid}')).status_code == 200
                and r.json()
            ),
            JOIN_WAIT,
            'the presentation after the restart',
        )
        assert state['title'] == 'Kept on disk'
