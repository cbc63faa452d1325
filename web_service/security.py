"""Security headers on every response: Content-Security-Policy and its companions.

The pages load only their own scripts and style sheets (no inline code, no inline
`style=""`), talk only to this origin and the video backend, and cannot be framed
unless the operator lists who may embed them (PODIUM_FRAME_ANCESTORS).
"""

from __future__ import annotations

from urllib.parse import urlsplit

from podium.config import WebConfig

# twilio-video 2.x's signalling and Insights gateways (its README, "Content Security
# Policy"); Podium connects to the default region, so the global endpoint is enough.
TWILIO_CONNECT_SOURCES = ('wss://global.vss.twilio.com', 'wss://sdkgw.us1.twilio.com')
# twilio-video 2.36 builds a dynamic import with `new Function` while it loads (for
# its optional Krisp plugin), so without 'unsafe-eval' the whole library fails to
# start. The local backend's pages run no eval and keep the strict policy.
TWILIO_SCRIPT_SOURCES = ("'unsafe-eval'",)


def _signal_source(signal_url: str) -> str:
    """Return the CSP source for the signalling WebSocket (no query or fragment)."""
    parts = urlsplit(signal_url)
    if parts.scheme not in ('ws', 'wss') or not parts.netloc:
        return ''  # WebConfig builds a ws(s) URL; anything else is not a socket we open
    return f'{parts.scheme}://{parts.netloc}{parts.path}'


def _origin(url: str) -> str:
    parts = urlsplit(url)
    return f'{parts.scheme}://{parts.netloc}' if parts.netloc else ''


def content_security_policy(config: WebConfig) -> str:
    """Return the Content-Security-Policy of every response for this backend."""
    script = ["'self'"]
    connect = ["'self'"]
    if config.video_backend == 'twilio':
        script += TWILIO_SCRIPT_SOURCES
        connect += TWILIO_CONNECT_SOURCES
    elif signal := _signal_source(config.signal_url):
        connect.append(signal)
    if cdn := _origin(config.broadcast_base_url):
        connect.append(cdn)  # hls.js fetches playlists and segments from it
    directives = {
        'default-src': ["'self'"],
        'script-src': script,
        'style-src': ["'self'"],
        'img-src': ["'self'"],
        # Media plays from MediaStreams (srcObject); twilio-video's README also
        # names mediastream: for browsers that still load streams by URL. The
        # broadcast plays through Media Source Extensions, from a blob: URL.
        'media-src': ["'self'", 'mediastream:', 'blob:'],
        'connect-src': connect,
        'object-src': ["'none'"],
        'base-uri': ["'none'"],
        'form-action': ["'self'"],
        'frame-ancestors': list(config.frame_ancestors),
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
