"""Recording a talk: switch it on and off, then fetch or delete its one MP4.

`PUT .../recording` changes the live room's Recording Rules (or, before the room
exists, makes it record from its start); when the talk ends the token service asks
the video service for one composition (`request_composition`, at most once however
often "end" is retried); `GET .../recording/media` streams the file through this
service, so the video service's credentials and URLs never reach a browser. The
presenter key or a signed link that expires (`MediaLinks`) opens it.
"""

from __future__ import annotations

import base64
import hashlib
import hmac
import logging
from collections.abc import Callable, Iterator
from urllib.parse import urlencode

import falcon
import requests

from podium import recording_state
from podium.config import TokenServiceConfig
from podium.store import Store
from podium.video_api import REQUEST_TIMEOUT, VIDEO_ERRORS
from token_service import access
from token_service.audience_access import known_id, require_presenter_key
from token_service.bodies import read_json_object
from token_service.rooms import Rooms

log = logging.getLogger(__name__)

LINK_PURPOSE = 'recording-media:'
CHUNK = 256 * 1024
# The video service's 4xx answers that mean "not yet", not "never": ask again later.
RETRY_LATER = ('try again', 'still being processed')
NOTHING_RECORDED = (
    'Nothing was recorded: recording was not on while you were live, so there is no '
    'file to make.'
)


class MediaLinks:
    """Signed, expiring links to a presentation's recording (HMAC-SHA256).

    The signature covers the composition's SID, so a link dies with its file.
    """

    def __init__(self, secret_key: str, ttl: int, clock: Callable[[], float]):
        self._secret = secret_key.encode('utf-8')
        self._ttl = ttl
        self._clock = clock

    def _signature(self, presentation_id: str, sid: str, expires: int) -> str:
        message = f'{LINK_PURPOSE}{presentation_id}:{sid}:{expires}'.encode()
        digest = hmac.new(self._secret, message, hashlib.sha256).digest()
        return base64.urlsafe_b64encode(digest).rstrip(b'=').decode('ascii')

    def link(self, presentation_id: str, sid: str) -> tuple[str, int]:
        """Return the media path with its signature, and when it expires (s)."""
        expires = int(self._clock()) + self._ttl
        query = urlencode(
            {
                'expires': expires,
                'signature': self._signature(presentation_id, sid, expires),
            }
        )
        return f'/api/presentations/{presentation_id}/recording/media?{query}', expires

    def valid(self, presentation_id: str, sid: str, expires: str, signature: str):
        if not expires.isdigit() or int(expires) < self._clock():
            return False
        expected = self._signature(presentation_id, sid, int(expires))
        return hmac.compare_digest(signature.encode(), expected.encode())


def failure_message(ex: Exception) -> str:
    """What a presenter reads when the video service refused to make the file.

    The upstream text may name rooms or accounts: only known cases are quoted.
    """
    text = str(getattr(ex, 'msg', '') or ex).lower()
    if 'no recordings' in text or 'not recorded' in text:
        return NOTHING_RECORDED
    code = getattr(ex, 'code', None)
    return (
        'The video service refused to make the recording'
        + (f' (error {code}).' if code else '.')
        + ' Try again; if it keeps failing, tell the server operator.'
    )


def request_composition(store: Store, rooms: Rooms, presentation: dict) -> None:
    """Ask for the ended talk's one composition, unless it was asked for already.

    Idempotent: a claim in Redis lets only one request ask, a stored SID stops
    every later one; a failure to reach the video service releases the claim, so
    the next "end", GET or POST asks again.
    """
    presentation_id = presentation['id']
    room_sid = presentation.get('room_sid')
    if not store.claim_composition(presentation_id):
        return
    if not room_sid:
        store.set_composition(presentation_id, error=NOTHING_RECORDED)
        return
    try:
        sid = rooms.compose(room_sid)
    except VIDEO_ERRORS as ex:
        status = ex.status or 0
        message = str(getattr(ex, 'msg', '') or '').lower()
        if 400 <= status < 500 and status not in (401, 403, 429):
            if any(words in message for words in RETRY_LATER):
                store.release_composition(presentation_id)
                log.info('composition of %s: recordings not ready yet', room_sid)
                return
            log.warning('composition of %s refused: code=%s', room_sid, ex.code)
            store.set_composition(presentation_id, error=failure_message(ex))
            return
        store.release_composition(presentation_id)
        raise
    except requests.RequestException:
        store.release_composition(presentation_id)
        raise
    store.set_composition(presentation_id, sid=sid)


