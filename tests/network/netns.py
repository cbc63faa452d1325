"""A second "host" for network tests: a network namespace joined by a veth pair.

Everything lives in addresses the test creates itself (10.213.0.0/16, one /30 per
host) and is removed on exit, even after a failure: the namespace (with its
interface and its iptables rules) and the veth pair, after killing whatever
still runs inside. WebRTC does not work in a loopback-only namespace; the veth
gives the browser a real interface.
"""

from __future__ import annotations

import contextlib
import ipaddress
import json
import os
import secrets
import signal
import subprocess
from pathlib import Path

PRIVATE_RANGE = ipaddress.ip_network('10.213.0.0/16')


def run(*argv: str, check: bool = True) -> subprocess.CompletedProcess:
    return subprocess.run(argv, check=check, capture_output=True, text=True, timeout=20)


def used_networks() -> list[ipaddress.IPv4Network]:
    """Return the IPv4 networks of this machine's addresses and routes."""
    nets = []
    for info in json.loads(run('ip', '-j', '-4', 'addr').stdout or '[]'):
        for addr in info.get('addr_info', []):
            nets.append(
                ipaddress.ip_network(f'{addr["local"]}/{addr["prefixlen"]}', False)
            )
    for route in json.loads(run('ip', '-j', '-4', 'route').stdout or '[]'):
        if route.get('dst', 'default') != 'default':
            nets.append(ipaddress.ip_network(route['dst'], False))
    return nets


def free_subnet() -> ipaddress.IPv4Network:
    """Return a random /30 of 10.213.0.0/16 that nothing here uses."""
    used = used_networks()
    for _ in range(100):
        start = int(PRIVATE_RANGE.network_address) + 4 * secrets.randbelow(2**14)
        subnet = ipaddress.ip_network(f'{ipaddress.ip_address(start)}/30')
        if not any(subnet.overlaps(net) for net in used):
            return subnet
    raise RuntimeError('no free /30 in 10.213.0.0/16')


class NamespaceHost:
    """A namespace `podium-att-<hex>` reachable at `ns_ip`; the root side is `host_ip`.

    `routes` are the only destinations (besides the /30) the namespace gets a route
    to; `blocked` addresses are then dropped by iptables inside the namespace, both
    ways and for UDP and TCP, so the namespace reaches only what the test allows.
    """

    def __init__(self, routes: list[str] = (), blocked: list[str] = ()) -> None:
        tag = secrets.token_hex(3)
        self.name = f'podium-att-{tag}'
        self.host_if = f'pod{tag}h'  # interface names: at most 15 characters
        self.ns_if = f'pod{tag}n'
        self.routes = list(routes)
        self.blocked = list(blocked)
        self.subnet = free_subnet()
        hosts = list(self.subnet.hosts())
        self.host_ip, self.ns_ip = str(hosts[0]), str(hosts[1])
        self._created = False

    def exec_argv(self, *argv: str) -> list[str]:
        """Return argv that runs a command inside the namespace."""
        return ['ip', 'netns', 'exec', self.name, *argv]

    def wrapper(self, folder: Path, binary: str) -> Path:
        """Write a script that runs `binary` inside the namespace (for Playwright)."""
        script = folder / f'{Path(binary).name}-in-{self.name}'
        script.write_text(f'#!/bin/sh\nexec ip netns exec {self.name} {binary} "$@"\n')
        script.chmod(0o700)
        return script

    def __enter__(self) -> NamespaceHost:
        try:
            run('ip', 'netns', 'add', self.name)
            self._created = True
            run('ip', 'link', 'add', self.host_if, 'type', 'veth',
                'peer', 'name', self.ns_if, 'netns', self.name)  # fmt: skip
            run('ip', 'addr', 'add', f'{self.host_ip}/30', 'dev', self.host_if)
            run('ip', 'link', 'set', self.host_if, 'up')
            run('ip', '-n', self.name, 'addr', 'add', f'{self.ns_ip}/30',
                'dev', self.ns_if)  # fmt: skip
            run('ip', '-n', self.name, 'link', 'set', self.ns_if, 'up')
            run('ip', '-n', self.name, 'link', 'set', 'lo', 'up')
            for address in self.routes:
                run('ip', '-n', self.name, 'route', 'add', f'{address}/32',
                    'via', self.host_ip)  # fmt: skip
            for address in self.blocked:
                for proto in ('udp', 'tcp'):
                    for chain, side in (('OUTPUT', '-d'), ('INPUT', '-s')):
                        run(*self.exec_argv('iptables', '-A', chain, side, address,
                                            '-p', proto, '-j', 'DROP'))  # fmt: skip
        except BaseException:
            self.__exit__()
            raise
        return self

    def __exit__(self, *exc) -> None:
        if self._created:
            self._kill_processes()
            run('ip', 'netns', 'del', self.name, check=False)
        # Deleting the namespace deletes its end of the pair, and with it ours;
        # this only matters if the namespace never got its end.
        if Path(f'/sys/class/net/{self.host_if}').exists():
            run('ip', 'link', 'del', self.host_if, check=False)

    def _kill_processes(self) -> None:
        """Kill what still runs inside (only processes the test started there)."""
        pids = run('ip', 'netns', 'pids', self.name, check=False).stdout.split()
        for pid in pids:
            with contextlib.suppress(ProcessLookupError, ValueError):
                os.kill(int(pid), signal.SIGKILL)

    def iptables_rules(self) -> str:
        return run(*self.exec_argv('iptables', '-S')).stdout
