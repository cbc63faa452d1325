"""Run coturn for a test with deploy/coturn/turnserver.conf.template."""

from __future__ import annotations

import shutil
import subprocess
from collections.abc import Mapping
from pathlib import Path

from launcher.coturn import render_coturn_conf
from tests.conftest import wait_for_port


class TurnServer:
    """coturn on `settings['PODIUM_TURN_LISTEN_IP']`, stopped on exit."""

    def __init__(self, settings: Mapping[str, str], folder: Path) -> None:
        self.binary = shutil.which('turnserver')
        if self.binary is None:
            raise RuntimeError(
                'coturn is not installed: run bin/podium test (or bin/podium '
                'install --test), which installs it'
            )
        self.settings = dict(settings)
        self.folder = folder
        self.proc: subprocess.Popen | None = None
        self.log = folder / 'turnserver.log'

    def __enter__(self) -> TurnServer:
        self.folder.mkdir(parents=True, exist_ok=True)
        conf = self.folder / 'turnserver.conf'
        conf.touch(mode=0o600)
        conf.write_text(
            render_coturn_conf(
                {**self.settings, 'PODIUM_TURN_PID_FILE': str(self.folder / 'pid')}
            )
        )
        with open(self.log, 'wb') as log:
            self.proc = subprocess.Popen(
                [self.binary, '-c', str(conf), '--verbose'],
                stdout=log,
                stderr=subprocess.STDOUT,
                start_new_session=True,
            )
        try:
            wait_for_port(
                int(self.settings['PODIUM_TURN_PORT']),
                host=self.settings['PODIUM_TURN_LISTEN_IP'],
            )
        except BaseException:
            self.__exit__()
            raise
        return self

    def __exit__(self, *exc) -> None:
        if self.proc is not None and self.proc.poll() is None:
            self.proc.terminate()
            try:
                self.proc.wait(5)
            except subprocess.TimeoutExpired:
                self.proc.kill()
                self.proc.wait(5)

    def log_tail(self, lines: int = 30) -> str:
        text = self.log.read_text(errors='replace') if self.log.exists() else ''
        return '\n'.join(text.splitlines()[-lines:])
