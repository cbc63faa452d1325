"""Run Janus as a supervised child: start, health-check, restart, stop."""

from __future__ import annotations

import asyncio
import contextlib
import logging
from collections.abc import Awaitable, Callable
from pathlib import Path

import httpx

from .janus_api import server_info
from .janus_config import JanusSettings

log = logging.getLogger(__name__)

READY_TIMEOUT = 10.0
HEALTH_INTERVAL = 5.0
HEALTH_FAILURES = 3  # consecutive failed checks before Janus is killed and restarted
RESTART_DELAY = 0.5


class JanusProcess:
    """Keep one Janus running with `settings` until `stop()`."""

    def __init__(
        self,
        binary: str,
        settings: JanusSettings,
        http: httpx.AsyncClient,
        *,
        on_down: Callable[[], None],
        on_up: Callable[[], Awaitable[None]],
    ) -> None:
        self._binary = binary
        self.settings = settings
        self._http = http
        self._on_down = on_down
        self._on_up = on_up
        self._proc: asyncio.subprocess.Process | None = None
        self._supervisor: asyncio.Task | None = None
        self._stopping = False
        self.restarts = 0
        self.ready = asyncio.Event()

    @property
    def pid(self) -> int | None:
        return None if self._proc is None else self._proc.pid

    async def start(self) -> None:
        await self._spawn()
        self._supervisor = asyncio.create_task(self._supervise())

    async def _spawn(self) -> None:
        folder: Path = self.settings.folder
        log_file = (folder / 'janus.log').open('ab')
        try:
            self._proc = await asyncio.create_subprocess_exec(
                self._binary,
                f'--configs-folder={folder}',
                f'--config={self.settings.config_file}',
                '--disable-colors',
                stdin=asyncio.subprocess.DEVNULL,
                stdout=log_file,
                stderr=asyncio.subprocess.STDOUT,
            )
        finally:
            log_file.close()
        await self._wait_ready()
        log.info(
            'Janus %s ready (pid %s, API on 127.0.0.1:%s, ICE on %s)',
            self._binary,
            self._proc.pid,
            self.settings.http_port,
            self.settings.ice_ip,
        )
        self.ready.set()

    async def _wait_ready(self) -> None:
        deadline = asyncio.get_running_loop().time() + READY_TIMEOUT
        while True:
            if self._proc.returncode is not None:
                raise RuntimeError(
                    f'Janus exited with code {self._proc.returncode} at start; see '
                    f'{self.settings.folder / "janus.log"}'
                )
            try:
                await server_info(self._http, self.settings.api_url)
                return
            except httpx.HTTPError:
                if asyncio.get_running_loop().time() > deadline:
                    self._proc.kill()
                    raise RuntimeError(
                        f'Janus did not answer within {READY_TIMEOUT:.0f} s'
                    ) from None
                await asyncio.sleep(0.05)

    async def _supervise(self) -> None:
        while not self._stopping:
            waiter = asyncio.create_task(self._proc.wait())
            checker = asyncio.create_task(self._health())
            done, _ = await asyncio.wait(
                {waiter, checker}, return_when=asyncio.FIRST_COMPLETED
            )
            checker.cancel()
            if self._stopping:
                waiter.cancel()
                return
            if waiter not in done:  # health checks failed: Janus hangs
                log.warning('Janus stopped answering; killing pid %s', self._proc.pid)
                with contextlib.suppress(ProcessLookupError):
                    self._proc.kill()
                await waiter
            log.warning('Janus exited (code %s); restarting it', self._proc.returncode)
            self.ready.clear()
            self._on_down()
            while not self._stopping:
                await asyncio.sleep(RESTART_DELAY)
                try:
                    await self._spawn()
                    break
                except (RuntimeError, OSError) as ex:
                    log.error('Janus restart failed: %s', ex)
            self.restarts += 1
            try:
                await self._on_up()
            except Exception:
                log.exception('recovering after a Janus restart failed')

    async def _health(self) -> None:
        failures = 0
        while failures < HEALTH_FAILURES:
            await asyncio.sleep(HEALTH_INTERVAL)
            try:
                await server_info(self._http, self.settings.api_url)
                failures = 0
            except httpx.HTTPError:
                failures += 1

    async def stop(self) -> None:
        self._stopping = True
        if self._supervisor is not None:
            self._supervisor.cancel()
            with contextlib.suppress(asyncio.CancelledError):
                await self._supervisor
        proc = self._proc
        if proc is not None and proc.returncode is None:
            proc.terminate()
            try:
                await asyncio.wait_for(proc.wait(), 5)
            except TimeoutError:
                proc.kill()
                await proc.wait()