class _RecordingBase:
    def __init__(
        self,
        config: TokenServiceConfig,
        store: Store,
        rooms: Rooms,
        clock: Callable[[], float],
        links: MediaLinks,
    ):
        self._config = config
        self._store = store
        self._rooms = rooms
        self._clock = clock
        self._links = links

    def _presentation(self, req, presentation_id: str) -> dict:
        require_presenter_key(req, self._config, presentation_id)
        return access.find_presentation(self._store, known_id(presentation_id))

    def _state(self, presentation: dict) -> dict:
        """The recording's state for the presenter: the page's view and a link."""
        presentation_id = presentation['id']
        records = self._store.media_records(presentation_id)
        if recording_state.wants_composition(presentation, records):
            request_composition(self._store, self._rooms, presentation)
            presentation = self._store.get_presentation(presentation_id) or presentation
        view = recording_state.recording_view(presentation, records)
        view['download_url'] = None
        view['download_expires_at'] = None
        if view['status'] == 'available':
            path, expires = self._links.link(
                presentation_id, presentation[recording_state.COMPOSITION_FIELD]
            )
            view['download_url'] = self._config.public_link(path)
            view['download_expires_at'] = expires
        return view


class Recording(_RecordingBase):
    """`GET|PUT|DELETE /api/presentations/{id}/recording` (presenter key)."""

    def on_get(self, req: falcon.Request, resp: falcon.Response, presentation_id: str):
        presentation = self._presentation(req, presentation_id)
        resp.cache_control = ['no-store']
        resp.media = self._state(presentation)

    def on_put(self, req: falcon.Request, resp: falcon.Response, presentation_id: str):
        presentation = self._presentation(req, presentation_id)
        body = read_json_object(req)
        on = body.get('recording')
        if not isinstance(on, bool):
            raise falcon.HTTPBadRequest(
                title='Invalid recording',
                description='Send {"recording": true} to record, '
                '{"recording": false} to stop.',
            )
        if presentation.get('ended_at'):
            raise falcon.HTTPConflict(
                title='The presentation is over',
                description='Recording can be switched on or off only before or '
                'during the talk.',
            )
        room_sid = presentation.get('room_sid')
        room = self._store.get_room(room_sid) if room_sid else None
        was_on = presentation.get(recording_state.REQUESTED_FIELD) == '1'
        # The wish first: pages must never see the recording start (its callback)
        # before they see it was asked for. A room yet to be made records from its
        # start (rooms.ensure_room_for reads the flag); a live room changes its
        # Recording Rules now, and if that fails the wish is taken back.
        self._store.set_recording_requested(presentation['id'], on)
        if room_sid and not (room and room.get('ended_at')):
            try:
                self._rooms.set_recording(room_sid, on)
            except Exception as ex:
                self._store.set_recording_requested(presentation['id'], was_on)
                if getattr(ex, 'status', None) == 404:  # ended before we heard
                    raise falcon.HTTPConflict(
                        title='The live room has ended',
                        description='Start presenting again, then switch recording on.',
                    ) from None
                raise
        log.info('recording %s for %s', 'on' if on else 'off', presentation['id'])
        resp.cache_control = ['no-store']
        resp.media = self._state(self._store.get_presentation(presentation['id']))

    def on_delete(self, req: falcon.Request, resp: falcon.Response, presentation_id):
        presentation = self._presentation(req, presentation_id)
        view = recording_state.recording_view(
            presentation, self._store.media_records(presentation['id'])
        )
        sid = presentation.get(recording_state.COMPOSITION_FIELD)
        if not sid or view['status'] == 'deleted':
            raise falcon.HTTPNotFound(
                title='No recording to delete',
                description='This presentation has no recording file (any more).',
            )
        if view['status'] == 'processing':
            raise falcon.HTTPConflict(
                title='The recording is still being made',
                description='Delete it once it is ready (or has failed).',
            )
        self._rooms.delete_composition(sid)
        self._store.mark_composition_deleted(presentation['id'])
        log.info('deleted the recording of %s', presentation['id'])
        resp.cache_control = ['no-store']
        resp.media = self._state(self._store.get_presentation(presentation['id']))


