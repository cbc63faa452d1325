"""Security headers on every response: Content-Security-Policy and its companions.

The pages load only their own scripts and style sheets (no inline code, no inline
`style=""`), talk only to this origin and the video backend, and cannot be framed
unless the operator lists who may embed them (PODIUM_FRAME_ANCESTORS).
"""

from __future__ import annotations

import os
import re
from collections.abc import Mapping
from dataclasses import dataclass
from urllib.parse import urlsplit

from podium.config import Config, ConfigError

DEFAULT_FRAME_ANCESTORS = ("'none'",)
# twilio-video 2.x's signalling and Insights gateways (its README, "Content Security
# Policy"); Podium connects to the default region, so the global endpoint is enough.
TWILIO_CONNECT_SOURCES = ('wss://global.vss.twilio.com', 'wss://sdkgw.us1.twilio.com')
# twilio-video 2.36 builds a dynamic import with `new Function` while it loads (for
# its optional Krisp plugin), so without 'unsafe-eval' the whole library fails to
# start. The local backend's pages run no eval and keep the strict policy.
TWILIO_SCRIPT_SOURCES = ("'unsafe-eval'",)
# An origin another site embeds Podium from: http(s), optional `*.` wildcard and port.
EMBEDDER = re.compile(r'https?://(\*\.)?[a-z0-9-]+(\.[a-z0-9-]+)*(:[0-9]{1,5})?/?')
KEYWORDS = {'none': "'none'", 'self': "'self'"}


@dataclass(frozen=True)
class WebSettings:
    """The web service's own settings, read when the app is created."""

    # CSP frame-ancestors sources: who may show Podium's pages in a frame.
    frame_ancestors: tuple[str, ...] = DEFAULT_FRAME_ANCESTORS

    @classmethod
    def from_env(cls, environ: Mapping[str, str] | None = None) -> WebSettings:
        """Read PODIUM_FRAME_ANCESTORS; raise ConfigError naming it when invalid."""
        env = os.environ if environ is None else environ
        raw = env.get('PODIUM_FRAME_ANCESTORS', '').strip()
        if not raw:
            return cls()
        return cls(frame_ancestors=frame_ancestors(raw))


def frame_ancestors(raw: str) -> tuple[str, ...]:
    """Return the frame-ancestors sources in `raw` (comma- or space-separated)."""
    sources = []
    for item in raw.replace(',', ' ').split():
        keyword = KEYWORDS.get(item.strip("'").lower())
        if keyword:
            sources.append(keyword)
        elif EMBEDDER.fullmatch(item.lower()):
            sources.append(item.lower().rstrip('/'))
        else:
            raise ConfigError(
                'PODIUM_FRAME_ANCESTORS must list origins allowed to embed Podium '
                "(https://intranet.example.org, https://*.example.org), 'self' or "
                f"'none', separated by spaces or commas; got {item!r}"
            )
    if "'none'" in sources and len(sources) > 1:
        raise ConfigError(
            "PODIUM_FRAME_ANCESTORS: 'none' cannot be combined with other sources; "
            f'got {raw!r}'
        )
    return tuple(sources)


def _signal_source(signal_url: str) -> str:
    """Return the CSP source for the signalling WebSocket (no query or fragment)."""
    parts = urlsplit(signal_url)
    if parts.scheme not in ('ws', 'wss') or not parts.netloc:
        return ''  # Config builds a ws(s) URL; anything else is not a socket we open
    return f'{parts.scheme}://{parts.netloc}{parts.path}'


def content_security_policy(config: Config, settings: WebSettings) -> str:
    """Return the Content-Security-Policy of every response for this backend."""
    script = ["'self'"]
    connect = ["'self'"]
    if config.video_backend == 'twilio':
        script += TWILIO_SCRIPT_SOURCES
        connect += TWILIO_CONNECT_SOURCES
    elif signal := _signal_source(config.signal_url):
        connect.append(signal)
    directives = {
        'default-src': ["'self'"],
        'script-src': script,
        'style-src': ["'self'"],
        'img-src': ["'self'"],
        # Media plays from MediaStreams (srcObject); twilio-video's README also
        # names mediastream: for browsers that still load streams by URL.
        'media-src': ["'self'", 'mediastream:'],
        'connect-src': connect,
        'object-src': ["'none'"],
        'base-uri': ["'none'"],
        'form-action': ["'self'"],
        'frame-ancestors': list(settings.frame_ancestors),
    }
    return '; '.join(
        f'{name} {" ".join(sources)}' for name, sources in directives.items()
    )


class SecurityHeaders:
    """Set the Content-Security-Policy and hardening headers on every response.

    Error responses included: Falcon runs process_response for them too.
    """

    def __init__(self, policy: str):
        self._policy = policy

    async def process_response(self, req, resp, resource, req_succeeded) -> None:
        resp.set_header('Content-Security-Policy', self._policy)
        resp.set_header('X-Content-Type-Options', 'nosniff')
        # Presenter keys live in the URL fragment, which is never sent; sending no
        # Referer at all also keeps presentation ids out of other sites' logs.
        resp.set_header('Referrer-Policy', 'no-referrer')
