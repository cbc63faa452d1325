"""What a result was measured on: hardware, software versions, load."""

from __future__ import annotations

import os
import platform
import subprocess
from importlib import metadata

PACKAGES = ('falcon', 'gunicorn', 'uvicorn', 'uvicorn-worker', 'redis', 'twilio',
            'flask', 'httpx')  # fmt: skip


def _cpu_model() -> str:
    try:
        with open('/proc/cpuinfo') as f:
            for line in f:
                if line.startswith('model name'):
                    return line.split(':', 1)[1].strip()
    except OSError:
        pass
    return platform.processor() or 'unknown'


def _ram_gib() -> float:
    with open('/proc/meminfo') as f:
        for line in f:
            if line.startswith('MemTotal:'):
                return int(line.split()[1]) / 1024 / 1024
    return 0.0


def _command_version(argv: list[str]) -> str:
    try:
        done = subprocess.run(argv, capture_output=True, text=True, timeout=10)
    except (OSError, subprocess.TimeoutExpired):
        return 'not installed'
    text = (done.stdout or done.stderr).strip().splitlines()
    return text[0] if text else 'unknown'


def _git(*args: str) -> str:
    try:
        done = subprocess.run(
            ['git', *args], capture_output=True, text=True, timeout=10
        )
    except (OSError, subprocess.TimeoutExpired):
        return ''
    return done.stdout.strip()


def load_average() -> list[float]:
    return [round(x, 2) for x in os.getloadavg()]


def describe() -> dict:
    versions = {}
    for name in PACKAGES:
        try:
            versions[name] = metadata.version(name)
        except metadata.PackageNotFoundError:
            versions[name] = 'not installed'
    return {
        'cores': os.cpu_count(),
        'cpu_model': _cpu_model(),
        'ram_gib': round(_ram_gib(), 1),
        'kernel': platform.release(),
        'python': platform.python_version(),
        'packages': versions,
        'redis_server': _command_version(['redis-server', '--version']),
        'wrk': _command_version(['wrk', '-v']),
        'git_commit': _git('rev-parse', '--short', 'HEAD'),
        'git_dirty': bool(_git('status', '--porcelain')),
        'load_average_at_start': load_average(),
    }