class RecordingComposition(_RecordingBase):
    """`POST /api/presentations/{id}/recording/composition`: make the file again.

    For a composition that failed (ffmpeg died, the disk was full) or was
    deleted; a file that is being made or is ready is not made twice.
    """

    def on_post(self, req: falcon.Request, resp: falcon.Response, presentation_id):
        presentation = self._presentation(req, presentation_id)
        if not presentation.get('ended_at'):
            raise falcon.HTTPConflict(
                title='The talk is still on',
                description='The recording is made when the presentation ends.',
            )
        view = recording_state.recording_view(
            presentation, self._store.media_records(presentation['id'])
        )
        if view['status'] in ('processing', 'available'):
            raise falcon.HTTPConflict(
                title=f'The recording is {view["status"]}',
                description='Only a failed or deleted recording can be made again.',
            )
        if not view['recorded']:
            raise falcon.HTTPConflict(
                title='Nothing was recorded', description=NOTHING_RECORDED
            )
        request_composition(self._store, self._rooms, presentation)
        resp.status = falcon.HTTP_202
        resp.cache_control = ['no-store']
        resp.media = self._state(self._store.get_presentation(presentation['id']))


class RecordingMedia(_RecordingBase):
    """`GET /api/presentations/{id}/recording/media`: the MP4, streamed through us.

    Opens with the presenter key, or with `expires` and `signature` from the
    download link `GET .../recording` hands out (so a plain link downloads).
    """

    def __init__(self, *args, session: requests.Session | None = None):
        super().__init__(*args)
        self._session = session or requests.Session()

    def on_get(self, req: falcon.Request, resp: falcon.Response, presentation_id):
        presentation_id = known_id(presentation_id)
        signature = req.get_param('signature')
        if signature is None:
            presentation = self._presentation(req, presentation_id)
        else:
            presentation = access.find_presentation(self._store, presentation_id)
        sid = presentation.get(recording_state.COMPOSITION_FIELD, '')
        if signature is not None and not (
            sid
            and self._links.valid(
                presentation_id, sid, req.get_param('expires') or '', signature
            )
        ):
            raise falcon.HTTPForbidden(
                title='Download link expired or invalid',
                description='Open the presenter page again for a new download link.',
            )
        view = recording_state.recording_view(
            presentation, self._store.media_records(presentation_id)
        )
        if view['status'] != 'available':
            raise falcon.HTTPNotFound(
                title='No recording to download',
                description=f'The recording is {view["status"]}: a file can be '
                'downloaded once it is available.',
            )
        location = self._rooms.composition_media_url(sid)
        headers = {}
        if req.range:
            headers['Range'] = req.get_header('Range')
        upstream = self._session.get(
            location, headers=headers, stream=True, timeout=REQUEST_TIMEOUT
        )
        if upstream.status_code not in (200, 206):
            upstream.close()
            log.warning('media of %s answered %s', sid, upstream.status_code)
            raise falcon.HTTPBadGateway(
                title='The recording could not be fetched',
                description='The video service did not hand out the file. Try again.',
            )
        resp.status = upstream.status_code
        resp.content_type = 'video/mp4'
        for name in ('Content-Length', 'Content-Range', 'Accept-Ranges'):
            if name in upstream.headers:
                resp.set_header(name, upstream.headers[name])
        resp.downloadable_as = f'recording-{presentation_id}.mp4'
        resp.cache_control = ['private', 'no-store']
        resp.stream = _chunks(upstream)


def _chunks(upstream: requests.Response) -> Iterator[bytes]:
    try:
        yield from upstream.iter_content(CHUNK)
    finally:
        upstream.close()
