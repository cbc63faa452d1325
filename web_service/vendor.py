"""Browser libraries installed by npm, served from Podium's own origin (no CDN)."""

from __future__ import annotations

import asyncio
import os
from collections.abc import Mapping
from pathlib import Path

import falcon

TWILIO_VIDEO_DIST = Path('twilio-video') / 'dist' / 'twilio-video.min.js'
# The "light" ES module build: HLS playback without subtitles, DRM or alternate audio.
HLS_DIST = Path('hls.js') / 'dist' / 'hls.light.min.mjs'


def node_modules_dir(environ: Mapping[str, str] | None = None) -> Path:
    """Return the npm install directory: PODIUM_NODE_MODULES, or the repository's."""
    env = os.environ if environ is None else environ
    override = env.get('PODIUM_NODE_MODULES', '').strip()
    if override:
        return Path(override)
    return Path(__file__).resolve().parent.parent / 'node_modules'


class VendorFile:
    """Serve one file of an npm package, revalidated by ETag."""

    def __init__(
        self, path: Path, content_type: str = 'text/javascript; charset=utf-8'
    ):
        self._path = path
        self._content_type = content_type

    async def on_get(self, req, resp) -> None:
        try:
            stat = await asyncio.to_thread(self._path.stat)
        except OSError:
            raise falcon.HTTPNotFound(
                title='Browser library missing',
                description=f'{self._path.name} is not installed on this server. '
                'Run `npm ci` in the Podium directory (bin/podium install does it), '
                'or point PODIUM_NODE_MODULES at a node_modules directory.',
            ) from None
        etag = f'{stat.st_size:x}-{stat.st_mtime_ns:x}'
        resp.etag = etag
        # Revalidate on each load so an upgrade of the package is never stale.
        resp.cache_control = ['no-cache']
        if any(tag in ('*', etag) for tag in req.if_none_match or ()):
            resp.status = falcon.HTTP_304
            return
        resp.content_type = self._content_type
        resp.data = await asyncio.to_thread(self._path.read_bytes)
