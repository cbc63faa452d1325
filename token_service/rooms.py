"""The Rooms REST API, through twilio-python, and the room cache in the store.

`client.video.base_url` is the seam for the local backend: the same calls go
either to Twilio or to local_video's Twilio-compatible `/v1/Rooms` server.
"""

from __future__ import annotations

import json
import logging
import threading

from requests import Session
from twilio.base import values
from twilio.base.exceptions import TwilioRestException
from twilio.http.http_client import TwilioHttpClient
from twilio.rest import Client

from podium import recording_state, room_state, video_layout
from podium.config import TokenServiceConfig
from podium.store import Store
from podium.video_api import REQUEST_TIMEOUT, VIDEO_ERRORS, video_client

log = logging.getLogger(__name__)

ROOM_IN_PROGRESS = 'in-progress'
# What attendees saw: the screen full size, the presenter's camera as a small
# picture-in-picture above it (track names from presentation-session.js).
COMPOSITION_LAYOUT = video_layout.LAYOUT
COMPOSITION_AUDIO = ['microphone']
COMPOSITION_RESOLUTION = video_layout.RESOLUTION
RECORD_ALL = [{'type': 'include', 'all': True}]
RECORD_NONE = [{'type': 'exclude', 'all': True}]
ROOM_EXISTS = 53113  # "Room exists": a concurrent request created it first


class PerThreadHttpClient(TwilioHttpClient):
    """twilio-python's HTTP client with one keep-alive `Session` per thread.

    gunicorn's gthread workers share one client between threads, and a
    requests Session is not documented as thread-safe.
    """

    def __init__(self, timeout: float):
        self._local = threading.local()
        super().__init__(pool_connections=False, timeout=timeout)

    @property
    def session(self) -> Session:
        session = getattr(self._local, 'session', None)
        if session is None:
            session = self._local.session = Session()
        return session

    @session.setter
    def session(self, value) -> None:
        pass  # the base class assigns one shared session; the getter replaces it


def twilio_client(config: TokenServiceConfig) -> Client:
    """Return a twilio-python client for the configured Rooms API."""
    return video_client(config, PerThreadHttpClient(timeout=REQUEST_TIMEOUT))


class Rooms:
    """The few Rooms API calls Podium makes."""

    def __init__(self, client: Client, config: TokenServiceConfig):
        self._client = client
        self._config = config

    def ensure(self, room_name: str, record: bool = False) -> str:
        """Return the SID of the in-progress room `room_name`, creating it if needed.

        `record`: a new room records every track from the start (the presenter
        asked for recording before going live).
        """
        sid = self._fetch_in_progress(room_name)
        if sid:
            return sid
        try:
            room = self._client.video.v1.rooms.create(
                unique_name=room_name,
                type='group',
                status_callback=self._config.status_callback_url,
                status_callback_method='POST',
                empty_room_timeout=self._config.empty_room_timeout,
                unused_room_timeout=self._config.empty_room_timeout,
                max_participants=self._config.max_participants,
                # Sent only when on: the room as before, unless asked to record.
                record_participants_on_connect=True if record else values.unset,
            )
        except VIDEO_ERRORS as ex:
            if ex.code != ROOM_EXISTS:
                raise
            log.info('room %s was created concurrently; fetching it', room_name)
            sid = self._fetch_in_progress(room_name)
            if sid:
                return sid
            raise
        log.info('created room %s (%s)', room_name, room.sid)
        return room.sid

    def _fetch_in_progress(self, room_name: str) -> str | None:
        try:
            room = self._client.video.v1.rooms(room_name).fetch()
        except VIDEO_ERRORS as ex:
            # Only "not found" means "create it"; any other failure is an outage
            # or a credentials problem that a create would not fix.
            if ex.status == 404:
                return None
            raise
        return room.sid if room.status == ROOM_IN_PROGRESS else None

    def complete(self, room_sid: str) -> None:
        """End the room, disconnecting everyone; a room that is gone is fine."""
        try:
            self._client.video.v1.rooms(room_sid).update(status='completed')
        except VIDEO_ERRORS as ex:
            if ex.status != 404:
                raise
        log.info('completed room %s', room_sid)

    def set_recording(self, room_sid: str, on: bool) -> None:
        """Start or stop recording every track of a live room (Recording Rules)."""
        rules = RECORD_ALL if on else RECORD_NONE
        self._client.video.v1.rooms(room_sid).recording_rules.update(rules=rules)
        log.info('recording %s in room %s', 'on' if on else 'off', room_sid)

    def compose(self, room_sid: str) -> str:
        """Ask for the one MP4 of an ended room's recordings; return its SID.

        Its callbacks go to the webhooks service like the room's own.
        """
        composition = self._client.video.v1.compositions.create(
            room_sid=room_sid,
            video_layout=COMPOSITION_LAYOUT,
            audio_sources=COMPOSITION_AUDIO,
            resolution=COMPOSITION_RESOLUTION,
            format='mp4',
            status_callback=self._config.status_callback_url,
            status_callback_method='POST',
        )
        log.info('composition %s of room %s enqueued', composition.sid, room_sid)
        return composition.sid

    def set_broadcast(self, room_sid: str, on: bool) -> dict:
        """Start or stop the room's HLS broadcast (local_video's Rooms extension)."""
        url = f'{self._client.video.base_url}/v1/Rooms/{room_sid}/Broadcast'
        answer = self._client.request(
            'POST', url, data={'Status': 'started' if on else 'stopped'}
        )
        return _extension_answer(answer, url)

    def is_full(self, room_sid: str) -> bool:
        """Whether the room holds MaxParticipants connected participants (2 reads)."""
        room = self._client.video.v1.rooms(room_sid).fetch()
        limit = int(room.max_participants or 0)
        connected = self._client.video.v1.rooms(room_sid).participants.list(
            status='connected', limit=limit + 1
        )
        return limit > 0 and len(connected) >= limit

    def broadcast(self, room_sid: str) -> dict:
        url = f'{self._client.video.base_url}/v1/Rooms/{room_sid}/Broadcast'
        return _extension_answer(self._client.request('GET', url), url)

    def delete_composition(self, sid: str) -> None:
        """Delete a composition's file; one that is gone already is fine."""
        try:
            self._client.video.v1.compositions(sid).delete()
        except VIDEO_ERRORS as ex:
            if ex.status != 404:
                raise
        log.info('deleted composition %s', sid)

    def composition_media_url(self, sid: str) -> str:
        """Return the short-lived URL of a composition's file (never for browsers).

        Twilio answers `/Media` with a redirect (and the URL in JSON as well).
        """
        url = f'{self._client.video.base_url}/v1/Compositions/{sid}/Media'
        answer = self._client.request('GET', url, allow_redirects=False)
        if answer.status_code >= 400:
            raise _api_error(answer, url)
        location = (answer.headers or {}).get('Location', '')
        if not location:
            try:
                location = json.loads(answer.text or '{}').get('redirect_to', '')
            except ValueError:
                location = ''
        if not location:
            raise TwilioRestException(502, url, 'No media location', method='GET')
        return location

    def disconnect(self, room: str, identity: str) -> None:
        """Disconnect a participant (a speaker taken off stage); gone is fine."""
        try:
            self._client.video.v1.rooms(room).participants(identity).update(
                status='disconnected'
            )
        except VIDEO_ERRORS as ex:
            if ex.status != 404:
                raise
        log.info('disconnected %s from room %s', identity, room)

    def set_subscribe_rules(self, room: str, identity: str, rules: list[dict]) -> None:
        """Replace a connected participant's subscribe rules."""
        participant = self._client.video.v1.rooms(room).participants(identity)
        participant.subscribe_rules.update(rules=rules)


