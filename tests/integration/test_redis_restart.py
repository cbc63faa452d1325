"""A redis-server restarted under a running service: its next request succeeds.

The sync services keep one hot connection (`Store.from_url(single_connection=
True)`); after a restart its socket is dead and, before the retry, the first
write on it answered 503 once. Here a real redis-server (append-only file,
fsync always, so data survives the restart) is killed and started again on the
same port, and the token service's writes and the webhooks' merge go straight on.
"""

from __future__ import annotations

import dataclasses
import shutil
import subprocess
from collections.abc import Iterator
from pathlib import Path

import falcon.testing
import pytest

from podium import room_state
from podium.store import Store
from tests.conftest import free_port, wait_for_port
from tests.unit.test_audience_api import Talk
from tests.unit.test_token_service import FakeClock, FakeRooms
from token_service.app import create_app
from token_service.rate_limits import RateLimitSettings

pytestmark = [pytest.mark.integration, pytest.mark.timeout(60)]


class RedisServer:
    """A private redis-server that can be killed and started again in place."""

    def __init__(self, workdir: Path):
        self.port = free_port()
        self.url = f'redis://127.0.0.1:{self.port}/0'
        self._argv = [
            shutil.which('redis-server') or 'redis-server',
            '--port', str(self.port), '--bind', '127.0.0.1', '--save', '',
            '--appendonly', 'yes', '--appendfsync', 'always', '--dir', str(workdir),
        ]  # fmt: skip
        self._proc: subprocess.Popen | None = None

    def start(self) -> None:
        self._proc = subprocess.Popen(self._argv, stdout=subprocess.DEVNULL)
        wait_for_port(self.port)

    def kill(self) -> None:
        assert self._proc is not None
        self._proc.kill()
        self._proc.wait(timeout=10)
        self._proc = None

    def restart(self) -> None:
        self.kill()
        self.start()


@pytest.fixture
def redis_restartable(tmp_path) -> Iterator[RedisServer]:
    server = RedisServer(tmp_path)
    server.start()
    try:
        yield server
    finally:
        if server._proc is not None:
            server.kill()


@pytest.fixture
def store(redis_restartable) -> Iterator[Store]:
    """A service's store on the restartable server, closed after the test."""
    store = Store.from_url(redis_restartable.url, single_connection=True)
    try:
        yield store
    finally:
        store.close()


def test_token_service_writes_go_on_after_a_redis_restart(
    config, redis_restartable, store
):
    app = create_app(
        dataclasses.replace(config, redis_url=redis_restartable.url),
        store=store,
        rooms=FakeRooms(),
        clock=FakeClock(),
        rate_limits=RateLimitSettings(),
    )
    talk = Talk(falcon.testing.TestClient(app))
    attendee = talk.join()  # the hot connection is open now
    asked = talk.ask(attendee, 'Still there?')
    assert asked.status_code == 201, asked.text
    question = asked.json['id']

    redis_restartable.restart()

    # Each the first of its kind on the dead connection: none may answer 503.
    voted = talk.call('PUT', f'questions/{question}/vote', attendee)
    assert voted.status_code == 200, voted.text
    assert voted.json['votes'] == 1
    again = talk.call('PUT', f'questions/{question}/vote', attendee)
    assert again.json['votes'] == 1  # the retry-safe write stayed idempotent
    assert talk.join()  # tokens: the rate-limit count and presentation read

    redis_restartable.restart()
    reacted = talk.call('POST', 'reactions', attendee, json={'emoji': '👍'})
    assert reacted.status_code == 202, reacted.text  # not retried: the pool's check


def test_webhooks_merge_goes_on_after_a_redis_restart(redis_restartable, store):
    store.create_presentation({'id': 'restarted1', 'title': 'T', 'created_at': '0'})
    room = room_state.room_name_for('restarted1')

    def connected(participant_sid: str, sequence: int):
        return room_state.parse_event(
            {
                'StatusCallbackEvent': 'participant-connected',
                'RoomName': room,
                'RoomSid': 'RM' + '0' * 32,
                'ParticipantSid': participant_sid,
                'ParticipantIdentity': f'attendee-{sequence:016x}',
                'SequenceNumber': str(sequence),
                'Timestamp': '2026-01-01T00:00:00.000Z',
            }
        )

    assert store.apply_event(connected('PA' + '1' * 32, 1))
    redis_restartable.restart()
    assert store.apply_event(connected('PA' + '2' * 32, 2))
