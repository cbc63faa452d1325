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


class CountingReceiver(RTCRtpReceiver):
    """RTCRtpReceiver without a decoder; `count` holds what arrived."""

    def __init__(self, kind: str, transport) -> None:
        super().__init__(kind, transport)
        self.count = StreamCount()
        self.stream_name: str | None = None

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
            return
        self.count.add(packet, video=self.kind == 'video')
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
