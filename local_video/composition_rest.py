"""Compositions at /v1/Compositions, and the signed, expiring media download.

The REST resources authenticate like every Rooms resource (rest._Base). Twilio
answers `/Media` with a redirect to a short-lived URL; here that URL is
`/video/media/{sid}?Expires=...&Signature=...`, signed with a key derived from
this service's auth token, and it is the one resource that takes no credentials:
its signature and expiry are the check.
"""

from __future__ import annotations

import asyncio
import hashlib
import hmac
import json
import time
from urllib.parse import urlencode

import falcon

from .clock import utcnow
from .composer import (
    Source,
    matches,
    parse_resolution,
    parse_video_layout,
)
from .composition_worker import CompositionWorker
from .compositions import Composition, composition_sid, transition
from .errors import (
    BAD_REQUEST,
    METHOD_NOT_ALLOWED,
    NOT_FOUND,
    ROOM_CALLBACK_INVALID,
    TwilioError,
)
from .recorder import Recorder
from .rest import BasicAuth, _Base, _form, _form_value, _integer, _page
from .rooms import Registry

MEDIA_PATH = '/video/media/{sid}'
DEFAULT_TTL = 600  # seconds a media link works
MAX_TTL = 3600
CHUNK = 256 * 1024


class MediaSigner:
    """Sign and check media links; the key never leaves this service."""

    def __init__(self, auth_token: str) -> None:
        self._key = hmac.new(
            auth_token.encode(), b'podium composition media', hashlib.sha256
        ).digest()

    def signature(self, sid: str, expires: int) -> str:
        message = f'{sid}:{expires}'.encode()
        return hmac.new(self._key, message, hashlib.sha256).hexdigest()

    def query(self, sid: str, ttl: int, now: float | None = None) -> str:
        expires = int((now or time.time()) + ttl)
        return urlencode(
            {'Expires': expires, 'Signature': self.signature(sid, expires)}
        )

    def valid(self, sid: str, expires: str, signature: str, now: float | None = None):
        if not (expires.isascii() and expires.isdigit()):
            return False
        if int(expires) < (now or time.time()):
            return False
        # As bytes: compare_digest refuses non-ASCII text (a crafted link).
        good = self.signature(sid, int(expires)).encode()
        return hmac.compare_digest(good, signature.encode(errors='replace'))


def _list_param(form: dict, name: str) -> tuple[str, ...]:
    value = form.get(name)
    if value is None:
        return ()
    values = value if isinstance(value, list) else [value]
    out = []
    for item in values:
        # twilio-python sends each item as its own field; accept a JSON list too.
        text = str(item).strip()
        if text.startswith('['):
            try:
                out += [str(v) for v in json.loads(text)]
                continue
            except ValueError:
                pass
        out += [v.strip() for v in text.split(',') if v.strip()]
    return tuple(out)


class _CompositionBase(_Base):
    def __init__(
        self,
        registry: Registry,
        account_sid: str,
        auth: BasicAuth,
        recorder: Recorder,
        worker: CompositionWorker,
        signer: MediaSigner,
    ) -> None:
        super().__init__(registry, account_sid, auth)
        self._recorder = recorder
        self._worker = worker
        self._signer = signer

    def _composition(self, sid: str) -> Composition:
        found = self._worker.store.get(sid)
        if found is None or found.status == 'deleted':
            raise TwilioError(
                NOT_FOUND, f'The requested resource /Compositions/{sid} was not found'
            )
        return found

    def composition_json(self, req, item: Composition) -> dict:
        url = f'{req.prefix}/v1/Compositions/{item.sid}'
        return {
            'account_sid': self._account_sid,
            'status': item.status,
            'date_created': item.date_created[:19] + 'Z',
            'date_completed': item.date_completed and item.date_completed[:19] + 'Z',
            'date_deleted': item.date_deleted and item.date_deleted[:19] + 'Z',
            'sid': item.sid,
            'room_sid': item.room_sid,
            'audio_sources': list(item.audio_sources),
            'audio_sources_excluded': list(item.audio_sources_excluded),
            'video_layout': item.video_layout,
            'resolution': item.resolution,
            'trim': item.trim,
            'format': item.format,
            'bitrate': item.bitrate,
            'size': item.size,
            'duration': round(item.duration),
            'media_external_location': None,
            'status_callback': item.status_callback,
            'status_callback_method': item.status_callback_method,
            'url': url,
            'links': {'media': f'{url}/Media'},
            # Not Twilio's: the presenter page shows it while processing.
            'percentage_done': item.percent,
            'error_message': item.error or None,
        }


