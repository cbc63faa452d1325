"""Packet times in an .mjr: the least-delayed packet dates the first one."""

from __future__ import annotations

import json
import struct

from local_video.mjr_timing import earliest_start_us

WRITTEN_US = 1_700_000_000_000_000


def mjr(tmp_path, packets: list[tuple[int, int]], name='t.mjr'):
    """Write an MJR00002 file of (arrival ms after the first, RTP timestamp)."""
    header = json.dumps({'t': 'v', 'c': 'vp8', 's': 1, 'u': WRITTEN_US}).encode()
    body = b'MJR00002' + struct.pack('>H', len(header)) + header
    for arrival, ts in packets:
        rtp = struct.pack('>BBHII', 0x80, 96, 1, ts, 0xAABBCCDD) + b'payload'
        body += b'MEET' + struct.pack('>IH', arrival, len(rtp)) + rtp
    path = tmp_path / name
    path.write_bytes(body)
    return path


def test_a_late_first_packet_moves_the_start_earlier(tmp_path):
    # Frames every 33 ms; the first arrived 80 ms later than the least-delayed
    # ones (arrival times only grow: the next ones come after it).
    packets = [(0, 0)] + [(33 * i - 80 + 10 * (i % 3), 2970 * i) for i in range(3, 30)]
    start = earliest_start_us(mjr(tmp_path, packets), WRITTEN_US, 'vp8')
    assert start == WRITTEN_US - 80_000


def test_a_first_packet_with_the_least_delay_keeps_written(tmp_path):
    packets = [(20 * i + (5 if i else 0), 960 * i) for i in range(50)]
    assert earliest_start_us(mjr(tmp_path, packets), WRITTEN_US, 'opus') == WRITTEN_US


def test_rtp_timestamps_wrap_around(tmp_path):
    base = 2**32 - 2 * 2970
    packets = [(0, base)] + [
        (33 * i - 40, (base + 2970 * i) % 2**32) for i in range(2, 10)
    ]
    start = earliest_start_us(mjr(tmp_path, packets), WRITTEN_US, 'vp8')
    assert start == WRITTEN_US - 40_000


def test_a_torn_or_foreign_file_keeps_written(tmp_path):
    whole = mjr(tmp_path, [(0, 0), (10, 900)]).read_bytes()
    torn = tmp_path / 'torn.mjr'
    torn.write_bytes(whole[:-5])
    assert earliest_start_us(torn, WRITTEN_US, 'vp8') == WRITTEN_US
    other = tmp_path / 'old.mjr'
    other.write_bytes(b'MJR00001' + whole[8:])
    assert earliest_start_us(other, WRITTEN_US, 'vp8') == WRITTEN_US
