"""Starting and stopping the processes a benchmark measures, on loopback only."""

from __future__ import annotations

import os
import shutil
import signal
import socket
import subprocess
import sys
import time
import urllib.request
from collections.abc import Mapping
from pathlib import Path

ROOT = Path(__file__).resolve().parent.parent
GUNICORN_DIR = ROOT / 'deploy' / 'gunicorn'


def free_port() -> int:
    """Return a loopback TCP port nothing listens on right now."""
    with socket.socket() as sock:
        sock.bind(('127.0.0.1', 0))
        return sock.getsockname()[1]


def wait_port(port: int, timeout: float = 20.0) -> None:
    deadline = time.monotonic() + timeout
    while time.monotonic() < deadline:
        try:
            with socket.create_connection(('127.0.0.1', port), timeout=0.2):
                return
        except OSError:
            time.sleep(0.05)
    raise TimeoutError(f'nothing listens on 127.0.0.1:{port} after {timeout} s')


def wait_http(url: str, timeout: float = 30.0, proc: Proc | None = None) -> None:
    """Wait until `url` answers 2xx (fail fast if `proc` dies meanwhile)."""
    deadline = time.monotonic() + timeout
    while time.monotonic() < deadline:
        if proc is not None and not proc.alive:
            raise RuntimeError(f'{proc.name} exited; see {proc.log_path}')
        try:
            with urllib.request.urlopen(url, timeout=1) as resp:
                if 200 <= resp.status < 300:
                    return
        except OSError:
            pass
        time.sleep(0.1)
    raise TimeoutError(f'{url} did not answer within {timeout} s')


def ready(proc: Proc, url: str) -> Proc:
    """Wait until a started server answers `url`; stop it if it never does."""
    try:
        wait_http(url, proc=proc)
    except BaseException:
        proc.stop()
        raise
    return proc


class Proc:
    """One child process in its own process group, output to a log file."""

    def __init__(
        self,
        name: str,
        argv: list[str],
        log_dir: Path,
        env: Mapping[str, str] | None = None,
    ):
        self.name = name
        self.argv = argv
        self.log_path = log_dir / f'{name}.log'
        self._env = dict(os.environ if env is None else env)
        self._proc: subprocess.Popen | None = None

    def start(self) -> Proc:
        log = open(self.log_path, 'ab')  # noqa: SIM115 (lives as long as the child)
        self._proc = subprocess.Popen(
            self.argv,
            cwd=ROOT,
            env=self._env,
            stdout=log,
            stderr=subprocess.STDOUT,
            start_new_session=True,
        )
        log.close()
        return self

    @property
    def pid(self) -> int:
        assert self._proc is not None
        return self._proc.pid

    @property
    def alive(self) -> bool:
        return self._proc is not None and self._proc.poll() is None

    def stop(self, timeout: float = 15.0) -> None:
        if self._proc is None:
            return
        try:
            os.killpg(self._proc.pid, signal.SIGTERM)
        except ProcessLookupError:
            pass
        try:
            self._proc.wait(timeout=timeout)
        except subprocess.TimeoutExpired:
            pass
        # Leftovers (workers of a master that is gone) share the group.
        try:
            os.killpg(self._proc.pid, signal.SIGKILL)
        except ProcessLookupError:
            pass
        self._proc.wait(timeout=5)
        self._proc = None

    def __enter__(self) -> Proc:
        return self

    def __exit__(self, *exc) -> None:
        self.stop()


def start_redis(log_dir: Path) -> tuple[Proc, str]:
    """Start a private redis-server on a free port; return it and its URL."""
    binary = shutil.which('redis-server')
    if binary is None:
        raise RuntimeError('redis-server is missing: apt-get install redis-server')
    port = free_port()
    data = log_dir / 'redis'
    data.mkdir(exist_ok=True)
    proc = Proc(
        'redis',
        [binary, '--port', str(port), '--bind', '127.0.0.1', '--save', '',
         '--appendonly', 'no', '--dir', str(data)],
        log_dir,
    ).start()  # fmt: skip
    wait_port(port)
    return proc, f'redis://127.0.0.1:{port}/0'


def gunicorn(
    name: str,
    app: str,
    log_dir: Path,
    env: Mapping[str, str],
    *,
    conf: str | None = None,
    args: list[str] = (),
) -> Proc:
    """Return (not started) a gunicorn running `app`, with a deploy config or args."""
    argv = [sys.executable, '-m', 'gunicorn']
    if conf:
        argv += ['-c', str(GUNICORN_DIR / conf)]
    argv += [*args, app]
    return Proc(name, argv, log_dir, env)


def children_of(pid: int) -> list[int]:
    """Return the pids whose parent is `pid` (gunicorn's workers)."""
    found = []
    for entry in os.listdir('/proc'):
        if not entry.isdigit():
            continue
        try:
            with open(f'/proc/{entry}/stat') as f:
                stat = f.read()
        except OSError:
            continue
        # The command name may hold spaces; the ppid follows the closing paren.
        ppid = int(stat.rsplit(')', 1)[1].split()[1])
        if ppid == pid:
            found.append(int(entry))
    return sorted(found)


def rss_kib(pid: int) -> int:
    """Return a process's resident set size in KiB."""
    with open(f'/proc/{pid}/status') as f:
        for line in f:
            if line.startswith('VmRSS:'):
                return int(line.split()[1])
    raise RuntimeError(f'no VmRSS for pid {pid}')


def base_env(extra: Mapping[str, str]) -> dict[str, str]:
    """Return this environment minus Podium/Twilio settings, plus `extra`."""
    env = {
        k: v for k, v in os.environ.items() if not k.startswith(('PODIUM_', 'TWILIO_'))
    }
    env['PYTHONUNBUFFERED'] = '1'
    env.update(extra)
    return env


def cpu_seconds(pid: int, reaped_children: bool = False) -> float:
    """Return the user + system CPU time a process has used, in seconds.

    With `reaped_children`, add the time of its children that have exited and
    been waited for (a gunicorn master's recycled workers).
    """
    with open(f'/proc/{pid}/stat') as f:
        fields = f.read().rsplit(')', 1)[1].split()
    # stat(5) fields 14-17 (utime, stime, cutime, cstime); fields[0] is field 3.
    ticks = int(fields[11]) + int(fields[12])
    if reaped_children:
        ticks += int(fields[13]) + int(fields[14])
    return ticks / os.sysconf('SC_CLK_TCK')


def group_cpu_seconds(master: int) -> float:
    """Return the CPU time of a gunicorn master and all its workers, dead or alive."""
    total = cpu_seconds(master, reaped_children=True)
    for pid in children_of(master):
        try:
            total += cpu_seconds(pid)
        except OSError:
            pass  # exited just now; counted once the master reaps it
    return total