class CompositionsResource(_CompositionBase):
    """`/v1/Compositions`: create and list."""

    async def on_post(self, req, resp) -> None:
        form = await _form(req)
        room_sid = _form_value(form, 'RoomSid') or ''
        if not room_sid:
            raise TwilioError(BAD_REQUEST, 'RoomSid is required')
        resolution = _form_value(form, 'Resolution') or '640x480'
        size = parse_resolution(resolution)
        raw_layout = _form_value(form, 'VideoLayout')
        regions = parse_video_layout(raw_layout, size)
        audio = _list_param(form, 'AudioSources')
        excluded = _list_param(form, 'AudioSourcesExcluded')
        if not regions and not audio:
            raise TwilioError(
                BAD_REQUEST,
                'A composition needs a VideoLayout or AudioSources (or both)',
            )
        fmt = (_form_value(form, 'Format') or 'mp4').lower()
        if fmt not in ('mp4', 'webm'):
            raise TwilioError(BAD_REQUEST, 'Format must be mp4 or webm')
        callback = _form_value(form, 'StatusCallback') or None
        if callback is not None and not callback.startswith(('http://', 'https://')):
            raise TwilioError(
                ROOM_CALLBACK_INVALID, 'StatusCallback must be an absolute http(s) URL'
            )
        method = (_form_value(form, 'StatusCallbackMethod') or 'POST').upper()
        if method not in ('GET', 'POST'):
            raise TwilioError(BAD_REQUEST, 'StatusCallbackMethod must be GET or POST')
        trim = (_form_value(form, 'Trim') or 'true').lower() != 'false'
        sources = self._sources(room_sid, regions, audio, excluded)
        layout = json.loads(raw_layout) if raw_layout else {}
        item = Composition(
            sid=composition_sid(),
            room_sid=room_sid,
            status='enqueued',
            date_created=utcnow().isoformat(),
            video_layout=layout,
            audio_sources=audio,
            audio_sources_excluded=excluded,
            resolution=f'{size[0]}x{size[1]}',
            format=fmt,
            trim=trim,
            status_callback=callback,
            status_callback_method=method,
            sources=sources,
        )
        self._worker.enqueue(item)
        resp.status = falcon.HTTP_201
        resp.media = self.composition_json(req, item)

    def _sources(self, room_sid, regions, audio, excluded) -> tuple[Source, ...]:
        """The room's finished recordings the layout and audio pick, on one clock."""
        recordings = self._recorder.book.all(room_sid)
        done = [r for r in recordings if r.status == 'completed' and r.media_path]
        if not done:
            waiting = any(r.status == 'processing' for r in recordings)
            raise TwilioError(
                BAD_REQUEST,
                f'Room {room_sid} has no recordings to compose yet: its recordings '
                'are still being processed, try again in a few seconds'
                if waiting
                else f'Room {room_sid} has no recordings to compose: turn recording '
                'on with RecordParticipantsOnConnect or Recording Rules first',
            )
        candidates = [
            Source(
                path=r.media_path,
                kind=r.kind,
                track_name=r.track_name,
                track_sid=r.track_sid,
                start=0.0,
                duration=r.duration,
            )
            for r in done
        ]
        starts = {r.media_path: r.started_at_us for r in done}
        wanted = [
            s
            for s in candidates
            if (s.kind == 'video' and any(matches(g.sources, s) for g in regions))
            or (s.kind == 'audio' and matches(audio, s) and not matches(excluded, s))
        ]
        if not wanted:
            raise TwilioError(
                BAD_REQUEST,
                f'No recording of room {room_sid} matches the VideoLayout or '
                'AudioSources: name tracks by their names, e.g. screen, camera',
            )
        zero = min(starts[s.path] for s in wanted)
        return tuple(
            Source(**{**s.as_json(), 'start': (starts[s.path] - zero) / 1e6})
            for s in sorted(wanted, key=lambda s: starts[s.path])
        )

    async def on_get(self, req, resp) -> None:
        items = self._worker.store.all()
        filters = {}
        for param, attribute in (('Status', 'status'), ('RoomSid', 'room_sid')):
            value = req.get_param(param)
            if value:
                items = [c for c in items if getattr(c, attribute) == value]
                filters[param] = value
        if 'Status' not in filters:
            items = [c for c in items if c.status != 'deleted']
        resp.media = _page(
            req,
            [self.composition_json(req, c) for c in items],
            'compositions',
            '/v1/Compositions',
            filters,
        )


