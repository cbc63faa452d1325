"""coturn for Podium: render deploy/coturn/turnserver.conf.template.

coturn is the documented TURN server of the local video backend. It relays only
to Janus (PODIUM_TURN_PEER_IP) and authenticates with the TURN REST API scheme:
the token service mints credentials from the PODIUM_TURN_SECRET both share.
"""

from __future__ import annotations

import ipaddress
from collections.abc import Mapping
from urllib.parse import urlsplit

from launcher.nginx import render_template
from launcher.settings import DEPLOY_DIR, EXIT_CONFIG, StackError
from podium.config import DEFAULT_PUBLIC_URL, MIN_TURN_SECRET_LENGTH

COTURN_TEMPLATE = DEPLOY_DIR / 'coturn' / 'turnserver.conf.template'
COTURN_DEFAULTS = {
    'PODIUM_TURN_PORT': '3478',
    'PODIUM_TURN_MIN_PORT': '49152',
    'PODIUM_TURN_MAX_PORT': '65535',
    'PODIUM_TURN_TOTAL_QUOTA': '2000',
    'PODIUM_TURN_TLS_PORT': '5349',
    # Debian's unit passes --pidfile= (none); this is for coturn started by hand.
    'PODIUM_TURN_PID_FILE': '/run/turnserver/turnserver.pid',
}


def _address(settings: Mapping[str, str], name: str, default: str = '') -> str:
    raw = settings.get(name, '').strip() or default
    try:
        return str(ipaddress.ip_address(raw))
    except ValueError:
        raise StackError(
            f'{name} must be an IP address, got {raw!r}', EXIT_CONFIG
        ) from None


def render_coturn_conf(settings: Mapping[str, str], *, detect_ip=None) -> str:
    """Return turnserver.conf for these settings, or raise StackError.

    `detect_ip()` returns Janus's media address (default: how local_video finds
    it), used for the listen, relay and allowed-peer addresses left unset.
    """
    secret = settings.get('PODIUM_TURN_SECRET', '').strip()
    if len(secret) < MIN_TURN_SECRET_LENGTH:
        raise StackError(
            f'PODIUM_TURN_SECRET must be set (at least {MIN_TURN_SECRET_LENGTH} '
            'characters; the token service and coturn share it). Make one with '
            "python -c 'import secrets; print(secrets.token_urlsafe(32))'",
            EXIT_CONFIG,
        )
    if detect_ip is None:
        from local_video.janus_config import detect_interface_ip

        def detect_ip() -> str:
            return detect_interface_ip(settings.get('PODIUM_JANUS_INTERFACE', ''))

    needs_detect = not all(
        settings.get(n, '').strip()
        for n in (
            'PODIUM_TURN_LISTEN_IP',
            'PODIUM_TURN_RELAY_IP',
            'PODIUM_TURN_PEER_IP',
        )
    )
    media_ip = detect_ip() if needs_detect else ''
    listen_ip = _address(settings, 'PODIUM_TURN_LISTEN_IP', media_ip)
    values = {
        **COTURN_DEFAULTS,
        **{k: v for k, v in settings.items() if v.strip()},
        'PODIUM_TURN_SECRET': secret,
        'PODIUM_TURN_LISTEN_IP': listen_ip,
        'PODIUM_TURN_RELAY_IP': _address(settings, 'PODIUM_TURN_RELAY_IP', listen_ip),
        # The only peer browsers may relay to: Janus's media address.
        'PODIUM_TURN_PEER_IP': _address(settings, 'PODIUM_TURN_PEER_IP', media_ip),
        'PODIUM_TURN_REALM': settings.get('PODIUM_TURN_REALM', '').strip()
        or urlsplit(settings.get('PODIUM_PUBLIC_URL') or DEFAULT_PUBLIC_URL).hostname
        or 'podium',
    }
    low, high = int(values['PODIUM_TURN_MIN_PORT']), int(values['PODIUM_TURN_MAX_PORT'])
    if not 0 < low < high < 65536:
        raise StackError(
            'PODIUM_TURN_MIN_PORT and PODIUM_TURN_MAX_PORT must be a port range, '
            f'got {low}-{high}',
            EXIT_CONFIG,
        )
    sections = set()
    public_ip = (
        settings.get('PODIUM_TURN_PUBLIC_IP', '').strip()
        or settings.get('PODIUM_JANUS_PUBLIC_IP', '').strip()
    )
    if public_ip:
        values['PODIUM_TURN_PUBLIC_IP'] = _address({'ip': public_ip}, 'ip')
        sections.add('nat')
    if settings.get('PODIUM_TURN_TLS_CERT', '').strip():
        for name in ('PODIUM_TURN_TLS_KEY',):
            if not settings.get(name, '').strip():
                raise StackError(
                    f'{name} is not set but PODIUM_TURN_TLS_CERT is', EXIT_CONFIG
                )
        sections.add('tls')
    else:
        sections.add('plain')
    return render_template(COTURN_TEMPLATE.read_text(), values, frozenset(sections))