def _api_error(answer, url: str) -> TwilioRestException:
    """The exception twilio-python raises for an error answer, from a raw one."""
    try:
        body = json.loads(answer.text or '{}')
    except ValueError:
        body = {}
    return TwilioRestException(
        answer.status_code,
        url,
        msg=body.get('message') or 'the video API refused the request',
        code=body.get('code'),
        method='GET',
    )


UNREAD = object()  # ensure_room_for: the caller has not read the room record


room_name_of = room_state.room_name_of


def _extension_answer(answer, url: str) -> dict:
    """Parse an answer of a Rooms API extension as twilio-python parses its own."""
    if not 200 <= answer.status_code < 300:
        raise _api_error(answer, url)
    try:
        return json.loads(answer.text or '{}')
    except ValueError:
        return {}


def _checked_recently(
    presentation: dict[str, str], config: TokenServiceConfig, now_ms: int
) -> bool:
    checked_at = int(presentation.get('room_checked_at') or 0)
    return now_ms - checked_at < config.room_check_interval * 1000


def current_room(
    presentation: dict[str, str],
    *,
    config: TokenServiceConfig,
    now_ms: int,
    room: dict | None,
) -> str | None:
    """Return the room SID `ensure_room_for` would return without any I/O, given
    the stored `room` record already read; None if it must ask (Redis or the
    Rooms API)."""
    sid = presentation.get('room_sid')
    if sid and _checked_recently(presentation, config, now_ms):
        if not (room and room.get('ended_at')):
            return sid
    return None


def ensure_room_for(
    presentation: dict[str, str],
    *,
    rooms: Rooms,
    store: Store,
    config: TokenServiceConfig,
    now_ms: int,
    room: dict | None | object = UNREAD,
) -> str:
    """Return the SID of the presentation's live room, creating it if needed.

    The Rooms API is asked at most once per `room_check_interval`, unless the
    webhooks saw the remembered room end: every attendee asks for a token, and
    Twilio allows only 80 REST reads a second. `room` is the stored record of
    the presentation's `room_sid` if the caller already read it.
    """
    sid = presentation.get('room_sid')
    if sid and _checked_recently(presentation, config, now_ms):
        if room is UNREAD:
            room = store.get_room(sid)
        if not (room and room.get('ended_at')):
            return sid
    sid = rooms.ensure(
        room_name_of(presentation),
        record=presentation.get(recording_state.REQUESTED_FIELD) == '1',
    )
    store.set_room(presentation['id'], sid, now_ms)
    if presentation.get('broadcast') == '1' and sid != presentation.get('room_sid'):
        # A new room (the first, or after the last one timed out) is broadcast too.
        rooms.set_broadcast(sid, True)
    return sid
