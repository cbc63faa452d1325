"""Generate a private, loopback-only Janus configuration folder.

The Debian package's /etc/janus listens on every interface with a well-known admin
secret; we never use it. Only the VideoRoom plugin and the HTTP transport are
loaded (the folders hold symlinks to just those libraries), both APIs bind to
127.0.0.1 with random secrets, and ICE offers exactly one host candidate: the
machine's primary interface address.
"""

from __future__ import annotations

import ipaddress
import json
import os
import secrets
import socket
import subprocess
from dataclasses import dataclass, field
from pathlib import Path

JANUS_LIB = Path('/usr/lib/x86_64-linux-gnu/janus')
EVENT_LOOPS = max(2, os.cpu_count() or 2)
SESSION_TIMEOUT = 60  # seconds Janus keeps a session without a request or long poll


@dataclass(frozen=True)
class JanusSettings:
    """What the service needs to run and talk to one Janus instance."""

    folder: Path
    http_port: int
    admin_port: int
    ice_ip: str
    api_secret: str = field(repr=False)
    admin_secret: str = field(repr=False)

    @property
    def api_url(self) -> str:
        return f'http://127.0.0.1:{self.http_port}/janus'

    @property
    def config_file(self) -> Path:
        return self.folder / 'janus.jcfg'


def free_port() -> int:
    with socket.socket() as sock:
        sock.bind(('127.0.0.1', 0))
        return sock.getsockname()[1]


def detect_interface_ip(override: str = '') -> str:
    """Return this machine's primary IPv4 address without sending any traffic.

    `override` may be an address or an interface name. Otherwise a UDP socket is
    connect()ed towards a public address, which only consults the routing table.
    """
    if override:
        try:
            return str(ipaddress.ip_address(override))
        except ValueError:
            return _interface_address(override)
    try:
        with socket.socket(socket.AF_INET, socket.SOCK_DGRAM) as sock:
            sock.connect(('1.1.1.1', 9))  # UDP connect(): a route lookup, no packet
            address = sock.getsockname()[0]
        if not ipaddress.ip_address(address).is_loopback and address != '0.0.0.0':
            return address
    except OSError:
        pass
    return _interface_address('')


def _interface_address(name: str) -> str:
    """Return the first global IPv4 address of interface `name` (or of any)."""
    try:
        out = subprocess.run(
            ['ip', '-j', '-4', 'addr'],
            capture_output=True,
            text=True,
            check=True,
            timeout=5,
        ).stdout
        links = json.loads(out)
    except (OSError, subprocess.SubprocessError, ValueError):
        links = []
    for link in links:
        if name and link.get('ifname') != name:
            continue
        for info in link.get('addr_info', []):
            if info.get('family') == 'inet' and info.get('scope') == 'global':
                return info['local']
    where = f'interface {name}' if name else 'any interface'
    raise RuntimeError(
        f'no global IPv4 address on {where}: WebRTC needs one (Janus skips loopback). '
        'Set PODIUM_JANUS_INTERFACE to an address or interface name.'
    )


def nat_mapping(public_ip: str) -> str:
    """Return the janus.jcfg `nat` lines that advertise `public_ip`, if any."""
    if not public_ip:
        return ''
    # Replaces the private host candidate: browsers outside cannot use it anyway.
    return f'    nat_1_1_mapping = {_quote(public_ip)}\n    keep_private_host = false\n'


def _quote(value: str) -> str:
    return json.dumps(value)  # libconfig strings use the same escapes


def write_config(
    folder: Path,
    *,
    http_port: int = 0,
    admin_port: int = 0,
    ice_ip: str = '',
    rtp_ports: str = '20000-40000',
    public_ip: str = '',
    lib_dir: Path = JANUS_LIB,
) -> JanusSettings:
    """Write janus.jcfg and friends into `folder`; return how to reach that Janus.

    `public_ip`: the address browsers reach this machine at when the interface
    sits behind a 1:1 NAT; Janus then rewrites its host candidate to it.
    """
    folder.mkdir(parents=True, exist_ok=True)
    settings = JanusSettings(
        folder=folder,
        http_port=http_port or free_port(),
        admin_port=admin_port or free_port(),
        ice_ip=ice_ip or detect_interface_ip(),
        api_secret=secrets.token_urlsafe(24),
        admin_secret=secrets.token_urlsafe(24),
    )
    for kind, library in (
        ('plugins', 'libjanus_videoroom.so'),
        ('transports', 'libjanus_http.so'),
        ('events', None),
        ('loggers', None),
    ):
        target = folder / kind
        target.mkdir(exist_ok=True)
        if library is not None and not (target / library).exists():
            os.symlink(lib_dir / kind / library, target / library)
    files = {
        'janus.jcfg': f"""general: {{
    configs_folder = {_quote(str(folder))}
    plugins_folder = {_quote(str(folder / 'plugins'))}
    transports_folder = {_quote(str(folder / 'transports'))}
    events_folder = {_quote(str(folder / 'events'))}
    loggers_folder = {_quote(str(folder / 'loggers'))}
    debug_level = 4
    admin_secret = {_quote(settings.admin_secret)}
    api_secret = {_quote(settings.api_secret)}
    session_timeout = {SESSION_TIMEOUT}
    # Handles share a small pool of loops instead of a thread each: measured in
    # bench/media, this halves Janus's CPU per attendee (0.65% -> 0.33% of a core).
    event_loops = {EVENT_LOOPS}
    server_name = "podium-local-video"
    protected_folders = ["/bin", "/boot", "/dev", "/etc", "/lib", "/proc", "/usr"]
}}
certificates: {{
}}
media: {{
    rtp_port_range = {_quote(rtp_ports)}
}}
nat: {{
    nice_debug = false
    full_trickle = false
    ice_enforce_list = {_quote(settings.ice_ip)}
    ignore_mdns = true
{nat_mapping(public_ip)}}}
plugins: {{
}}
transports: {{
}}
events: {{
    broadcast = false
}}
loggers: {{
}}
""",
        'janus.transport.http.jcfg': f"""general: {{
    base_path = "/janus"
    http = true
    port = {settings.http_port}
    ip = "127.0.0.1"
    https = false
}}
admin: {{
    admin_base_path = "/admin"
    admin_http = true
    admin_port = {settings.admin_port}
    admin_ip = "127.0.0.1"
    admin_https = false
}}
cors: {{
    allow_origin = "http://127.0.0.1"
}}
""",
        'janus.plugin.videoroom.jcfg': """general: {
    string_ids = false
    events = false
    lock_rtp_forward = true
}
""",
    }
    for name, text in files.items():
        path = folder / name
        path.write_text(text)
        path.chmod(0o600)  # holds the secrets
    return settings