class CompositionResource(_CompositionBase):
    """`/v1/Compositions/{sid}`: fetch and delete."""

    async def on_get(self, req, resp, sid: str) -> None:
        resp.media = self.composition_json(req, self._composition(sid))

    async def on_post(self, req, resp, sid: str) -> None:
        # A composition cannot be changed. Defined so that `POST /v1/Compositions/`
        # (routed here with an empty SID) asks for credentials before saying so.
        raise TwilioError(
            METHOD_NOT_ALLOWED,
            'A composition cannot be changed: create a new one with '
            'POST /v1/Compositions',
            status=405,
        )

    async def on_delete(self, req, resp, sid: str) -> None:
        item = self._composition(sid)
        if item.status not in ('completed', 'failed'):
            raise TwilioError(
                BAD_REQUEST,
                f'Composition {sid} is {item.status}: delete it once it has '
                'completed or failed',
            )
        self._worker.store.media_path(item).unlink(missing_ok=True)
        self._worker.store.put(transition(item, 'deleted'))
        resp.status = falcon.HTTP_204


class CompositionMediaResource(_CompositionBase):
    """`/v1/Compositions/{sid}/Media`: redirect to a signed, expiring media URL."""

    async def on_get(self, req, resp, sid: str) -> None:
        item = self._composition(sid)
        if item.status != 'completed':
            raise TwilioError(
                NOT_FOUND,
                f'Composition {sid} has no media: it is {item.status}',
            )
        ttl = _integer(req.params, 'Ttl', 1, MAX_TTL, BAD_REQUEST, DEFAULT_TTL)
        location = (
            f'{req.prefix}{MEDIA_PATH.format(sid=sid)}?{self._signer.query(sid, ttl)}'
        )
        resp.status = falcon.HTTP_302
        resp.location = location
        resp.media = {'redirect_to': location}


class SignedMedia:
    """`/video/media/{sid}`: the composition file, for a valid unexpired signature."""

    def __init__(self, worker: CompositionWorker, signer: MediaSigner) -> None:
        self._worker = worker
        self._signer = signer

    async def on_get(self, req, resp, sid: str) -> None:
        expires = req.get_param('Expires') or ''
        signature = req.get_param('Signature') or ''
        if not self._signer.valid(sid, expires, signature):
            raise falcon.HTTPForbidden(
                title='Link expired or invalid',
                description='Ask the REST API for a new one: '
                'GET /v1/Compositions/{sid}/Media',
            )
        item = self._worker.store.get(sid)
        path = self._worker.store.media_path(item) if item else None
        if item is None or item.status != 'completed' or not path.exists():
            raise falcon.HTTPNotFound(
                title='No such media', description=f'Composition {sid} has no file'
            )
        resp.content_type = 'video/mp4' if item.format == 'mp4' else 'video/webm'
        resp.content_length = path.stat().st_size
        resp.set_header(
            'Content-Disposition', f'attachment; filename="{sid}.{item.format}"'
        )
        resp.set_header('Cache-Control', 'private, no-store')
        resp.stream = _chunks(path)


async def _chunks(path):
    handle = await asyncio.to_thread(path.open, 'rb')
    try:
        while chunk := await asyncio.to_thread(handle.read, CHUNK):
            yield chunk
    finally:
        handle.close()


def add_composition_routes(
    app,
    registry: Registry,
    account_sid: str,
    auth: BasicAuth,
    recorder: Recorder,
    worker: CompositionWorker,
    signer: MediaSigner,
) -> None:
    routes = {
        '/v1/Compositions': CompositionsResource,
        '/v1/Compositions/{sid}': CompositionResource,
        '/v1/Compositions/{sid}/Media': CompositionMediaResource,
    }
    for path, resource in routes.items():
        app.add_route(
            path, resource(registry, account_sid, auth, recorder, worker, signer)
        )
    app.add_route(MEDIA_PATH, SignedMedia(worker, signer))
