"""Fixtures for the local video service: a live server in a thread, a callback sink."""

from __future__ import annotations

import contextlib
import queue
import threading
import time
from http.server import BaseHTTPRequestHandler, ThreadingHTTPServer
from urllib.parse import parse_qsl

import pytest
import uvicorn
from twilio.rest import Client

from local_video.app import build_service
from local_video.config import from_env
from tests.conftest import TEST_ENV, free_port


@pytest.fixture
def lv_config(tmp_path):
    return from_env(
        {
            **TEST_ENV,
            'PODIUM_LOCAL_VIDEO_PORT': str(free_port()),
            'PODIUM_RECORDINGS_DIR': str(tmp_path / 'recordings'),
        }
    )


@contextlib.contextmanager
def serve(app, port: int):
    """Run an ASGI app with uvicorn on 127.0.0.1:port in a thread."""
    server = uvicorn.Server(
        uvicorn.Config(
            app,
            host='127.0.0.1',
            port=port,
            lifespan='on',
            log_level='warning',
            ws='websockets-sansio',
        )
    )
    thread = threading.Thread(target=server.run, daemon=True)
    thread.start()
    deadline = time.monotonic() + 20
    while not server.started:
        if not thread.is_alive() or time.monotonic() > deadline:
            raise RuntimeError('the local video server did not start')
        time.sleep(0.02)
    try:
        yield f'http://127.0.0.1:{port}'
    finally:
        server.should_exit = True
        thread.join(timeout=20)


@pytest.fixture
def rest_server(lv_config):
    """A live service without Janus (REST, callbacks and signalling only)."""
    service = build_service(lv_config, use_janus=False, minute=0.2)
    with serve(service.app, lv_config.port) as url:
        yield service, url


@pytest.fixture
def twilio(rest_server, lv_config):
    """twilio-python, unchanged, pointed at the local service."""
    _, url = rest_server
    client = Client(
        lv_config.api_key_sid, lv_config.api_key_secret, lv_config.account_sid
    )
    client.video.base_url = url
    return client


class CallbackSink:
    """A tiny HTTP server on loopback that records every request it gets."""

    def __init__(self) -> None:
        self.requests: queue.Queue = queue.Queue()
        sink = self

        class Handler(BaseHTTPRequestHandler):
            def do_POST(self):  # noqa: N802 (http.server's naming)
                length = int(self.headers.get('Content-Length') or 0)
                body = self.rfile.read(length).decode()
                sink.requests.put(
                    {
                        'path': self.path,
                        'signature': self.headers.get('X-Twilio-Signature'),
                        'content_type': self.headers.get('Content-Type'),
                        'params': dict(parse_qsl(body, keep_blank_values=True)),
                    }
                )
                self.send_response(204)
                self.end_headers()

            def log_message(self, *args):
                pass

        self.port = free_port()
        self.server = ThreadingHTTPServer(('127.0.0.1', self.port), Handler)
        self.url = f'http://127.0.0.1:{self.port}/webhooks/room-events'
        threading.Thread(target=self.server.serve_forever, daemon=True).start()

    def next(self, timeout: float = 10.0) -> dict:
        return self.requests.get(timeout=timeout)

    def until(self, event: str, timeout: float = 10.0) -> list[dict]:
        """Return every callback up to and including the first `event`."""
        seen = []
        while True:
            item = self.next(timeout)
            seen.append(item)
            if item['params'].get('StatusCallbackEvent') == event:
                return seen


@pytest.fixture
def sink():
    server = CallbackSink()
    yield server
    server.server.shutdown()
    server.server.server_close()
