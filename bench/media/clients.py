"""Benchmark client processes: one presenter, or a batch of receive-only attendees.

    python -m bench.media.clients presenter|attendees|storm  (settings: 1st stdin line)

The settings (JSON, with access tokens) come on the first stdin line, not argv, so
tokens never show in the process list. A process prints JSON lines on stdout:
{"event": "ready"} once its media flows, and {"event": "snap", ...counters} for
every "snap" line on stdin; "quit" (or EOF) makes it leave the room and exit.
Counters are cumulative; the orchestrator subtracts two snapshots taken around its
measuring window.
"""

from __future__ import annotations

import asyncio
import contextlib
import json
import logging
import os
import sys
import time

from aiortc import RTCRtpSender, RTCSessionDescription

from . import counting
from .signalling_client import SignalClient, answer_offer, peer_connection
from .synthetic import LoopedTrack, encode_audio, encode_video

READY_TIMEOUT = 90.0
CONNECT_CONCURRENCY = 4  # joins in flight per process: DTLS set-up is CPU-heavy

# The tracks the presenter publishes, in local-video.js's order.
PRESENTER_TRACKS = (('camera', 'video'), ('microphone', 'audio'), ('screen', 'video'))


def emit(event: str, **data) -> None:
    sys.stdout.write(json.dumps({'event': event, 'time': time.monotonic(), **data}))
    sys.stdout.write('\n')
    sys.stdout.flush()


async def commands():
    """Yield stdin lines without blocking the event loop."""
    loop = asyncio.get_running_loop()
    reader = asyncio.StreamReader()
    protocol = asyncio.StreamReaderProtocol(reader)
    await loop.connect_read_pipe(lambda: protocol, sys.stdin)
    while True:
        line = await reader.readline()
        if not line:
            return
        yield line.decode().strip()


def _prefer(transceiver, mime: str) -> None:
    codecs = RTCRtpSender.getCapabilities(transceiver.kind).codecs
    transceiver.setCodecPreferences(
        [c for c in codecs if c.mimeType in (mime, f'{transceiver.kind}/rtx')]
    )


async def presenter(settings: dict) -> None:
    """Publish camera + microphone + screen on one PeerConnection, then serve snaps."""
    fps, bitrate = settings['fps'], settings['video_bitrate']
    clips = {
        'camera': encode_video(seed=1, seconds=6, fps=fps, bitrate=bitrate),
        'screen': encode_video(seed=2, seconds=6, fps=fps, bitrate=bitrate),
        'microphone': encode_audio(seconds=6),
    }
    tracks = {name: LoopedTrack(clip) for name, clip in clips.items()}
    client = SignalClient(settings['signal_url'], settings['token'])
    await client.connect(automatic_subscription=False)
    pc = peer_connection()
    connected = asyncio.Event()

    @pc.on('connectionstatechange')
    def _state() -> None:
        if pc.connectionState == 'connected':
            connected.set()

    transceivers = {}
    for name, kind in PRESENTER_TRACKS:
        transceiver = pc.addTransceiver(tracks[name], direction='sendonly')
        _prefer(transceiver, 'video/VP8' if kind == 'video' else 'audio/opus')
        transceivers[name] = transceiver
        if settings.get('answer_pli') and kind == 'video':
            # The sender turns a PLI/FIR into _send_keyframe(), which a pre-encoded
            # track ignores; a browser sends a key frame instead: so does this.
            transceiver.sender._send_keyframe = tracks[name].request_key_frame
    await pc.setLocalDescription(await pc.createOffer())
    reply = await client.publish(
        pc.localDescription.sdp,
        [
            {'mid': transceivers[name].mid, 'name': name, 'kind': kind}
            for name, kind in PRESENTER_TRACKS
        ],
    )
    await pc.setRemoteDescription(RTCSessionDescription(reply['sdp'], 'answer'))
    await asyncio.wait_for(connected.wait(), READY_TIMEOUT)
    emit(
        'ready',
        clip_bitrates={name: round(clip.bitrate) for name, clip in clips.items()},
        tracks={t['name']: t['sid'] for t in reply['tracks']},
    )
    try:
        async for line in commands():
            if line == 'snap':
                emit(
                    'snap',
                    streams={
                        name: {
                            'frames': t.sent_frames,
                            'bytes': t.sent_bytes,
                            'key_frame_requests': t.key_frame_requests,
                        }
                        for name, t in tracks.items()
                    },
                    wire=await _sender_stats(transceivers),
                )
            elif line == 'quit':
                break
    finally:
        await client.close()
        await pc.close()


