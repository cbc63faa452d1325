"""Supervised child processes: start, health-check, stop by process group."""

from __future__ import annotations

import contextlib
import http.client
import os
import shutil
import signal
import socket
import ssl
import subprocess
import sys
import threading
import time
from collections import deque
from collections.abc import Callable, Iterable, Mapping
from pathlib import Path

from launcher.settings import StackError

STARTUP_TIMEOUT = 30.0
POLL_INTERVAL = 0.05
TAIL_LINES = 40


def http_ok(
    port: int, path: str, *, host: str = '127.0.0.1', tls: bool = False
) -> Callable[[], bool]:
    """Return a check that GET http(s)://host:port/path answers 200.

    With `tls`, the certificate is not verified: the check asks our own nginx
    whether it routes, whatever name the certificate carries.
    """

    def check() -> bool:
        if tls:
            context = ssl.create_default_context()
            context.check_hostname = False
            context.verify_mode = ssl.CERT_NONE
            conn = http.client.HTTPSConnection(host, port, timeout=2, context=context)
        else:
            conn = http.client.HTTPConnection(host, port, timeout=2)
        try:
            conn.request('GET', path)
            return conn.getresponse().status == 200
        except OSError:
            return False
        finally:
            conn.close()

    return check


def redis_ok(port: int) -> Callable[[], bool]:
    """Return a check that the redis-server on `port` answers PING."""

    def check() -> bool:
        try:
            with socket.create_connection(('127.0.0.1', port), timeout=2) as sock:
                sock.sendall(b'PING\r\n')
                # Protected mode or a password still prove the server is up.
                return sock.recv(64).startswith((b'+PONG', b'-NOAUTH'))
        except OSError:
            return False

    return check


def port_in_use(port: int, host: str = '127.0.0.1') -> bool:
    """Return whether something listens on host:port (TIME_WAIT does not count)."""
    family = socket.AF_INET6 if ':' in host else socket.AF_INET
    with socket.socket(family) as sock:
        # As the servers themselves do, so a quick restart is not refused.
        sock.setsockopt(socket.SOL_SOCKET, socket.SO_REUSEADDR, 1)
        try:
            sock.bind((host, port))
        except OSError:
            return True
    return False


Output = Callable[[str, str], None]


class TerminalOutput:
    """Print each child's lines with a name prefix, one writer at a time."""

    COLOURS = (36, 33, 35, 32, 34, 31, 96)

    def __init__(self, stream=None):
        self._stream = stream or sys.stdout
        self._lock = threading.Lock()
        self._colour = self._stream.isatty()
        self._names: dict[str, int] = {}

    def __call__(self, name: str, line: str) -> None:
        prefix = f'{name:>11} |'
        if self._colour:
            colour = self.COLOURS[self._names.setdefault(name, len(self._names)) % 7]
            prefix = f'\033[{colour}m{prefix}\033[0m'
        self.write(f'{prefix} {line}')

    def write(self, line: str) -> None:
        """Write one whole line; other threads' lines never land inside it."""
        with self._lock:
            self._stream.write(line + '\n')
            self._stream.flush()


def orphan_guard() -> list[str]:
    """Return a command prefix that makes a child die with its parent, if available."""
    setpriv = shutil.which('setpriv')  # util-linux, present on every Debian
    return [setpriv, '--pdeathsig', 'TERM', '--'] if setpriv else []


