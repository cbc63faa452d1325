"""When a Janus recording's first packet was really sent, from the .mjr itself.

The header's "u" is when Janus wrote the first packet; a video track's first
packet comes late (the encoder's first keyframe), so lining tracks up by "u"
put the screen up to ~100 ms behind the voice (bench/av_sync.py). Each packet
in an MJR00002 file carries when it arrived (ms after the first one) and its RTP
timestamp (the sender's capture clock): the packet with the least delay tells
when the first one would have arrived without the extra delay.

Packet framing (janus recorder.c): b'MEET', uint32 arrival ms after the first
packet, uint16 length, then the RTP packet.
"""

from __future__ import annotations

import struct
from pathlib import Path

CLOCK_RATES = {'opus': 48_000, 'g711': 8_000, 'pcmu': 8_000, 'pcma': 8_000}
VIDEO_CLOCK = 90_000
MAGIC = b'MEET'


def clock_rate(codec: str) -> int:
    return CLOCK_RATES.get(codec.lower(), VIDEO_CLOCK)


def earliest_start_us(path: Path, written_us: int, codec: str) -> int:
    """Return when the first packet would have arrived with the least delay seen.

    At most `written_us`; `written_us` itself if the file has no usable packets.
    """
    rate = clock_rate(codec)
    best = 0.0  # ms; the first packet's own lateness relative to itself is 0
    with path.open('rb') as handle:
        if handle.read(8) != b'MJR00002':
            return written_us
        (header_length,) = struct.unpack('>H', handle.read(2))
        handle.seek(header_length, 1)
        first_ts = last_ts = None
        unwrapped = 0
        while True:
            head = handle.read(10)
            if len(head) < 10 or head[:4] != MAGIC:
                break
            arrival_ms, length = struct.unpack('>IH', head[4:])
            packet = handle.read(length)
            if len(packet) < 12:
                break
            (ts,) = struct.unpack('>I', packet[4:8])
            if first_ts is None:
                first_ts = last_ts = ts
            step = (ts - last_ts + 2**31) % 2**32 - 2**31  # signed, across wraps
            unwrapped += step
            last_ts = ts
            sent_ms = unwrapped * 1000 / rate
            best = min(best, arrival_ms - sent_ms)
    return written_us + int(best * 1000)
