"""The Rooms REST subset at /v1/Rooms, shaped like Twilio's Video v1 API."""

from __future__ import annotations

import base64
import hmac
from urllib.parse import urlencode

import falcon

from .clock import iso_seconds
from .errors import (
    AUTHENTICATE,
    BAD_REQUEST,
    NOT_FOUND,
    PARTICIPANT_NOT_FOUND,
    PARTICIPANT_STATUS_INVALID,
    REQUEST_TOO_LARGE,
    ROOM_CALLBACK_INVALID,
    ROOM_CALLBACK_METHOD_INVALID,
    ROOM_MAX_PARTICIPANTS_INVALID,
    ROOM_NAME_INVALID,
    ROOM_NAME_TOO_LONG,
    ROOM_STATUS_INVALID,
    ROOM_TIMEOUT_INVALID,
    ROOM_TYPE_INVALID,
    ROOM_TYPE_NOT_SUPPORTED,
    SUBSCRIBE_RULES_INVALID,
    TwilioError,
)
from .rooms import DEFAULT_ROOM_TIMEOUT, Participant, Registry, Room, Track
from .rules import parse_rules, rules_json

DEFAULT_PAGE_SIZE = 50
MAX_PAGE_SIZE = 1000
MAX_NAME = 128
DEFAULT_MAX_PARTICIPANTS = 50
# Types Twilio still knows but no longer creates for new accounts (53126).
LEGACY_ROOM_TYPES = ('go', 'peer-to-peer', 'group-small')
# A room's parameters or 20 subscribe rules fit in a few KiB; refuse floods early.
MAX_BODY_BYTES = 64 * 1024


class BasicAuth:
    """HTTP Basic with the API key (or account SID + token), as Twilio wants."""

    def __init__(self, pairs: list[tuple[str, str]]) -> None:
        self._pairs = [(u.encode(), p.encode()) for u, p in pairs]

    def check(self, req, resp) -> None:
        """Return if the request carries a known pair; raise 401 (20003) if not."""
        header = req.get_header('Authorization') or ''
        scheme, _, encoded = header.partition(' ')
        if scheme.lower() == 'basic':
            try:
                user, _, password = base64.b64decode(encoded, validate=True).partition(
                    b':'
                )
            except ValueError:
                user = password = b''
            for good_user, good_password in self._pairs:
                # Compare both halves always, so timing tells nothing.
                same_user = hmac.compare_digest(user, good_user)
                if hmac.compare_digest(password, good_password) and same_user:
                    return
        resp.set_header('WWW-Authenticate', 'Basic realm="Twilio API"')
        raise TwilioError(AUTHENTICATE)


async def _authenticate(req, resp, resource, params) -> None:
    """Falcon `before` hook of every REST responder."""
    resource.auth.check(req, resp)


def _form_value(form: dict, name: str) -> str | None:
    value = form.get(name)
    if isinstance(value, list):
        value = value[-1]
    return None if value is None else str(value)


def _integer(
    form: dict, name: str, low: int, high: int | None, code: int, default: int
) -> int:
    raw = _form_value(form, name)
    if raw is None or raw == '':
        return default
    try:
        value = int(raw)
    except ValueError:
        raise TwilioError(code, f'{name} must be a whole number') from None
    if value < low or (high is not None and value > high):
        bound = f'between {low} and {high}' if high is not None else f'at least {low}'
        raise TwilioError(code, f'{name} must be {bound}')
    return value


async def _form(req) -> dict:
    if req.content_length in (None, 0):
        return {}
    if req.content_length > MAX_BODY_BYTES:
        raise TwilioError(
            REQUEST_TOO_LARGE,
            f'Request body too large: at most {MAX_BODY_BYTES} bytes',
        )
    form = await req.get_media()
    return form if isinstance(form, dict) else {}


