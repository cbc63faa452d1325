"""Run janus-pp-rec and ffprobe: the file tools recordings and compositions share."""

from __future__ import annotations

import asyncio
import json
from dataclasses import dataclass


@dataclass(frozen=True)
class Ran:
    returncode: int
    stdout: str
    stderr: str


async def run(args: list[str], timeout: float = 600.0) -> Ran:
    """Run a program to its end; a missing binary is a failed run, not a crash."""
    try:
        process = await asyncio.create_subprocess_exec(
            *args,
            stdin=asyncio.subprocess.DEVNULL,
            stdout=asyncio.subprocess.PIPE,
            stderr=asyncio.subprocess.PIPE,
        )
    except OSError as ex:
        return Ran(127, '', f'{args[0]}: {ex.strerror}')
    try:
        out, err = await asyncio.wait_for(process.communicate(), timeout)
    except (TimeoutError, asyncio.CancelledError):
        process.kill()
        await process.wait()
        raise
    return Ran(
        process.returncode, out.decode(errors='replace'), err.decode(errors='replace')
    )


def last_line(text: str) -> str:
    """The last non-empty line of a tool's output: usually the reason it failed."""
    lines = [line.strip() for line in text.splitlines() if line.strip()]
    return lines[-1][:300] if lines else 'no output'


@dataclass(frozen=True)
class MjrHeader:
    codec: str  # opus | vp8 | h264 ...
    first_packet_us: int  # wall clock when Janus wrote the first packet


def parse_mjr_header(text: str) -> MjrHeader:
    """Read `janus-pp-rec --json`: {"c": codec, "s": created, "u": first written}."""
    header = json.loads(text.strip().splitlines()[-1])
    return MjrHeader(
        codec=str(header.get('c', '')).lower(),
        first_packet_us=int(header.get('u') or header.get('s') or 0),
    )


async def probe_duration(ffprobe: str, path: str, run_tool=None) -> float:
    ran = await (run_tool or run)(
        [
            ffprobe,
            '-v',
            'error',
            '-show_entries',
            'format=duration',
            '-of',
            'csv=p=0',
            path,
        ],
        timeout=60,
    )
    try:
        return float(ran.stdout.strip())
    except ValueError:
        return 0.0


def ffprobe_for(ffmpeg: str) -> str:
    """ffprobe ships beside ffmpeg (Debian's ffmpeg package has both)."""
    head, sep, tail = ffmpeg.rpartition('/')
    return f'{head}{sep}{tail.replace("ffmpeg", "ffprobe")}'
