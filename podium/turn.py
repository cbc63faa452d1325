"""ICE servers for browsers: STUN URLs and short-lived TURN credentials.

TURN credentials follow the "TURN REST API" scheme coturn implements with
`use-auth-secret` + `static-auth-secret`: the username is
`<expiry unix seconds>:<identity>` and the password is
base64(HMAC-SHA1(secret, username)). Nothing is stored: the TURN server recomputes
the password from the shared secret and refuses usernames whose expiry has passed,
so a leaked credential dies on its own and no static TURN password exists.
"""

from __future__ import annotations

import base64
import hashlib
import hmac

from podium.config import TokenServiceConfig


def turn_credentials(secret: str, identity: str, expires_at: int) -> tuple[str, str]:
    """Return (username, credential) valid until `expires_at` (Unix seconds)."""
    username = f'{int(expires_at)}:{identity}'
    digest = hmac.new(secret.encode(), username.encode(), hashlib.sha1).digest()
    return username, base64.b64encode(digest).decode()


def ice_servers(config: TokenServiceConfig, identity: str, now: float) -> list[dict]:
    """Return RTCIceServer dicts for one participant (empty when none configured)."""
    servers: list[dict] = []
    if config.stun_urls:
        servers.append({'urls': list(config.stun_urls)})
    if config.turn_urls:
        username, credential = turn_credentials(
            config.turn_secret, identity, int(now) + config.turn_ttl
        )
        servers.append(
            {
                'urls': list(config.turn_urls),
                'username': username,
                'credential': credential,
            }
        )
    return servers