class _Base:
    """What every Rooms REST resource shares, authentication first.

    Each subclass gets `_authenticate` before every responder it has, so no
    resource can forget it. The check follows the resource the router chose,
    not the path: `//v1/Rooms`, `/./v1/Rooms` and the like once reached the
    rooms past a middleware that looked for paths starting with `/v1/`.
    """

    def __init_subclass__(cls, **kwargs) -> None:
        super().__init_subclass__(**kwargs)
        falcon.before(_authenticate)(cls)

    def __init__(self, registry: Registry, account_sid: str, auth: BasicAuth) -> None:
        self._registry = registry
        self._account_sid = account_sid
        self.auth = auth

    def _room(self, sid_or_name: str) -> Room:
        room = self._registry.find_room(sid_or_name)
        if room is None:
            raise TwilioError(
                NOT_FOUND,
                f'The requested resource /Rooms/{sid_or_name} was not found',
            )
        return room

    def _participant(self, room: Room, sid_or_identity: str) -> Participant:
        participant = room.find_participant(sid_or_identity)
        if participant is None:
            raise TwilioError(
                NOT_FOUND,
                f'The requested resource /Rooms/{room.sid}'
                f'/Participants/{sid_or_identity} was not found',
            )
        return participant

    def room_json(self, req, room: Room) -> dict:
        url = f'{req.prefix}/v1/Rooms/{room.sid}'
        return {
            'sid': room.sid,
            'status': room.status,
            'date_created': iso_seconds(room.created_at),
            'date_updated': iso_seconds(room.updated_at),
            'account_sid': self._account_sid,
            'enable_turn': True,
            'unique_name': room.unique_name,
            'status_callback': room.status_callback,
            'status_callback_method': room.status_callback_method,
            'end_time': iso_seconds(room.end_time),
            'duration': room.duration(),
            'type': 'group',
            'max_participants': room.max_participants,
            'max_participant_duration': 14400,
            'max_concurrent_published_tracks': 0,
            'record_participants_on_connect': room.record_on_connect,
            'video_codecs': ['VP8', 'H264'],
            'media_region': 'local',
            'audio_only': False,
            'empty_room_timeout': room.empty_room_timeout,
            'unused_room_timeout': room.unused_room_timeout,
            'large_room': False,
            'url': url,
            'links': {
                'participants': f'{url}/Participants',
                'recordings': f'{url}/Recordings',
                'transcriptions': f'{url}/Transcriptions',
                'recording_rules': f'{url}/RecordingRules',
            },
        }

    def participant_json(self, req, participant: Participant) -> dict:
        room_url = f'{req.prefix}/v1/Rooms/{participant.room.sid}'
        url = f'{room_url}/Participants/{participant.sid}'
        return {
            'sid': participant.sid,
            'room_sid': participant.room.sid,
            'account_sid': self._account_sid,
            'status': participant.status,
            'identity': participant.identity,
            'date_created': iso_seconds(participant.created_at),
            'date_updated': iso_seconds(participant.end_time or participant.created_at),
            'start_time': iso_seconds(participant.created_at),
            'end_time': iso_seconds(participant.end_time),
            'duration': None if participant.connected else participant.duration(),
            'url': url,
            'links': {
                'published_tracks': f'{url}/PublishedTracks',
                'subscribed_tracks': f'{url}/SubscribedTracks',
                'subscribe_rules': f'{url}/SubscribeRules',
                'anonymize': f'{url}/Anonymize',
            },
        }


def _page(req, items: list, key: str, path: str, filters: dict[str, str]) -> dict:
    size = _integer(
        req.params, 'PageSize', 1, MAX_PAGE_SIZE, BAD_REQUEST, DEFAULT_PAGE_SIZE
    )
    page = _integer(req.params, 'Page', 0, None, BAD_REQUEST, 0)
    chunk = items[page * size : (page + 1) * size]

    def link(number: int) -> str:
        query = urlencode({**filters, 'PageSize': size, 'Page': number})
        return f'{req.prefix}{path}?{query}'

    has_next = (page + 1) * size < len(items)
    return {
        key: chunk,
        'meta': {
            'page': page,
            'page_size': size,
            'first_page_url': link(0),
            'previous_page_url': link(page - 1) if page > 0 else None,
            'url': link(page),
            'next_page_url': link(page + 1) if has_next else None,
            'key': key,
        },
    }