class Child:
    """One supervised process (and its process group)."""

    def __init__(
        self,
        name: str,
        argv: list[str],
        *,
        env: Mapping[str, str],
        cwd: Path,
        health: Callable[[], bool],
        log_path: Path,
        output: Output | None,
        stop_signal: int = signal.SIGTERM,
        stop_timeout: float = 15.0,
    ):
        self.name = name
        self.argv = argv
        self.env = dict(env)
        self.cwd = cwd
        self.health = health
        self.log_path = log_path
        self.stop_signal = stop_signal
        self.stop_timeout = stop_timeout
        self._output = output
        self._proc: subprocess.Popen | None = None
        self._reader: threading.Thread | None = None
        self._tail: deque[str] = deque(maxlen=TAIL_LINES)
        # Set when we stop or kill the child on purpose, so its exit is expected.
        self.stopping = False

    def __repr__(self) -> str:
        return f'<Child {self.name} pid={self.pid} alive={self.alive}>'

    @property
    def pid(self) -> int | None:
        return self._proc.pid if self._proc else None

    @property
    def alive(self) -> bool:
        return self._proc is not None and self._proc.poll() is None

    @property
    def returncode(self) -> int | None:
        return self._proc.poll() if self._proc else None

    @property
    def died(self) -> bool:
        """Return whether the child exited without being asked to."""
        return self._proc is not None and not self.stopping and not self.alive

    def tail(self, lines: int = 10) -> list[str]:
        """Return the child's last output lines."""
        return list(self._tail)[-lines:]

    def start(self) -> None:
        """Start the child in a new session, so terminal signals go to us only.

        The child gets SIGTERM if the thread that started it dies (setpriv
        --pdeathsig), so a SIGKILLed supervisor leaves no stack behind: start and
        restart children from a thread that lives as long as they should.
        """
        if self.alive:
            raise StackError(f'{self.name} is already running')
        self.stopping = False
        self._tail.clear()
        self._proc = subprocess.Popen(
            orphan_guard() + self.argv,
            cwd=self.cwd,
            env=self.env,
            stdin=subprocess.DEVNULL,
            stdout=subprocess.PIPE,
            stderr=subprocess.STDOUT,
            start_new_session=True,
        )
        self._reader = threading.Thread(
            target=self._pump, args=(self._proc,), name=f'log-{self.name}', daemon=True
        )
        self._reader.start()

    def _pump(self, proc: subprocess.Popen) -> None:
        with open(self.log_path, 'a', encoding='utf-8') as log:
            for raw in proc.stdout:
                line = raw.decode('utf-8', 'replace').rstrip('\r\n')
                self._tail.append(line)
                log.write(line + '\n')
                log.flush()
                if self._output is not None:
                    self._output(self.name, line)
        proc.stdout.close()

    def healthy(self) -> bool:
        return self.alive and self.health()

    def signal(self, signum: int) -> None:
        """Send `signum` to the child's whole process group."""
        if self._proc is None:
            return
        with contextlib.suppress(ProcessLookupError, PermissionError):
            os.killpg(self._proc.pid, signum)

    def begin_stop(self) -> None:
        """Ask the child to stop without waiting (see `finish_stop`)."""
        self.stopping = True
        if self.alive:
            self.signal(self.stop_signal)

    def finish_stop(self) -> None:
        """Wait for the child to stop; kill its group if it takes too long."""
        if self._proc is None:
            return
        try:
            self._proc.wait(timeout=self.stop_timeout)
        except subprocess.TimeoutExpired:
            self.signal(signal.SIGKILL)
            self._proc.wait(timeout=10)
        # Leftovers (say, a worker whose master was SIGKILLed) share the group.
        self.signal(signal.SIGKILL)
        if self._reader is not None:
            self._reader.join(timeout=5)

    def stop(self) -> None:
        """Stop the child and everything it started."""
        self.begin_stop()
        self.finish_stop()

    def kill(self) -> None:
        """SIGKILL the child's whole group at once (for fault-injection tests)."""
        self.stopping = True
        self.signal(signal.SIGKILL)
        if self._proc is not None:
            self._proc.wait(timeout=10)
        if self._reader is not None:
            self._reader.join(timeout=5)

    def wait_healthy(self, timeout: float = STARTUP_TIMEOUT) -> None:
        """Wait until the child's health check passes, or raise StackError."""
        wait_all_healthy([self], timeout)

    def restart(self, timeout: float = STARTUP_TIMEOUT) -> None:
        """Stop the child if it runs, start it again and wait until it is healthy."""
        self.stop()
        self.start()
        self.wait_healthy(timeout)


def describe_death(child: Child) -> str:
    lines = '\n'.join(f'    {line}' for line in child.tail())
    return (
        f'{child.name} exited unexpectedly (exit code {child.returncode}). '
        f'Its last lines (full log: {child.log_path}):\n{lines}'
    )


def wait_all_healthy(
    children: Iterable[Child],
    timeout: float = STARTUP_TIMEOUT,
    cancel: threading.Event | None = None,
) -> None:
    """Wait until every child is healthy; fail fast when one dies."""
    waiting = list(children)
    deadline = time.monotonic() + timeout
    while waiting:
        for child in list(waiting):
            if not child.alive:
                raise StackError(describe_death(child))
            if child.health():
                waiting.remove(child)
        if not waiting:
            return
        if cancel is not None and cancel.is_set():
            raise StackError('interrupted while starting')
        if time.monotonic() > deadline:
            names = ', '.join(c.name for c in waiting)
            raise StackError(
                f'{names} did not become healthy within {timeout:.0f} s; see the '
                f'logs in {waiting[0].log_path.parent}'
            )
        time.sleep(POLL_INTERVAL)
