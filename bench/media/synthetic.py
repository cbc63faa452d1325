"""Pre-encoded synthetic media for the benchmark presenter (no numpy, no camera).

Encoding two 720p VP8 streams live would cost the presenter a core of this 2-core
box and make it adapt its output to the noise of other work; instead a few seconds
of 1280x720 VP8 and Opus are encoded once at start and then sent in a loop, so the
presenter sends a fixed frame rate and bitrate whatever the machine does.
"""

from __future__ import annotations

import asyncio
import fractions
import math
import random
import time
from array import array
from dataclasses import dataclass

import av
from aiortc.mediastreams import MediaStreamTrack

WIDTH, HEIGHT = 1280, 720
VIDEO_CLOCK = 90_000
AUDIO_RATE = 48_000
AUDIO_PTIME = 0.020  # 20 ms Opus frames: 50 packets/s
NOISE_ROWS = 8  # a strip of fresh noise per frame keeps the encoder at its rate


@dataclass(frozen=True)
class EncodedClip:
    """Encoded frames (bytes each) played in a loop at `fps`."""

    kind: str
    packets: list[bytes]
    fps: float
    clock: int

    @property
    def bitrate(self) -> float:
        """Average payload bits per second over the loop."""
        total = sum(len(p) for p in self.packets)
        return total * 8 * self.fps / len(self.packets)


def _texture(seed: int, width: int, height: int, block: int) -> list[bytes]:
    """Rows of a random block texture, `width` wide (wider than the frame: it pans)."""
    rng = random.Random(seed)
    rows = []
    for _ in range(height // block):
        levels = bytes(rng.randrange(16, 236) for _ in range(width // block))
        row = b''.join(bytes([v]) * block for v in levels)
        rows.extend([row] * block)
    return rows


def encode_video(
    *, seed: int, seconds: float, fps: int, bitrate: int, gop_seconds: float = 2.0
) -> EncodedClip:
    """Encode a panning texture with a noise strip as 720p VP8 at about `bitrate`."""
    frames = int(seconds * fps)
    pan = 4
    texture = _texture(seed, WIDTH + pan * frames + 8, HEIGHT, 8)
    rng = random.Random(seed + 1)
    codec = av.CodecContext.create('libvpx', 'w')
    codec.width, codec.height = WIDTH, HEIGHT
    codec.pix_fmt = 'yuv420p'
    codec.time_base = fractions.Fraction(1, fps)
    codec.framerate = fractions.Fraction(fps, 1)
    codec.bit_rate = bitrate
    codec.gop_size = int(gop_seconds * fps)
    codec.options = {
        'deadline': 'realtime',
        'cpu-used': '8',
        'lag-in-frames': '0',
        'minrate': str(bitrate),
        'maxrate': str(bitrate),
        'bufsize': str(bitrate),
        'undershoot-pct': '95',
        'overshoot-pct': '15',
    }
    chroma = bytes([128]) * (WIDTH // 2 * HEIGHT // 2)
    packets: list[bytes] = []
    for index in range(frames):
        offset = index * pan
        top = (index * 7) % (HEIGHT - NOISE_ROWS)
        luma = bytearray(b''.join(row[offset : offset + WIDTH] for row in texture))
        luma[top * WIDTH : (top + NOISE_ROWS) * WIDTH] = rng.randbytes(
            NOISE_ROWS * WIDTH
        )
        frame = av.VideoFrame(WIDTH, HEIGHT, 'yuv420p')
        frame.planes[0].update(bytes(luma))
        frame.planes[1].update(chroma)
        frame.planes[2].update(chroma)
        frame.pts = index
        frame.time_base = codec.time_base
        if index == 0:
            frame.pict_type = av.video.frame.PictureType.I
        packets.extend(bytes(p) for p in codec.encode(frame))
    packets.extend(bytes(p) for p in codec.encode(None))
    # The loop restarts on frame 0, a keyframe: every stored frame is decodable.
    return EncodedClip('video', packets[:frames], fps, VIDEO_CLOCK)


def encode_audio(*, seconds: float, bitrate: int = 32_000) -> EncodedClip:
    """Encode a two-tone signal as 20 ms Opus frames (mono, 48 kHz)."""
    samples = int(seconds * AUDIO_RATE)
    pcm = array(
        'h',
        (
            int(
                6000 * math.sin(2 * math.pi * 440 * i / AUDIO_RATE)
                + 3000 * math.sin(2 * math.pi * 660 * i / AUDIO_RATE)
            )
            for i in range(samples)
        ),
    )
    codec = av.CodecContext.create('libopus', 'w')
    codec.sample_rate = AUDIO_RATE
    codec.layout = 'mono'
    codec.format = 's16'
    codec.bit_rate = bitrate
    codec.time_base = fractions.Fraction(1, AUDIO_RATE)
    codec.options = {'application': 'voip', 'frame_duration': '20'}
    step = int(AUDIO_RATE * AUDIO_PTIME)
    packets: list[bytes] = []
    for start in range(0, samples - step + 1, step):
        frame = av.AudioFrame(format='s16', layout='mono', samples=step)
        frame.planes[0].update(pcm[start : start + step].tobytes())
        frame.sample_rate = AUDIO_RATE
        frame.pts = start
        frame.time_base = codec.time_base
        packets.extend(bytes(p) for p in codec.encode(frame))
    packets.extend(bytes(p) for p in codec.encode(None))
    return EncodedClip('audio', packets, 1 / AUDIO_PTIME, AUDIO_RATE)


class LoopedTrack(MediaStreamTrack):
    """A track whose recv() returns pre-encoded av.Packets paced in real time.

    aiortc's RTCRtpSender packetizes av.Packets without re-encoding (encoder.pack).
    `sent_frames`/`sent_bytes` count what the sender was handed.
    """

    def __init__(self, clip: EncodedClip) -> None:
        super().__init__()
        self.kind = clip.kind
        self._clip = clip
        self._index = 0
        self._start: float | None = None
        self._time_base = fractions.Fraction(1, clip.clock)
        self._step = clip.clock / clip.fps
        self.sent_frames = 0
        self.sent_bytes = 0
        self._pos = 0  # position in the clip; jumps on a key frame request
        # A VP8 frame's first byte has P (inverse key frame flag) in bit 0.
        self._key_frames = [
            i
            for i, p in enumerate(clip.packets)
            if clip.kind == 'video' and not p[0] & 1
        ]
        self._key_wanted = False
        self.key_frame_requests = 0

    def request_key_frame(self) -> None:
        """Send a key frame next, as a browser answers a PLI (loop to a key frame)."""
        self.key_frame_requests += 1
        self._key_wanted = bool(self._key_frames)

    async def recv(self) -> av.Packet:
        if self._start is None:
            self._start = time.monotonic()
        due = self._start + self._index / self._clip.fps
        delay = due - time.monotonic()
        if delay > 0:
            await asyncio.sleep(delay)
        count = len(self._clip.packets)
        if self._key_wanted:
            self._key_wanted = False
            if self._pos % count not in self._key_frames:
                self._pos = self._key_frames[0]
        data = self._clip.packets[self._pos % count]
        self._pos += 1
        packet = av.Packet(data)
        packet.pts = int(self._index * self._step)
        packet.time_base = self._time_base
        self._index += 1
        self.sent_frames += 1
        self.sent_bytes += len(data)
        return packet
