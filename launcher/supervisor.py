"""The whole of Podium as one object: `Stack(env, run_dir, ports).start()`."""

from __future__ import annotations

import os
import shutil
import signal
import sys
import threading
from collections.abc import Mapping
from pathlib import Path
from urllib.parse import urlsplit

from launcher.nginx import nginx_argv, write_nginx_files
from launcher.processes import (
    STARTUP_TIMEOUT,
    Child,
    Output,
    http_ok,
    port_in_use,
    redis_ok,
    wait_all_healthy,
)
from launcher.settings import (
    DEFAULT_STACK_GRACEFUL_TIMEOUT,
    DEPLOY_DIR,
    EXIT_CONFIG,
    LOOPBACK_HOSTS,
    OWN_PREFIXES,
    ROOT,
    Ports,
    StackError,
    clean_settings,
    nginx_listen_address,
    persistent_secret_key,
    resolve_backend,
    tls_files,
)
from podium.config import service_environment

GUNICORN_DIR = DEPLOY_DIR / 'gunicorn'


class Stack:
    """Redis, the three services, the local video backend (if used) and nginx.

    `env` holds Podium's settings (PODIUM_*, TWILIO_*); the children get them on
    top of the supervisor's own environment minus any other PODIUM_*/TWILIO_*.
    `ports` overrides the PODIUM_*_PORT settings (tests pass `Ports.free()`).
    """

    def __init__(
        self,
        env: Mapping[str, str],
        run_dir: Path,
        ports: Ports | None = None,
        *,
        output: Output | None = None,
        root: Path = ROOT,
        startup_timeout: float = STARTUP_TIMEOUT,
    ):
        settings = clean_settings(env)
        self.ports = ports or Ports.from_env(settings)
        settings.update(self.ports.as_env(settings.get('PODIUM_REDIS_URL')))
        # nginx serves https itself when given a certificate (PODIUM_TLS_*).
        self.tls = tls_files(settings)
        self.listen = nginx_listen_address(settings)
        settings.setdefault(
            'PODIUM_PUBLIC_URL',
            f'https://localhost:{self.ports.https}'
            if self.tls
            else f'http://localhost:{self.ports.http}',
        )
        if self.tls:
            # Checked again now that the default public URL is in.
            tls_files(settings)
        settings.setdefault(
            'PODIUM_ACME_WEBROOT', str(Path(run_dir).resolve() / 'acme')
        )
        settings.setdefault('PODIUM_GRACEFUL_TIMEOUT', DEFAULT_STACK_GRACEFUL_TIMEOUT)
        settings['PODIUM_RUN_DIR'] = str(Path(run_dir).resolve())
        if not settings.get('PODIUM_SECRET_KEY'):
            settings['PODIUM_SECRET_KEY'] = persistent_secret_key(run_dir)
        self.settings = resolve_backend(settings, self.ports.local_video)
        if self.backend == 'local':
            # Janus's generated config and logs stay with the rest of this run.
            self.settings.setdefault(
                'PODIUM_JANUS_RUN_DIR', str(Path(run_dir).resolve() / 'janus')
            )
        self.run_dir = Path(run_dir).resolve()
        self.root = root
        self.startup_timeout = startup_timeout
        self._output = output
        self.children: dict[str, Child] = {}

    # What tests and the CLI look at.

    @property
    def url(self) -> str:
        """Return the public URL (nginx), as users open it."""
        return self.settings['PODIUM_PUBLIC_URL'].rstrip('/')

    @property
    def local_url(self) -> str:
        """Return nginx's own URL (its listen address), whatever the public URL says."""
        host = {'0.0.0.0': '127.0.0.1', '::': '::1'}.get(self.listen, self.listen)
        host = f'[{host}]' if ':' in host else host
        if self.tls:
            return f'https://{host}:{self.ports.https}'
        return f'http://{host}:{self.ports.http}'

    @property
    def backend(self) -> str:
        return self.settings['PODIUM_VIDEO_BACKEND']

    @property
    def manages_redis(self) -> bool:
        host = urlsplit(self.settings['PODIUM_REDIS_URL']).hostname or ''
        return host in LOOPBACK_HOSTS

    def process(self, name: str) -> Child:
        """Return one child by name: redis, token, webhooks, web, local_video, nginx."""
        return self.children[name]

    def dead_child(self) -> Child | None:
        """Return a child that exited without being asked to, if any."""
        return next((c for c in self.children.values() if c.died), None)

    # Building the children.

    def child_env(self, service: str | None = None) -> dict[str, str]:
        """Return a child's environment: the stack's settings, less others' secrets.

        `service` (a key of podium.config.SERVICE_SECRETS) gets only its own
        secrets; redis-server and nginx (None) get none at all.
        """
        env = {k: v for k, v in os.environ.items() if not k.startswith(OWN_PREFIXES)}
        env.update(service_environment(service or 'web', self.settings))
        env['PYTHONUNBUFFERED'] = '1'
        return env

    def _child(
        self,
        name,
        argv,
        health,
        service: str | None = None,
        extra_env: dict[str, str] | None = None,
        **options,
    ) -> Child:
        return Child(
            name,
            argv,
            env={**self.child_env(service), **(extra_env or {})},
            cwd=self.root,
            health=health,
            log_path=self.run_dir / 'logs' / f'{name}.log',
            output=self._output,
            **options,
        )

    def _gunicorn(
        self, name: str, conf: str, app: str, port: int, health: str
    ) -> Child:
        argv = [sys.executable, '-m', 'gunicorn', '-c', str(GUNICORN_DIR / conf), app]
        graceful = int(self.settings['PODIUM_GRACEFUL_TIMEOUT'])
        # Workers' metric files (podium/metrics.py): a fresh directory per run; the
        # gunicorn master's on_starting hook empties it again at each (re)start.
        metrics_dir = self.run_dir / 'metrics' / name
        shutil.rmtree(metrics_dir, ignore_errors=True)
        metrics_dir.mkdir(parents=True)
        return self._child(
            name,
            argv,
            http_ok(port, health),
            service=name,
            extra_env={'PROMETHEUS_MULTIPROC_DIR': str(metrics_dir)},
            stop_timeout=graceful + 10,
        )

    def _write_redis_conf(self) -> Path:
        """Write redis.conf; a password from PODIUM_REDIS_URL stays out of argv."""
        data = self.run_dir / 'redis'
        data.mkdir(parents=True, exist_ok=True)
        lines = [
            f'port {self.ports.redis}',
            'bind 127.0.0.1',
            'protected-mode yes',
            # Questions, votes, hands and polls exist nowhere else: every write
            # goes to the append-only file, flushed each second, so a kill -9
            # of redis-server loses at most the last second. Room state could
            # be rebuilt from the Rooms API, but rides along.
            'appendonly yes',
            'appendfsync everysec',
            'appendfilename "podium.aof"',
            'save ""',
            f'dir {data}',
            'loglevel notice',
            'logfile ""',
        ]
        password = urlsplit(self.settings['PODIUM_REDIS_URL']).password
        if password:
            lines.append(f'requirepass {password}')
        conf = self.run_dir / 'redis.conf'
        conf.touch(mode=0o600)
        conf.write_text('\n'.join(lines) + '\n')
        return conf

    def _write_nginx_conf(self) -> Path:
        Path(self.settings['PODIUM_ACME_WEBROOT']).mkdir(parents=True, exist_ok=True)
        return write_nginx_files(self.run_dir / 'nginx', self.settings, self.ports)

    def _build(self) -> None:
        ports = self.ports
        (self.run_dir / 'logs').mkdir(parents=True, exist_ok=True)
        children: list[Child] = []
        if self.manages_redis:
            redis_server = shutil.which('redis-server')
            if redis_server is None:
                raise StackError(
                    'redis-server is not installed: run bin/podium install'
                )
            children.append(
                self._child(
                    'redis',
                    [redis_server, str(self._write_redis_conf())],
                    redis_ok(ports.redis),
                )
            )
        children += [
            self._gunicorn(
                'token', 'token_service.conf.py', 'token_service.asgi:app',
                ports.token, '/api/healthz',
            ),
            self._gunicorn(
                'webhooks', 'webhooks.conf.py', 'webhooks.asgi:app',
                ports.webhooks, '/webhooks/healthz',
            ),
            self._gunicorn(
                'web', 'web_service.conf.py', 'web_service.asgi:app',
                ports.web, '/live/healthz',
            ),
        ]  # fmt: skip
        if self.backend == 'local':
            Path(self.settings['PODIUM_JANUS_RUN_DIR']).mkdir(
                parents=True, exist_ok=True
            )
            children.append(
                self._child(
                    'local_video',
                    [sys.executable, '-m', 'local_video'],
                    http_ok(ports.local_video, '/video/healthz'),
                    service='local_video',
                )
            )
        conf = self._write_nginx_conf()
        host = urlsplit(self.local_url).hostname
        children.append(
            self._child(
                'nginx',
                nginx_argv(conf),
                # Through nginx to a service: proves the routing, not just the port.
                http_ok(
                    ports.https if self.tls else ports.http,
                    '/live/healthz',
                    host=host,
                    tls=bool(self.tls),
                ),
                # SIGTERM is nginx's fast shutdown; SIGQUIT would wait for SSE streams.
                stop_signal=signal.SIGTERM,
            )
        )  # fmt: skip
        for child in children:
            child.log_path.write_text('')  # one run per log; restarts append
        self.children = {c.name: c for c in children}

    def _check_ports(self) -> None:
        wanted = ['http', 'web', 'token', 'webhooks']
        if self.tls:
            wanted.append('https')
        if self.backend == 'local':
            wanted.append('local_video')
        if self.manages_redis:
            wanted.append('redis')
        for name in wanted:
            port = getattr(self.ports, name)
            host = self.listen if name in ('http', 'https') else '127.0.0.1'
            if port_in_use(port, host):
                var = Ports.variable(name)
                raise StackError(
                    f'Port {port} ({var}) is already in use on {host}. Stop what '
                    f'listens there (another `bin/podium up`?) or choose another port '
                    f'with {var}.',
                    EXIT_CONFIG,
                )
        for name, path in zip(
            ('PODIUM_TLS_CERT', 'PODIUM_TLS_KEY'), self.tls or (), strict=False
        ):
            if not os.access(path, os.R_OK):
                raise StackError(
                    f'{name} names {path}, which does not exist or cannot be read.',
                    EXIT_CONFIG,
                )

    # Running.

    def start(self, cancel: threading.Event | None = None) -> None:
        """Start every child and wait until each is healthy; stop all on failure."""
        self._check_ports()
        self._build()
        try:
            order = list(self.children.values())
            first = [c for c in order if c.name == 'redis']
            middle = [c for c in order if c.name not in ('redis', 'nginx')]
            last = [c for c in order if c.name == 'nginx']
            for group in (first, middle, last):
                for child in group:
                    child.start()
                wait_all_healthy(group, self.startup_timeout, cancel)
        except BaseException:
            self.stop()
            raise

    def stop(self) -> None:
        """Stop all children: nginx first, then the services together, redis last."""
        children = list(self.children.values())
        front = [c for c in children if c.name == 'nginx']
        back = [c for c in children if c.name == 'redis']
        middle = [c for c in children if c not in front and c not in back]
        for group in (front, middle, back):
            for child in group:
                child.begin_stop()
            for child in group:
                child.finish_stop()

    def watch(self, stop: threading.Event, interval: float = 0.2) -> Child | None:
        """Block until `stop` is set (return None) or a child dies (return it)."""
        while not stop.wait(interval):
            dead = self.dead_child()
            if dead is not None:
                return dead
        return None

    def __enter__(self) -> Stack:
        self.start()
        return self

    def __exit__(self, *exc) -> None:
        self.stop()
