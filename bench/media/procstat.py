"""CPU time of processes and of the whole machine, from /proc (Linux only)."""

from __future__ import annotations

import os
from pathlib import Path

CLOCK_TICKS = os.sysconf('SC_CLK_TCK')


def _stat_fields(pid: int) -> list[str]:
    text = Path(f'/proc/{pid}/stat').read_text()
    # comm (field 2) may hold spaces: split after its closing parenthesis.
    head, _, tail = text.rpartition(')')
    return [head.split(' (', 1)[1], *tail.split()]  # [comm, state, ppid, ...]


def cpu_seconds(pid: int) -> float:
    """User + system CPU seconds of `pid` (all its threads); 0.0 once it is gone."""
    try:
        fields = _stat_fields(pid)
    except (OSError, IndexError):
        return 0.0
    # After comm: state=1, ppid=2, ... utime=12, stime=13 (stat fields 14 and 15).
    return (int(fields[12]) + int(fields[13])) / CLOCK_TICKS


def children(pid: int, name: str | None = None) -> list[int]:
    """Direct children of `pid` (optionally only those whose comm is `name`)."""
    found = []
    for entry in Path('/proc').iterdir():
        if not entry.name.isdigit():
            continue
        try:
            fields = _stat_fields(int(entry.name))
        except (OSError, IndexError):
            continue
        if int(fields[2]) == pid and (name is None or fields[0] == name):
            found.append(int(entry.name))
    return sorted(found)


def machine_seconds() -> tuple[float, float]:
    """(busy, total) CPU seconds of all cores since boot, from /proc/stat."""
    values = [int(v) for v in Path('/proc/stat').read_text().split('\n')[0].split()[1:]]
    idle = values[3] + values[4]  # idle + iowait
    total = sum(values[:8])  # guest time is already inside user/nice
    return (total - idle) / CLOCK_TICKS, total / CLOCK_TICKS


def udp_receive_drops() -> int:
    """Datagrams the kernel dropped for full socket buffers, machine-wide.

    Drops here mean a receiving process (usually an attendee process starved of
    CPU) fell behind, not that the media server lost packets.
    """
    lines = [line.split() for line in Path('/proc/net/snmp').read_text().splitlines()]
    udp = [line for line in lines if line[0] == 'Udp:']
    return int(dict(zip(udp[0][1:], udp[1][1:], strict=True))['RcvbufErrors'])
