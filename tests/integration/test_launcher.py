"""`python -m launcher up` (what `bin/podium up` runs) as a user sees it."""

from __future__ import annotations

import os
import queue
import signal
import socket
import subprocess
import sys
import threading
import time
from pathlib import Path

import httpx
import pytest

from launcher import ROOT, Ports
from tests.integration.conftest import launcher_environ, stack_env

pytestmark = [pytest.mark.integration, pytest.mark.timeout(60)]

UP_TIMEOUT = 30.0
EXIT_TIMEOUT = 30.0


def process_table() -> dict[int, tuple[int, str]]:
    """Return {pid: (parent pid, state)} for every process, from /proc."""
    table = {}
    for entry in Path('/proc').iterdir():
        if not entry.name.isdigit():
            continue
        try:
            stat = (entry / 'stat').read_text()
        except OSError:
            continue  # exited while we looked
        state, ppid = stat.rsplit(')', 1)[1].split()[:2]
        table[int(entry.name)] = (int(ppid), state)
    return table


def descendants(pid: int) -> set[int]:
    """Return the pids of every live process below `pid`."""
    table = process_table()
    found, frontier = set(), {pid}
    while frontier:
        children = {p for p, (ppid, _) in table.items() if ppid in frontier}
        frontier = children - found
        found |= children
    return found


def still_running(pids: set[int]) -> set[int]:
    """Return the pids that still run (a zombie has finished running)."""
    table = process_table()
    return {p for p in pids if p in table and table[p][1] != 'Z'}


class Launcher:
    """`python -m launcher up` in its own session, as a terminal would run it."""

    def __init__(self, environ: dict[str, str], run_dir: Path, env_file: Path):
        self.proc = subprocess.Popen(
            [sys.executable, '-m', 'launcher', 'up',
             '--run-dir', str(run_dir), '--env-file', str(env_file)],
            cwd=ROOT,
            env=environ,
            stdin=subprocess.DEVNULL,
            stdout=subprocess.PIPE,
            stderr=subprocess.PIPE,
            text=True,
            start_new_session=True,
        )  # fmt: skip
        self.stdout: queue.Queue[str] = queue.Queue()
        self.stderr: list[str] = []
        self._stdout_reader = threading.Thread(target=self._read_stdout, daemon=True)
        self._stdout_reader.start()
        self._stderr_reader = threading.Thread(target=self._read_stderr, daemon=True)
        self._stderr_reader.start()

    def _read_stdout(self) -> None:
        for line in self.proc.stdout:
            self.stdout.put(line.rstrip('\n'))

    def _read_stderr(self) -> None:
        for line in self.proc.stderr:
            self.stderr.append(line.rstrip('\n'))

    def wait_for_up(self) -> str:
        """Return the URL from the 'Podium is up' line."""
        deadline = time.monotonic() + UP_TIMEOUT
        while True:
            remaining = deadline - time.monotonic()
            assert remaining > 0, f'no "Podium is up" line; stderr: {self.stderr}'
            try:
                line = self.stdout.get(timeout=min(remaining, 0.5))
            except queue.Empty:
                assert self.proc.poll() is None, f'launcher exited: {self.stderr}'
                continue
            if line.startswith('Podium is up: open '):
                return line.removeprefix('Podium is up: open ')

    def wait(self) -> int:
        code = self.proc.wait(timeout=EXIT_TIMEOUT)
        self._stderr_reader.join(timeout=5)
        return code

    def error_output(self) -> str:
        return '\n'.join(self.stderr)

    def kill_everything(self) -> None:
        """Last-resort cleanup when a test failed half-way."""
        pids = descendants(self.proc.pid)
        if self.proc.poll() is None:
            self.proc.kill()
            self.proc.wait()
        for pid in pids:
            try:
                os.killpg(pid, signal.SIGKILL)
            except OSError:
                pass

    def close(self) -> None:
        """Close our ends of the pipes once the readers saw them end.

        Left to the garbage collector they raise ResourceWarning, which the
        suite turns into an error in whichever test runs next.
        """
        for reader in (self._stdout_reader, self._stderr_reader):
            reader.join(timeout=5)
        self.proc.stdout.close()
        self.proc.stderr.close()


@pytest.fixture
def launch(fake_twilio, tmp_path):
    """Return a function that starts the launcher on free ports; clean up after."""
    launched: list[Launcher] = []
    empty_env_file = tmp_path / 'empty.env'
    empty_env_file.write_text('# the developer .env must not leak into tests\n')

    def start(**overrides: str) -> tuple[Launcher, Ports]:
        ports = Ports.free()
        environ = launcher_environ(stack_env(fake_twilio, ports), ports)
        for name, value in overrides.items():
            if value is None:
                environ.pop(name, None)
            else:
                environ[name] = value
        launcher = Launcher(environ, tmp_path / f'run{len(launched)}', empty_env_file)
        launched.append(launcher)
        return launcher, ports

    yield start
    for launcher in launched:
        launcher.kill_everything()
        launcher.close()


def test_up_prints_the_url_and_ctrl_c_stops_every_child(launch):
    launcher, ports = launch()
    url = launcher.wait_for_up()
    assert url == f'http://127.0.0.1:{ports.http}'
    assert httpx.get(f'{url}/live/healthz', timeout=10).status_code == 200
    children = descendants(launcher.proc.pid)
    # redis, nginx (+ worker), three gunicorn masters (+ one worker each)
    assert len(children) >= 9, children

    os.killpg(launcher.proc.pid, signal.SIGINT)  # what a terminal's Ctrl-C does

    assert launcher.wait() == 0, launcher.error_output()
    assert still_running(children) == set()
    for port in (ports.http, ports.web, ports.token, ports.webhooks, ports.redis):
        with pytest.raises(ConnectionRefusedError):  # nothing kept listening
            socket.create_connection(('127.0.0.1', port), timeout=5).close()


def test_up_shuts_everything_down_when_a_child_dies(launch):
    launcher, ports = launch()
    launcher.wait_for_up()
    children = descendants(launcher.proc.pid)
    webhooks = next(
        pid
        for pid, (ppid, _) in process_table().items()
        if ppid == launcher.proc.pid
        and b'webhooks.conf.py' in Path(f'/proc/{pid}/cmdline').read_bytes()
    )

    os.killpg(webhooks, signal.SIGKILL)

    assert launcher.wait() == 1
    errors = launcher.error_output()
    assert 'webhooks exited unexpectedly' in errors
    assert 'shutting everything down' in errors
    assert still_running(children) == set()


def test_up_names_the_missing_twilio_variable(launch):
    launcher, _ = launch(TWILIO_API_KEY_SID=None, TWILIO_AUTH_TOKEN=None)
    assert launcher.wait() == 2
    errors = launcher.error_output()
    assert 'TWILIO_API_KEY_SID is not set' in errors
    assert 'TWILIO_AUTH_TOKEN' in errors
    assert launcher.stdout.empty()  # never claimed to be up


def test_up_refuses_a_port_that_is_taken(launch):
    with socket.socket() as taken:
        taken.bind(('127.0.0.1', 0))
        taken.listen()
        port = taken.getsockname()[1]
        launcher, _ = launch(PODIUM_HTTP_PORT=str(port))
        assert launcher.wait() == 2
    errors = launcher.error_output()
    assert f'Port {port} (PODIUM_HTTP_PORT) is already in use' in errors
