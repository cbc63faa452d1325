"""Abuse through nginx: slow clients, oversized bodies, request floods.

One stack for the module, with a 2-second client timeout and small rate limits
so each case is quick. Everything goes through nginx, as it would in production.
"""

from __future__ import annotations

import socket
from collections.abc import Iterator
from pathlib import Path

import httpx
import pytest

from launcher import Ports, Stack, StackError
from tests.integration.conftest import HTTP_TIMEOUT, stack_env

pytestmark = pytest.mark.integration

CLIENT_TIMEOUT = 2  # seconds; PODIUM_NGINX_CLIENT_TIMEOUT for this stack
# How long a cut-off may take at most before the test calls it a hang.
CUT_OFF_BOUND = CLIENT_TIMEOUT + 8


@pytest.fixture(scope='module')
def stack(fake_twilio, tmp_path_factory) -> Iterator[Stack]:
    ports = Ports.free()
    run_dir: Path = tmp_path_factory.mktemp('abuse-stack')
    env = stack_env(
        fake_twilio,
        ports,
        PODIUM_NGINX_CLIENT_TIMEOUT=str(CLIENT_TIMEOUT),
        PODIUM_RATE_LIMIT_PRESENTATIONS='3',
        PODIUM_RATE_LIMIT_TOKENS='5',
    )
    running = Stack(env, run_dir, ports)
    try:
        running.start()
    except StackError as ex:
        pytest.fail(f'the stack did not start: {ex}')
    try:
        yield running
    finally:
        running.stop()


@pytest.fixture
def client(stack) -> Iterator[httpx.Client]:
    with httpx.Client(base_url=stack.url, timeout=HTTP_TIMEOUT) as http:
        yield http


def slow_connection(stack: Stack, first_bytes: bytes) -> socket.socket:
    sock = socket.create_connection(('127.0.0.1', stack.ports.http), timeout=5)
    sock.sendall(first_bytes)
    return sock


def wait_until_cut_off(sock: socket.socket) -> bytes:
    """Return what nginx sends before closing; fail if it keeps the connection."""
    sock.settimeout(CUT_OFF_BOUND)
    received = b''
    try:
        while chunk := sock.recv(4096):
            received += chunk
    except TimeoutError:
        pytest.fail(f'nginx kept a stalled client for over {CUT_OFF_BOUND} s')
    except ConnectionResetError:
        pass
    finally:
        sock.close()
    return received


def test_a_stalled_body_holds_no_worker_and_is_cut_off(stack, client):
    # The webhooks service runs ONE sync worker here: if the stalled request
    # reached it, nothing else could be served until it gave up.
    stalled = slow_connection(
        stack,
        b'POST /webhooks/room-events HTTP/1.1\r\n'
        b'Host: 127.0.0.1\r\n'
        b'Content-Type: application/x-www-form-urlencoded\r\n'
        b'Content-Length: 1000\r\n\r\n'
        b'RoomSid=RM',
    )
    try:
        for _ in range(3):
            assert client.get('/webhooks/healthz').status_code == 200
            refused = client.post(
                '/webhooks/room-events',
                data={'RoomSid': 'RM1'},
                headers={'X-Twilio-Signature': 'forged'},
            )
            assert refused.status_code == 403
    finally:
        answer = wait_until_cut_off(stalled)
    assert answer == b'' or answer.startswith(b'HTTP/1.1 408')


def test_stalled_headers_are_cut_off(stack, client):
    stalled = slow_connection(stack, b'POST /api/presentations HTTP/1.1\r\nHost: x')
    try:
        assert client.get('/api/healthz').status_code == 200
    finally:
        answer = wait_until_cut_off(stalled)
    assert answer == b'' or answer.startswith(b'HTTP/1.1 408')


@pytest.mark.parametrize('path', ['/api/presentations', '/webhooks/room-events'])
def test_bodies_over_64k_are_refused_by_nginx_with_json(client, path):
    result = client.post(
        path,
        content=b'x' * (65 * 1024),
        headers={'Content-Type': 'application/json'},
    )
    assert result.status_code == 413
    assert result.json()['title'] == 'Request body too large'


def test_token_service_refuses_bodies_over_its_own_cap(client):
    result = client.post(
        '/api/presentations',
        json={'title': 'T', 'padding': 'x' * 8192},
        headers={'X-Forwarded-For': '198.51.100.200'},
    )
    assert result.status_code == 413
    assert result.json()['title'] == 'Request body too large'


def test_presentations_are_rate_limited_per_client_address(client):
    def create(address: str) -> httpx.Response:
        # nginx appends the test's own (loopback) address; the token service
        # trusts loopback, so it takes the address this "client" sent.
        return client.post(
            '/api/presentations',
            json={'title': 'Flood'},
            headers={'X-Forwarded-For': address},
        )

    codes = [create('198.51.100.1').status_code for _ in range(3)]
    refused = create('198.51.100.1')
    assert codes == [201] * 3
    assert refused.status_code == 429
    assert 1 <= int(refused.headers['Retry-After']) <= 60
    assert refused.json()['title'] == 'Too many requests'
    assert create('198.51.100.2').status_code == 201


def test_tokens_are_rate_limited_per_client_address(client):
    presentation = client.post(
        '/api/presentations',
        json={'title': 'Tokens'},
        headers={'X-Forwarded-For': '198.51.100.50'},
    ).json()
    path = f'/api/presentations/{presentation["id"]}/tokens'

    def token(address: str) -> int:
        return client.post(
            path, json={'role': 'attendee'}, headers={'X-Forwarded-For': address}
        ).status_code

    assert [token('198.51.100.51') for _ in range(6)] == [200] * 5 + [429]
    assert token('198.51.100.52') == 200