class RoomsResource(_Base):
    """`/v1/Rooms`: create and list."""

    async def on_post(self, req, resp) -> None:
        form = await _form(req)
        kind = _form_value(form, 'Type') or 'group'
        if kind in LEGACY_ROOM_TYPES:
            raise TwilioError(ROOM_TYPE_NOT_SUPPORTED, 'Room type must be group')
        if kind != 'group':
            raise TwilioError(ROOM_TYPE_INVALID, 'RoomType is not valid: use group')
        name = _form_value(form, 'UniqueName')
        if name is not None and len(name) > MAX_NAME:
            raise TwilioError(
                ROOM_NAME_TOO_LONG, f'UniqueName must be at most {MAX_NAME} characters'
            )
        if name == '':
            raise TwilioError(ROOM_NAME_INVALID, 'UniqueName must not be empty')
        if name is not None and name.startswith('RM') and len(name) == 34:
            raise TwilioError(
                ROOM_NAME_INVALID, 'UniqueName cannot look like a Room SID'
            )
        callback = _form_value(form, 'StatusCallback') or None
        if callback is not None and not callback.startswith(('http://', 'https://')):
            raise TwilioError(
                ROOM_CALLBACK_INVALID, 'StatusCallback must be an absolute http(s) URL'
            )
        method = (_form_value(form, 'StatusCallbackMethod') or 'POST').upper()
        if method not in ('GET', 'POST'):
            raise TwilioError(
                ROOM_CALLBACK_METHOD_INVALID, 'StatusCallbackMethod must be GET or POST'
            )
        record = (_form_value(form, 'RecordParticipantsOnConnect') or '').lower()
        if record not in ('', 'true', 'false'):
            raise TwilioError(
                BAD_REQUEST, 'RecordParticipantsOnConnect must be true or false'
            )
        room = self._registry.create_room(
            name,
            status_callback=callback,
            status_callback_method=method,
            # No cap of 50 here: a local room is as large as the machine allows.
            max_participants=_integer(
                form,
                'MaxParticipants',
                1,
                None,
                ROOM_MAX_PARTICIPANTS_INVALID,
                DEFAULT_MAX_PARTICIPANTS,
            ),
            empty_room_timeout=_integer(
                form,
                'EmptyRoomTimeout',
                1,
                60,
                ROOM_TIMEOUT_INVALID,
                DEFAULT_ROOM_TIMEOUT,
            ),
            unused_room_timeout=_integer(
                form,
                'UnusedRoomTimeout',
                1,
                60,
                ROOM_TIMEOUT_INVALID,
                DEFAULT_ROOM_TIMEOUT,
            ),
            record_participants_on_connect=record == 'true',
        )
        resp.status = falcon.HTTP_201
        resp.media = self.room_json(req, room)

    async def on_get(self, req, resp) -> None:
        status = req.get_param('Status')
        name = req.get_param('UniqueName')
        rooms = self._registry.rooms()
        if status:
            rooms = [r for r in rooms if r.status == status]
        if name:
            rooms = [r for r in rooms if r.unique_name == name]
        filters = {k: v for k, v in (('Status', status), ('UniqueName', name)) if v}
        resp.media = _page(
            req, [self.room_json(req, r) for r in rooms], 'rooms', '/v1/Rooms', filters
        )


class RoomResource(_Base):
    """`/v1/Rooms/{room}`: fetch and complete."""

    async def on_get(self, req, resp, room: str) -> None:
        resp.media = self.room_json(req, self._room(room))

    async def on_post(self, req, resp, room: str) -> None:
        found = self._room(room)
        form = await _form(req)
        status = _form_value(form, 'Status')
        if status != 'completed':
            raise TwilioError(ROOM_STATUS_INVALID, 'Status must be completed')
        self._registry.complete_room(found)
        resp.status = falcon.HTTP_202
        resp.media = self.room_json(req, found)


class ParticipantsResource(_Base):
    """`/v1/Rooms/{room}/Participants`: list."""

    async def on_get(self, req, resp, room: str) -> None:
        found = self._room(room)
        status = req.get_param('Status') or (
            'connected' if found.in_progress else 'disconnected'
        )
        identity = req.get_param('Identity')
        people = [p for p in found.participants.values() if p.status == status]
        if identity:
            people = [p for p in people if p.identity == identity]
        people.sort(key=lambda p: p.created_at)
        filters = {'Status': status, **({'Identity': identity} if identity else {})}
        resp.media = _page(
            req,
            [self.participant_json(req, p) for p in people],
            'participants',
            f'/v1/Rooms/{found.sid}/Participants',
            filters,
        )


