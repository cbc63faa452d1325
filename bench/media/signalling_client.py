"""local_video's signalling protocol spoken from Python (what local-video.js sends).

One `SignalClient` per participant: connect with an Access Token, ping every 5 s,
publish over one PeerConnection (client offers) and answer the server's subscriber
offers (server offers). Only loopback URLs are used.
"""

from __future__ import annotations

import asyncio
import contextlib
import json
from collections.abc import Awaitable, Callable

import websockets
from aiortc import (
    RTCBundlePolicy,
    RTCConfiguration,
    RTCPeerConnection,
    RTCSessionDescription,
)

PING_INTERVAL = 5.0
REQUEST_TIMEOUT = 30.0


def peer_connection() -> RTCPeerConnection:
    """A PeerConnection for Janus on this machine.

    iceServers=[] matters: aiortc otherwise asks a public STUN server. Max-bundle
    matters too: without it aiortc misroutes the second video of Janus's offer.
    """
    return RTCPeerConnection(
        RTCConfiguration(iceServers=[], bundlePolicy=RTCBundlePolicy.MAX_BUNDLE)
    )


class SignalError(Exception):
    """The service refused a request (message from its error/publishError)."""


class SignalClient:
    """One participant's signalling WebSocket."""

    def __init__(self, signal_url: str, token: str) -> None:
        self._url = signal_url
        self._token = token
        self._ws = None
        self._tasks: list[asyncio.Task] = []
        self._seq = 0
        self._pending: dict[int, asyncio.Future] = {}
        self.on_offer: Callable[[dict], Awaitable[None]] | None = None
        self._offers: asyncio.Queue = asyncio.Queue()
        self.connected: dict | None = None
        self.closed = asyncio.Event()

    async def connect(self, *, automatic_subscription: bool = True) -> dict:
        self._ws = await websockets.connect(
            self._url, open_timeout=20, max_size=2**20, ping_interval=None
        )
        await self._send(
            {
                'type': 'connect',
                'token': self._token,
                'automaticSubscription': automatic_subscription,
            }
        )
        first = json.loads(await asyncio.wait_for(self._ws.recv(), REQUEST_TIMEOUT))
        if first.get('type') != 'connected':
            raise SignalError(f'connect refused: {first}')
        self.connected = first
        self._tasks = [
            asyncio.create_task(self._reader()),
            asyncio.create_task(self._pinger()),
            asyncio.create_task(self._answerer()),
        ]
        return first

    async def _send(self, message: dict) -> None:
        await self._ws.send(json.dumps(message))

    async def _reader(self) -> None:
        try:
            async for raw in self._ws:
                message = json.loads(raw)
                kind = message.get('type')
                if kind in ('publishAnswer', 'publishError'):
                    future = self._pending.pop(message.get('seq'), None)
                    if future is not None and not future.done():
                        future.set_result(message)
                elif kind == 'subscriberOffer':
                    self._offers.put_nowait(message)
                elif kind == 'disconnected':
                    break
        except websockets.ConnectionClosed:
            pass
        finally:
            self.closed.set()

    async def _pinger(self) -> None:
        with contextlib.suppress(websockets.ConnectionClosed):
            while True:
                await asyncio.sleep(PING_INTERVAL)
                await self._send({'type': 'ping'})

    async def _answerer(self) -> None:
        # Offers are answered one at a time, in order, as local-video.js does.
        while True:
            message = await self._offers.get()
            if self.on_offer is not None:
                await self.on_offer(message)

    async def answer(self, sdp: str) -> None:
        await self._send({'type': 'subscriberAnswer', 'sdp': sdp})

    async def publish(self, sdp: str, tracks: list[dict]) -> dict:
        """Send a publish offer; return the publishAnswer message."""
        self._seq += 1
        seq = self._seq
        future = asyncio.get_running_loop().create_future()
        self._pending[seq] = future
        await self._send({'type': 'publish', 'seq': seq, 'sdp': sdp, 'tracks': tracks})
        reply = await asyncio.wait_for(future, REQUEST_TIMEOUT)
        if reply['type'] != 'publishAnswer':
            raise SignalError(reply.get('message', 'publish failed'))
        return reply

    async def close(self) -> None:
        """Leave as room.disconnect() does: say so, then close."""
        for task in self._tasks:
            task.cancel()
        if self._ws is not None:
            with contextlib.suppress(Exception):
                await self._send({'type': 'disconnect'})
            with contextlib.suppress(Exception):
                await self._ws.close()


async def answer_offer(pc: RTCPeerConnection, client: SignalClient, message: dict):
    """Answer a subscriberOffer on `pc`; return {mid: stream info}."""
    await pc.setRemoteDescription(RTCSessionDescription(message['sdp'], 'offer'))
    await pc.setLocalDescription(await pc.createAnswer())  # gathers (no trickle)
    await client.answer(pc.localDescription.sdp)
    return {s['mid']: s for s in message.get('streams', [])}
