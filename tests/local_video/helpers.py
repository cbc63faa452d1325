"""Helpers for local video tests: tokens and a signalling client without media."""

from __future__ import annotations

import contextlib
import json
import time

from twilio.jwt.access_token import AccessToken
from twilio.jwt.access_token.grants import VideoGrant
from websockets.sync.client import connect


def make_token(
    config,
    identity: str,
    room: str | None,
    *,
    ttl: int = 600,
    secret: str | None = None,
    key_sid: str | None = None,
    valid_from: int | None = None,
) -> str:
    """Issue an Access Token exactly as the token service does (twilio-python)."""
    token = AccessToken(
        config.account_sid,
        key_sid or config.api_key_sid,
        secret or config.api_key_secret,
        identity=identity,
        ttl=ttl,
        nbf=valid_from,
    )
    token.add_grant(VideoGrant(room=room))
    return token.to_jwt()


class Signal:
    """A signalling WebSocket that speaks the protocol but sends no media."""

    def __init__(self, base_url: str, token: str, **options) -> None:
        ws_url = base_url.replace('http://', 'ws://') + '/video/signal'
        # An unbounded queue: this client reads only what a test asks for, and a
        # full queue would stop it from seeing the server's close frame.
        # Entered as a context manager, websockets' supported way to hold a
        # connection (calling connect() bare is deprecated since 17.1).
        self._stack = contextlib.ExitStack()
        self.ws = self._stack.enter_context(
            connect(ws_url, open_timeout=5, max_queue=None)
        )
        self.ws.send(json.dumps({'type': 'connect', 'token': token, **options}))
        self.first = self.recv()

    def recv(self, timeout: float = 5.0) -> dict:
        return json.loads(self.ws.recv(timeout=timeout))

    def wait_for(self, kind: str, timeout: float = 5.0) -> dict:
        deadline = time.monotonic() + timeout
        while True:
            message = self.recv(max(deadline - time.monotonic(), 0.01))
            if message['type'] == kind:
                return message

    def leave(self) -> None:
        """Leave as room.disconnect() does: say so, then close."""
        self.ws.send(json.dumps({'type': 'disconnect'}))
        self._stack.close()

    def close(self) -> None:
        self._stack.close()
