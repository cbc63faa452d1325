"""Fixtures shared by every test: configuration, fakeredis, a real redis-server."""

from __future__ import annotations

import shutil
import socket
import subprocess
import time
from pathlib import Path

import fakeredis
import pytest
import redis

from podium.config import TokenServiceConfig, WebConfig, WebhooksConfig
from podium.store import AsyncRoomState, Store

TEST_ENV = {
    'PODIUM_PUBLIC_URL': 'http://podium.test',
    'PODIUM_REDIS_URL': 'redis://127.0.0.1:1/0',  # unit tests inject fakeredis
    'PODIUM_VIDEO_BACKEND': 'twilio',
    'TWILIO_ACCOUNT_SID': 'AC' + '0' * 32,
    'TWILIO_API_KEY_SID': 'SK' + '1' * 32,
    'TWILIO_API_KEY_SECRET': 'test-api-key-secret-not-real-0123456789',
    'TWILIO_AUTH_TOKEN': 'test-auth-token-not-real',
    'PODIUM_SECRET_KEY': 'test-secret-key-not-real-0123456789abcdef',
}


def free_port() -> int:
    """Return a TCP port on loopback that nothing listens on right now."""
    with socket.socket() as sock:
        sock.bind(('127.0.0.1', 0))
        return sock.getsockname()[1]


def wait_for_port(port: int, timeout: float = 10.0, host: str = '127.0.0.1') -> None:
    """Wait until something accepts connections on host:port."""
    deadline = time.monotonic() + timeout
    while time.monotonic() < deadline:
        try:
            with socket.create_connection((host, port), timeout=0.2):
                return
        except OSError:
            time.sleep(0.05)
    raise TimeoutError(f'nothing listens on {host}:{port} after {timeout} s')


@pytest.fixture
def env() -> dict[str, str]:
    """Return a fresh copy of a complete test environment."""
    return dict(TEST_ENV)


@pytest.fixture
def config(env) -> TokenServiceConfig:
    """The token service's config (modules of another service override `config`)."""
    return TokenServiceConfig.from_env(env)


@pytest.fixture
def webhooks_config(env) -> WebhooksConfig:
    return WebhooksConfig.from_env(env)


@pytest.fixture
def web_config(env) -> WebConfig:
    return WebConfig.from_env(env)


@pytest.fixture
def fake_redis_server() -> fakeredis.FakeServer:
    """A fresh, private fakeredis server (`store` and `async_room_state` share it)."""
    return fakeredis.FakeServer()


@pytest.fixture
def store(fake_redis_server) -> Store:
    """Return a Store on a fresh, private fakeredis server."""
    return Store(fakeredis.FakeRedis(server=fake_redis_server, decode_responses=True))


@pytest.fixture
def async_room_state(fake_redis_server) -> AsyncRoomState:
    """`store`'s server through redis.asyncio, as the webhooks workers reach Redis."""
    return AsyncRoomState(
        fakeredis.FakeAsyncRedis(server=fake_redis_server, decode_responses=True)
    )


@pytest.fixture(scope='session')
def redis_server(tmp_path_factory) -> str:
    """Start a real redis-server on loopback for the session; return its URL."""
    binary = shutil.which('redis-server')
    if binary is None:
        pytest.fail(
            'redis-server is not installed: run bin/podium test, which installs it'
        )
    port = free_port()
    workdir: Path = tmp_path_factory.mktemp('redis')
    proc = subprocess.Popen(
        [
            binary,
            '--port',
            str(port),
            '--bind',
            '127.0.0.1',
            '--save',
            '',
            '--appendonly',
            'no',
            '--dir',
            str(workdir),
        ],
        stdout=subprocess.DEVNULL,
    )
    try:
        wait_for_port(port)
        yield f'redis://127.0.0.1:{port}/0'
    finally:
        proc.terminate()
        proc.wait(timeout=10)


@pytest.fixture
def real_store(redis_server) -> Store:
    """Return a Store on the real redis-server, emptied first."""
    client = redis.Redis.from_url(redis_server, decode_responses=True)
    client.flushdb()
    return Store(client)