class ParticipantResource(_Base):
    """`/v1/Rooms/{room}/Participants/{participant}`: fetch and kick."""

    async def on_get(self, req, resp, room: str, participant: str) -> None:
        found = self._participant(self._room(room), participant)
        resp.media = self.participant_json(req, found)

    async def on_post(self, req, resp, room: str, participant: str) -> None:
        found = self._participant(self._room(room), participant)
        form = await _form(req)
        if _form_value(form, 'Status') != 'disconnected':
            raise TwilioError(PARTICIPANT_STATUS_INVALID, 'Status must be disconnected')
        self._registry.kick(found)
        resp.status = falcon.HTTP_202
        resp.media = self.participant_json(req, found)


class PublishedTracksResource(_Base):
    """`.../Participants/{participant}/PublishedTracks`: list what is published now.

    Twilio lists a participant's currently published tracks only, so a
    disconnected participant has none. `enabled` is false while the publisher mutes it.
    """

    def track_json(self, req, participant: Participant, track: Track) -> dict:
        room_url = f'{req.prefix}/v1/Rooms/{participant.room.sid}'
        created = iso_seconds(track.created_at)
        return {
            'sid': track.sid,
            'participant_sid': participant.sid,
            'room_sid': participant.room.sid,
            'name': track.name,
            'date_created': created,
            'date_updated': created,
            'enabled': track.enabled,
            'kind': track.kind,
            'url': f'{room_url}/Participants/{participant.sid}'
            f'/PublishedTracks/{track.sid}',
        }

    async def on_get(self, req, resp, room: str, participant: str) -> None:
        found = self._participant(self._room(room), participant)
        tracks = list(found.tracks.values()) if found.connected else []
        tracks.sort(key=lambda t: (t.created_at, t.sid))
        resp.media = _page(
            req,
            [self.track_json(req, found, t) for t in tracks],
            'published_tracks',
            f'/v1/Rooms/{found.room.sid}/Participants/{found.sid}/PublishedTracks',
            {},
        )


class SubscribeRulesResource(_Base):
    """`.../Participants/{participant}/SubscribeRules`: read and replace."""

    def _rules_json(self, participant: Participant) -> dict:
        updated = iso_seconds(participant.rules_updated_at)
        return {
            'participant_sid': participant.sid,
            'room_sid': participant.room.sid,
            'rules': rules_json(participant.rules),
            'date_created': updated,
            'date_updated': updated,
        }

    async def on_get(self, req, resp, room: str, participant: str) -> None:
        found = self._participant(self._room(room), participant)
        resp.media = self._rules_json(found)

    async def on_post(self, req, resp, room: str, participant: str) -> None:
        found = self._participant(self._room(room), participant)
        if not found.connected:
            raise TwilioError(
                PARTICIPANT_NOT_FOUND,
                'Participant not found: subscribe rules need a connected participant',
            )
        form = await _form(req)
        raw = _form_value(form, 'Rules')
        if raw is None:
            raise TwilioError(
                SUBSCRIBE_RULES_INVALID, 'Invalid Subscribe Rules: Rules is required'
            )
        self._registry.set_rules(found, parse_rules(raw))
        resp.media = self._rules_json(found)


def add_routes(
    app: falcon.asgi.App, registry: Registry, account_sid: str, auth: BasicAuth
) -> None:
    """Route the Rooms REST subset; every resource asks `auth` first."""
    routes = {
        '/v1/Rooms': RoomsResource,
        '/v1/Rooms/{room}': RoomResource,
        '/v1/Rooms/{room}/Participants': ParticipantsResource,
        '/v1/Rooms/{room}/Participants/{participant}': ParticipantResource,
        '/v1/Rooms/{room}/Participants/{participant}/PublishedTracks': (
            PublishedTracksResource
        ),
        '/v1/Rooms/{room}/Participants/{participant}/SubscribeRules': (
            SubscribeRulesResource
        ),
    }
    for path, resource in routes.items():
        app.add_route(path, resource(registry, account_sid, auth))