async def _sender_stats(transceivers: dict) -> dict:
    """Packets and bytes aiortc reports as sent, per track name."""
    out = {}
    for name, transceiver in transceivers.items():
        report = await transceiver.sender.getStats()
        for stat in report.values():
            if stat.type == 'outbound-rtp':
                out[name] = {
                    'packets': stat.packetsSent,
                    'bytes': stat.bytesSent,
                }
    return out


class Attendee:
    """A receive-only participant that counts what it receives."""

    def __init__(self, settings: dict, token: str) -> None:
        self.client = SignalClient(settings['signal_url'], token)
        self.pc = peer_connection()
        self.names: dict[str, str] = {}  # mid -> track name
        self.receiving = asyncio.Event()
        self.want = set(settings['streams'])
        self.error: str | None = None
        # time.monotonic() of the first offer, its answer, and 'connected' (DTLS).
        self.offer_at: float | None = None
        self.answered_at: float | None = None
        self.connected_at: float | None = None

        @self.pc.on('connectionstatechange')
        def _state() -> None:
            if self.pc.connectionState == 'connected' and self.connected_at is None:
                self.connected_at = time.monotonic()

    async def join(self, *, automatic_subscription: bool = True) -> None:
        self.client.on_offer = self._on_offer
        await self.client.connect(automatic_subscription=automatic_subscription)

    async def _on_offer(self, message: dict) -> None:
        self.offer_at = self.offer_at or time.monotonic()
        try:
            streams = await answer_offer(self.pc, self.client, message)
        except Exception as ex:  # a bad offer must not stop the other attendees
            self.error = f'answer failed: {ex!r}'
            return
        self.answered_at = self.answered_at or time.monotonic()
        self.names = {mid: s['name'] for mid, s in streams.items()}
        for transceiver in self.pc.getTransceivers():
            receiver = transceiver.receiver
            if isinstance(receiver, counting.CountingReceiver):
                receiver.stream_name = self.names.get(transceiver.mid)

    def counts(self) -> dict:
        out = {}
        for transceiver in self.pc.getTransceivers():
            receiver = transceiver.receiver
            name = getattr(receiver, 'stream_name', None)
            if name:
                out[name] = receiver.count.as_json()
        return out

    def flowing(self) -> bool:
        counts = self.counts()
        return all(counts.get(name, {}).get('frames', 0) > 0 for name in self.want)

    async def close(self) -> None:
        await self.client.close()
        await self.pc.close()


async def attendees(settings: dict) -> None:
    """Join the attendees, wait until each receives every stream, serve snaps."""
    counting.install()
    people = [Attendee(settings, token) for token in settings['tokens']]
    gate = asyncio.Semaphore(CONNECT_CONCURRENCY)

    async def join(person: Attendee) -> None:
        async with gate:
            try:
                await person.join()
            except Exception as ex:
                person.error = f'join failed: {ex!r}'
                return
            # Hold the slot until media flows: that is when DTLS is done.
            deadline = time.monotonic() + READY_TIMEOUT
            while not person.flowing() and time.monotonic() < deadline:
                await asyncio.sleep(0.1)

    started = time.monotonic()
    await asyncio.gather(*(join(p) for p in people))
    flowing = sum(p.flowing() for p in people)
    emit(
        'ready',
        flowing=flowing,
        attendees=len(people),
        errors=[p.error for p in people if p.error][:5],
        seconds=round(time.monotonic() - started, 1),
    )
    try:
        async for line in commands():
            if line == 'snap':
                emit('snap', attendees=[p.counts() for p in people])
            elif line == 'quit':
                break
    finally:
        for person in people:
            with contextlib.suppress(Exception):
                await person.close()


async def _storm(settings: dict) -> None:
    from .page_join import storm  # it imports this module

    await storm(settings)


def _first_line() -> bytes:
    # Byte by byte: a buffered read could swallow the commands that follow.
    line = bytearray()
    while not line.endswith(b'\n'):
        chunk = os.read(0, 1)
        if not chunk:
            break
        line += chunk
    return bytes(line)


def main() -> None:
    logging.basicConfig(level=logging.WARNING, stream=sys.stderr)
    role = sys.argv[1]
    settings = json.loads(_first_line())
    roles = {'presenter': presenter, 'attendees': attendees, 'storm': _storm}
    try:
        asyncio.run(roles[role](settings))
    except Exception as ex:
        emit('error', message=repr(ex))
        raise


if __name__ == '__main__':
    main()
