"""An aiortc RTCRtpReceiver that counts RTP instead of decoding it.

aiortc decodes every received frame in a thread whether or not anyone reads the
track; decoding two 720p streams would make one attendee cost as much as the media
server. `CountingReceiver` keeps what a receiver tells the sender (RTCP receiver
reports with loss and jitter, NACKs) but neither reassembles nor decodes frames: it
counts packets, bytes, frames (video: RTP marker bit = last packet of a frame;
audio: one frame per packet) and sequence-number gaps. Skipping aiortc's jitter
buffer, depayloading and bandwidth estimator halves the Python work per packet, so
one process keeps up with ~25 attendees on a busy 2-core box.
"""

from __future__ import annotations

import time

import aiortc.rtcpeerconnection
from aiortc.codecs import is_rtx
from aiortc.rtcrtpreceiver import RTCRtpReceiver, StreamStatistics
from aiortc.rtp import RtpPacket


class StreamCount:
    """Counters of one received RTP stream (media SSRC, not RTX)."""

    __slots__ = ('packets', 'bytes', 'frames', 'rtx', 'first_seq', 'highest')

    def __init__(self) -> None:
        self.packets = 0
        self.bytes = 0
        self.frames = 0
        self.rtx = 0
        self.first_seq: int | None = None
        self.highest = 0  # extended (unwrapped) highest sequence number

    def add(self, packet: RtpPacket, *, video: bool) -> None:
        seq = packet.sequence_number
        if self.first_seq is None:
            self.first_seq = self.highest = seq
        else:
            # Unwrap the 16-bit sequence number against the highest seen.
            delta = (seq - (self.highest & 0xFFFF)) & 0xFFFF
            if delta < 0x8000:
                self.highest += delta
        self.packets += 1
        self.bytes += len(packet.payload)
        if packet.marker or not video:
            self.frames += 1

    @property
    def expected(self) -> int:
        return 0 if self.first_seq is None else self.highest - self.first_seq + 1

    def as_json(self) -> dict:
        return {
            'packets': self.packets,
            'bytes': self.bytes,
            'frames': self.frames,
            'rtx': self.rtx,
            'expected': self.expected,
        }


def vp8_keyframe_start(payload: bytes) -> bool:
    """Whether an RTP payload starts a VP8 key frame (RFC 7741 descriptor + header).

    The first packet of a frame has S=1 and partition index 0; the VP8 payload
    header after the descriptor then has P (inverse key frame flag) = 0.
    """
    if not payload:
        return False
    first = payload[0]
    if not first & 0x10 or first & 0x0F:  # S bit, PID
        return False
    at = 1
    if first & 0x80:  # X: extension byte follows
        if len(payload) < 2:
            return False
        ext = payload[1]
        at = 2
        if ext & 0x80:  # I: picture id, 7 or 15 bits
            if len(payload) <= at:
                return False
            at += 2 if payload[at] & 0x80 else 1
        if ext & 0x40:  # L: TL0PICIDX
            at += 1
        if ext & 0x30:  # T or K: TID/Y/KEYIDX
            at += 1
    return len(payload) > at and not payload[at] & 0x01


class FirstFrame:
    """When a video stream's first packet and first complete key frame arrived.

    Complete: every packet from the key frame's first to its marker packet came
    (a gap waits for the next key frame). Times are time.monotonic().
    """

    __slots__ = ('first_packet_at', 'key_frame_at', '_start', '_seen')

    def __init__(self) -> None:
        self.first_packet_at: float | None = None
        self.key_frame_at: float | None = None
        self._start: int | None = None  # sequence number of the key frame's start
        self._seen: set[int] = set()

    def add(self, seq: int, payload: bytes, marker: bool, now: float) -> None:
        if self.key_frame_at is not None:
            return
        if self.first_packet_at is None:
            self.first_packet_at = now
        if vp8_keyframe_start(payload):
            self._start, self._seen = seq, set()
        if self._start is None:
            return
        offset = (seq - self._start) & 0xFFFF
        if offset >= 0x8000:
            return  # before the start: an older frame
        self._seen.add(offset)
        if marker:
            if len(self._seen) == offset + 1:
                self.key_frame_at = now
            self._start = None


class CountingReceiver(RTCRtpReceiver):
    """RTCRtpReceiver without a decoder; `count` holds what arrived."""

    def __init__(self, kind: str, transport) -> None:
        super().__init__(kind, transport)
        self.count = StreamCount()
        self.stream_name: str | None = None
        self.first = FirstFrame()

    async def receive(self, parameters) -> None:
        await super().receive(parameters)
        # Stop the decoder thread receive() started: frames are then dropped after
        # reassembly instead of being decoded (the private name is aiortc's).
        self._RTCRtpReceiver__stop_decoder()

    async def _handle_rtp_packet(self, packet: RtpPacket, arrival_time_ms: int) -> None:
        # The private names are aiortc 1.16's (RTCRtpReceiver._handle_rtp_packet).
        if not self._enabled:
            return
        codec = self._RTCRtpReceiver__codecs.get(packet.payload_type)
        if codec is None:
            return
        streams = self._RTCRtpReceiver__remote_streams
        if packet.ssrc not in streams:
            streams[packet.ssrc] = StreamStatistics(codec.clockRate)
        streams[packet.ssrc].add(packet)  # what RTCP receiver reports say
        if is_rtx(codec):
            self.count.rtx += 1
            video = self.kind == 'video'
            if video and self.first.key_frame_at is None and len(packet.payload) > 2:
                # RFC 4588: the original sequence number, then the original payload.
                original = int.from_bytes(packet.payload[:2], 'big')
                self.first.add(
                    original, packet.payload[2:], packet.marker, time.monotonic()
                )
            return
        video = self.kind == 'video'
        self.count.add(packet, video=video)
        if video and self.first.key_frame_at is None:
            self.first.add(
                packet.sequence_number,
                packet.payload,
                packet.marker,
                time.monotonic(),
            )
        nacks = self._RTCRtpReceiver__nack_generator
        if nacks is not None and nacks.add(packet):
            await self._send_rtcp_nack(packet.ssrc, sorted(nacks.missing))

    @property
    def kind(self) -> str:
        return self._RTCRtpReceiver__kind


def install() -> None:
    """Make every RTCPeerConnection of this process use CountingReceiver.

    Only the benchmark's attendee processes call this: RTCPeerConnection creates
    its receivers by this module-level name.
    """
    aiortc.rtcpeerconnection.RTCRtpReceiver = CountingReceiver
