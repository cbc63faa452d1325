"""Sample a server process with py-spy while it is under load, and summarise.

`record()` runs `py-spy record --format raw` (collapsed stacks) for a while;
`top()` turns those into the functions that hold the most samples, by self time
(the frame on top of the stack) and by total time (anywhere on the stack).
"""

from __future__ import annotations

import collections
import shutil
import subprocess
from pathlib import Path


def available() -> bool:
    return shutil.which('py-spy') is not None or _venv_pyspy().exists()


def _venv_pyspy() -> Path:
    import sys

    return Path(sys.executable).parent / 'py-spy'


def start(pid: int, seconds: float, out: Path, rate: int = 250) -> subprocess.Popen:
    """Start sampling `pid` (and its threads) for `seconds`; return the py-spy child."""
    binary = shutil.which('py-spy') or str(_venv_pyspy())
    return subprocess.Popen(
        [binary, 'record', '--pid', str(pid), '--duration', str(int(seconds)),
         '--rate', str(rate), '--format', 'raw', '--output', str(out),
         '--nonblocking', '--gil'],
        stdout=subprocess.DEVNULL,
        stderr=subprocess.PIPE,
    )  # fmt: skip


def top(raw: Path, limit: int = 20, skip_idle: bool = True) -> dict:
    """Return the top functions by self and total samples of a raw py-spy profile."""
    own: collections.Counter[str] = collections.Counter()
    total: collections.Counter[str] = collections.Counter()
    samples = 0
    for line in raw.read_text().splitlines():
        stack, _, count = line.rpartition(' ')
        if not stack:
            continue
        frames = [f for f in stack.split(';') if not f.startswith('thread (')]
        if skip_idle and frames and _idle(frames[-1]):
            continue
        n = int(count)
        samples += n
        if frames:
            own[_short(frames[-1])] += n
        for name in {_function(f) for f in frames}:
            total[name] += n
    return {
        'samples': samples,
        'self': [(name, n / samples) for name, n in own.most_common(limit)],
        'total': [(name, n / samples) for name, n in total.most_common(limit)],
    }


def _short(frame: str) -> str:
    # "func (path/to/module.py:123)" -> "func (module.py:123)"
    name, _, where = frame.partition(' (')
    return f'{name} ({where.rsplit("/", 1)[-1]}' if where else name


def _function(frame: str) -> str:
    # "func (path/to/module.py:123)" -> "func (module.py)": every line of it.
    return _short(frame).rsplit(':', 1)[0] + ')' if ' (' in frame else frame


def _idle(frame: str) -> bool:
    """Threads waiting for work are not what costs time under load."""
    return any(
        word in frame
        for word in ('wait (threading.py', 'select (selectors.py', '_worker (thread.py')
    )


def format_top(result: dict, limit: int = 12) -> str:
    lines = [f'{result["samples"]} samples (idle waits excluded)', 'self:']
    lines += [f'  {share:6.1%}  {name}' for name, share in result['self'][:limit]]
    lines.append('total (inclusive):')
    lines += [f'  {share:6.1%}  {name}' for name, share in result['total'][:limit]]
    return '\n'.join(lines)
