"""A fake of Twilio's Video v1 Rooms REST API, on loopback, for tests.

Point twilio-python at it with `client.video.base_url = fake.url`. It answers
the subset Podium uses, the way Twilio does (form-encoded requests, HTTP Basic
with the API key, JSON bodies shaped like `twilio-video-v1.openapi.json`):

- `POST/GET /v1/Rooms`, `GET/POST /v1/Rooms/{Sid or UniqueName}`
- `GET /v1/Rooms/{Room}/Participants`, `GET/POST .../Participants/{Sid or Identity}`
- `GET/POST .../Participants/{Sid or Identity}/SubscribeRules`

Usage::

    with FakeTwilio(account_sid, api_key_sid, api_key_secret) as fake:
        client.video.base_url = fake.url
        fake.fail_next('POST', '/v1/Rooms', 400, 53113, 'Room exists')
        ...
        assert fake.requests[-1].form == {'UniqueName': ['podium-x'], ...}

There are no browsers, so `connect_participant()` stands in for one joining.
Every request is recorded in `.requests` (header names lower-cased), including
those that failed authentication or an injected failure.
"""

from __future__ import annotations

import base64
import copy
import json
import re
import secrets
import threading
from dataclasses import dataclass, field
from datetime import UTC, datetime
from http.server import BaseHTTPRequestHandler, ThreadingHTTPServer
from urllib.parse import parse_qs, unquote, urlsplit

from podium.twilio_errors import MORE_INFO, TwilioCode

ROOM_SID = re.compile(r'RM[0-9a-f]{32}')
PARTICIPANT_SID = re.compile(r'PA[0-9a-f]{32}')
ROOM_TYPES = ('group',)  # new accounts get only group rooms
LEGACY_ROOM_TYPES = ('go', 'peer-to-peer', 'group-small')  # 53126; others 53108
MAX_PARTICIPANTS = 50
MAX_SUBSCRIBE_RULES = 20
RULE_FILTERS = frozenset({'all', 'kind', 'publisher', 'track', 'priority'})
DEFAULT_RULES = [{'type': 'include', 'all': True}]

# Twilio error codes the fake answers with: the table local_video answers from.
AUTHENTICATE = TwilioCode.AUTHENTICATE
BAD_REQUEST = TwilioCode.BAD_REQUEST
NOT_FOUND = TwilioCode.NOT_FOUND
PARTICIPANT_STATUS_INVALID = TwilioCode.PARTICIPANT_STATUS_INVALID
ROOM_CALLBACK_METHOD_INVALID = TwilioCode.ROOM_CALLBACK_METHOD_INVALID
ROOM_FULL = TwilioCode.ROOM_FULL
ROOM_COMPLETED = TwilioCode.ROOM_COMPLETED
ROOM_EXISTS = TwilioCode.ROOM_EXISTS
ROOM_NAME_TOO_LONG = TwilioCode.ROOM_NAME_TOO_LONG
ROOM_STATUS_INVALID = TwilioCode.ROOM_STATUS_INVALID
ROOM_TIMEOUT_INVALID = TwilioCode.ROOM_TIMEOUT_INVALID
ROOM_TYPE_INVALID = TwilioCode.ROOM_TYPE_INVALID
ROOM_TYPE_NOT_SUPPORTED = TwilioCode.ROOM_TYPE_NOT_SUPPORTED
MAX_PARTICIPANTS_INVALID = TwilioCode.ROOM_MAX_PARTICIPANTS_INVALID
INVALID_SUBSCRIBE_RULES = TwilioCode.SUBSCRIBE_RULES_INVALID


@dataclass(frozen=True)
class RecordedRequest:
    """One request as the fake received it."""

    method: str
    path: str  # URL-decoded, without the query string
    form: dict[str, list[str]]
    query: dict[str, list[str]]
    headers: dict[str, str]  # names lower-cased


@dataclass
class _Failure:
    method: str
    path: re.Pattern
    status: int
    code: int
    message: str


class ApiError(Exception):
    def __init__(self, status: int, code: int, message: str):
        super().__init__(message)
        self.status = status
        self.code = code
        self.message = message


@dataclass
class _State:
    rooms: dict[str, dict] = field(default_factory=dict)
    # room sid -> participant sid -> participant resource
    participants: dict[str, dict[str, dict]] = field(default_factory=dict)
    # participant sid -> subscribe rules resource
    rules: dict[str, dict] = field(default_factory=dict)
    # room sid -> recording rules resource; rooms that ever recorded
    recording_rules: dict[str, dict] = field(default_factory=dict)
    recorded: set[str] = field(default_factory=set)
    compositions: dict[str, dict] = field(default_factory=dict)


def _now() -> str:
    return datetime.now(UTC).strftime('%Y-%m-%dT%H:%M:%SZ')


def _seconds_between(start: str, end: str) -> int:
    parse = lambda text: datetime.strptime(text, '%Y-%m-%dT%H:%M:%SZ')  # noqa: E731
    return int((parse(end) - parse(start)).total_seconds())


class FakeTwilio:
    """A threaded HTTP server on 127.0.0.1 that speaks Video v1 Rooms REST."""

    def __init__(self, account_sid: str, api_key_sid: str, api_key_secret: str):
        self.account_sid = account_sid
        self.api_key_sid = api_key_sid
        self._api_key_secret = api_key_secret
        self._lock = threading.Lock()
        self._state = _State()
        self._requests: list[RecordedRequest] = []
        self._failures: list[_Failure] = []
        self._media: dict[str, bytes] = {}  # composition sid -> its file
        self._server: ThreadingHTTPServer | None = None
        self._thread: threading.Thread | None = None

    # Lifecycle ---------------------------------------------------------------

    def start(self) -> FakeTwilio:
        """Listen on a free loopback port and serve in a background thread."""
        fake = self

        class Handler(_Handler):
            owner = fake

        self._server = _Server(('127.0.0.1', 0), Handler)
        self._thread = threading.Thread(
            target=self._server.serve_forever,
            kwargs={'poll_interval': 0.05},  # so stop() returns quickly
            name='fake-twilio',
            daemon=True,
        )
        self._thread.start()
        return self

    def stop(self) -> None:
        if self._server is not None:
            self._server.shutdown()
            self._server.server_close()
            self._server = None
        if self._thread is not None:
            self._thread.join(timeout=5)
            self._thread = None

    def __enter__(self) -> FakeTwilio:
        return self.start()

    def __exit__(self, *exc) -> None:
        self.stop()

    @property
    def url(self) -> str:
        """Return the base URL to set as `client.video.base_url`."""
        if self._server is None:
            raise RuntimeError('FakeTwilio is not started')
        return f'http://127.0.0.1:{self._server.server_address[1]}'

    # What tests look at and steer --------------------------------------------

    @property
    def requests(self) -> list[RecordedRequest]:
        """Return every request received so far, oldest first (a copy)."""
        with self._lock:
            return list(self._requests)

    def requests_to(self, method: str, path_regex: str) -> list[RecordedRequest]:
        """Return the recorded requests whose method and whole path match."""
        pattern = re.compile(path_regex)
        return [
            r for r in self.requests if r.method == method and pattern.fullmatch(r.path)
        ]

    def clear_requests(self) -> None:
        with self._lock:
            self._requests.clear()

    @property
    def rooms(self) -> dict[str, dict]:
        """Return every room resource by sid, as the API shows it (a copy)."""
        with self._lock:
            return {sid: dict(room) for sid, room in self._state.rooms.items()}

    def fail_next(
        self, method: str, path_regex: str, status: int, code: int, message: str
    ) -> None:
        """Make the next request whose method and whole path match fail once."""
        with self._lock:
            self._failures.append(
                _Failure(method.upper(), re.compile(path_regex), status, code, message)
            )

    def connect_participant(self, room: str, identity: str) -> str:
        """Join `identity` to an in-progress room (sid or name); return its sid.

        Like Twilio, a second connection with the same identity disconnects
        the first.
        """
        with self._lock:
            room_resource = self._find_room(room)
            if room_resource['status'] != 'in-progress':
                raise ApiError(400, ROOM_COMPLETED, 'Room completed')
            participants = self._state.participants[room_resource['sid']]
            for other in participants.values():
                if other['identity'] == identity and other['status'] == 'connected':
                    self._disconnect(other)
            connected = sum(p['status'] == 'connected' for p in participants.values())
            if connected >= room_resource['max_participants']:
                raise ApiError(400, ROOM_FULL, 'Room contains too many Participants')
            sid = 'PA' + secrets.token_hex(16)
            now = _now()
            participants[sid] = {
                'sid': sid,
                'room_sid': room_resource['sid'],
                'account_sid': self.account_sid,
                'status': 'connected',
                'identity': identity,
                'date_created': now,
                'date_updated': now,
                'start_time': now,
                'end_time': None,
                'duration': None,
                'url': f'{self.url}/v1/Rooms/{room_resource["sid"]}/Participants/{sid}',
                'links': {
                    name: f'{self.url}/v1/Rooms/{room_resource["sid"]}/Participants/'
                    f'{sid}/{name}'
                    for name in (
                        'PublishedTracks',
                        'SubscribedTracks',
                        'SubscribeRules',
                    )
                },
            }
            return sid

    def subscribe_rules(self, room: str, participant: str) -> list[dict]:
        """Return a participant's current subscribe rules."""
        with self._lock:
            found = self._find_participant(self._find_room(room), participant)
            return list(self._rules_of(found)['rules'])

    def complete_room(self, room: str) -> None:
        """End a room as Twilio would after its empty-room timeout."""
        with self._lock:
            self._complete(self._find_room(room))

    # The API -----------------------------------------------------------------

    def handle(self, request: RecordedRequest) -> tuple[int, dict]:
        """Answer one request: return (HTTP status, JSON body)."""
        with self._lock:
            self._requests.append(request)
            try:
                self._authenticate(request.headers.get('authorization', ''))
                self._inject_failure(request)
                status, payload = self._route(request)
                # Answer a snapshot: the handler serialises it outside the lock.
                return status, copy.deepcopy(payload)
            except ApiError as ex:
                return ex.status, {
                    'code': ex.code,
                    'message': ex.message,
                    'more_info': MORE_INFO.format(code=ex.code),
                    'status': ex.status,
                }

    def _authenticate(self, header: str) -> None:
        expected = base64.b64encode(
            f'{self.api_key_sid}:{self._api_key_secret}'.encode()
        ).decode()
        scheme, _, credentials = header.partition(' ')
        if scheme != 'Basic' or not secrets.compare_digest(credentials, expected):
            raise ApiError(401, AUTHENTICATE, 'Authenticate')

    def _inject_failure(self, request: RecordedRequest) -> None:
        for failure in self._failures:
            if failure.method == request.method and failure.path.fullmatch(
                request.path
            ):
                self._failures.remove(failure)
                raise ApiError(failure.status, failure.code, failure.message)

    def _route(self, request: RecordedRequest) -> tuple[int, dict]:
        parts = request.path.strip('/').split('/')
        if parts[:2] == ['v1', 'Compositions']:
            return self._route_compositions(parts[2:], request)
        if parts[2:] and parts[3:] == ['RecordingRules']:
            room = parts[2]
            if request.method == 'GET':
                return 200, self._recording_rules(self._find_room(room)['sid'])
            if request.method == 'POST':
                return self._set_recording_rules(room, request)
        if parts[:2] != ['v1', 'Rooms']:
            raise ApiError(404, NOT_FOUND, 'The requested resource was not found')
        rest = parts[2:]
        method = request.method
        routes = {
            (0, 'GET'): lambda: self._list_rooms(request),
            (0, 'POST'): lambda: self._create_room(request),
            (1, 'GET'): lambda: (200, self._find_room(rest[0])),
            (1, 'POST'): lambda: self._update_room(rest[0], request),
        }
        if len(rest) >= 2 and rest[1] == 'Participants':
            routes = {
                (2, 'GET'): lambda: self._list_participants(rest[0], request),
                (3, 'GET'): lambda: (200, self._participant(rest[0], rest[2])),
                (3, 'POST'): lambda: self._update_participant(
                    rest[0], rest[2], request
                ),
            }
            if len(rest) == 4 and rest[3] == 'SubscribeRules':
                routes = {
                    (4, 'GET'): lambda: (200, self._get_rules(rest[0], rest[2])),
                    (4, 'POST'): lambda: self._set_rules(rest[0], rest[2], request),
                }
        elif len(rest) > 1:
            routes = {}
        handler = routes.get((len(rest), method))
        if handler is None:
            raise ApiError(404, NOT_FOUND, 'The requested resource was not found')
        return handler()

    # Rooms

    def _find_room(self, sid_or_name: str) -> dict:
        if ROOM_SID.fullmatch(sid_or_name):
            room = self._state.rooms.get(sid_or_name)
        else:
            # A UniqueName addresses a room only while it is in progress.
            room = next(
                (
                    r
                    for r in self._state.rooms.values()
                    if r['unique_name'] == sid_or_name and r['status'] == 'in-progress'
                ),
                None,
            )
        if room is None:
            raise ApiError(404, NOT_FOUND, 'The requested resource was not found')
        return room

    def _create_room(self, request: RecordedRequest) -> tuple[int, dict]:
        form = _single_values(request.form)
        sid = 'RM' + secrets.token_hex(16)
        unique_name = form.get('UniqueName') or sid
        if len(unique_name) > 128:
            raise ApiError(400, ROOM_NAME_TOO_LONG, 'UniqueName is too long')
        if any(
            r['unique_name'] == unique_name and r['status'] == 'in-progress'
            for r in self._state.rooms.values()
        ):
            raise ApiError(400, ROOM_EXISTS, 'Room exists')
        room_type = form.get('Type', 'group')
        if room_type in LEGACY_ROOM_TYPES:
            raise ApiError(400, ROOM_TYPE_NOT_SUPPORTED, 'Room type not supported')
        if room_type not in ROOM_TYPES:
            raise ApiError(400, ROOM_TYPE_INVALID, 'RoomType is not valid')
        max_participants = _integer(form, 'MaxParticipants', MAX_PARTICIPANTS)
        if not 1 <= max_participants <= MAX_PARTICIPANTS:
            raise ApiError(400, MAX_PARTICIPANTS_INVALID, 'Invalid MaxParticipants')
        timeouts = {}
        for name in ('EmptyRoomTimeout', 'UnusedRoomTimeout'):
            timeouts[name] = _integer(form, name, 5)
            if not 1 <= timeouts[name] <= 60:
                raise ApiError(
                    400, ROOM_TIMEOUT_INVALID, f'{name} must be 1-60 minutes'
                )
        callback_method = form.get('StatusCallbackMethod', 'POST')
        if callback_method not in ('GET', 'POST'):
            raise ApiError(
                400, ROOM_CALLBACK_METHOD_INVALID, 'Invalid StatusCallbackMethod'
            )
        now = _now()
        room = {
            'sid': sid,
            'status': 'in-progress',
            'date_created': now,
            'date_updated': now,
            'account_sid': self.account_sid,
            'enable_turn': True,
            'unique_name': unique_name,
            'status_callback': form.get('StatusCallback'),
            'status_callback_method': callback_method,
            'end_time': None,
            'duration': None,
            'type': room_type,
            'max_participants': max_participants,
            'max_participant_duration': _integer(form, 'MaxParticipantDuration', 14400),
            'max_concurrent_published_tracks': 170,
            'record_participants_on_connect': form.get('RecordParticipantsOnConnect')
            == 'true',
            'video_codecs': request.form.get('VideoCodecs') or ['VP8', 'H264'],
            'media_region': form.get('MediaRegion', 'us1'),
            'audio_only': form.get('AudioOnly') == 'true',
            'empty_room_timeout': timeouts['EmptyRoomTimeout'],
            'unused_room_timeout': timeouts['UnusedRoomTimeout'],
            'large_room': False,
            'url': f'{self.url}/v1/Rooms/{sid}',
            'links': {
                name: f'{self.url}/v1/Rooms/{sid}/{path}'
                for name, path in (
                    ('participants', 'Participants'),
                    ('recordings', 'Recordings'),
                    ('transcriptions', 'Transcriptions'),
                    ('recording_rules', 'RecordingRules'),
                )
            },
        }
        self._state.rooms[sid] = room
        self._state.participants[sid] = {}
        if room['record_participants_on_connect']:
            self._state.recorded.add(sid)  # records every track from the start
        return 201, room

    def _list_rooms(self, request: RecordedRequest) -> tuple[int, dict]:
        query = _single_values(request.query)
        rooms = [
            r
            for r in self._state.rooms.values()
            if query.get('Status', r['status']) == r['status']
            and query.get('UniqueName', r['unique_name']) == r['unique_name']
        ]
        page_size = _integer(query, 'PageSize', 50)
        return 200, {
            'rooms': rooms[:page_size],
            'meta': self._meta('rooms', '/v1/Rooms', page_size),
        }

    def _update_room(
        self, sid_or_name: str, request: RecordedRequest
    ) -> tuple[int, dict]:
        room = self._find_room(sid_or_name)
        if _single_values(request.form).get('Status') != 'completed':
            raise ApiError(400, ROOM_STATUS_INVALID, 'Status must be completed')
        self._complete(room)
        return 202, room

    def _complete(self, room: dict) -> None:
        if room['status'] != 'in-progress':
            return
        now = _now()
        room.update(
            status='completed',
            end_time=now,
            date_updated=now,
            duration=_seconds_between(room['date_created'], now),
        )
        for participant in self._state.participants[room['sid']].values():
            self._disconnect(participant)

    # Participants

    def _participant(self, room: str, sid_or_identity: str) -> dict:
        return self._find_participant(self._find_room(room), sid_or_identity)

    def _find_participant(self, room: dict, sid_or_identity: str) -> dict:
        participants = self._state.participants[room['sid']]
        if PARTICIPANT_SID.fullmatch(sid_or_identity):
            found = participants.get(sid_or_identity)
        else:
            # An identity addresses the participant connected under it.
            found = next(
                (
                    p
                    for p in participants.values()
                    if p['identity'] == sid_or_identity and p['status'] == 'connected'
                ),
                None,
            )
        if found is None:
            raise ApiError(404, NOT_FOUND, 'The requested resource was not found')
        return found

    def _list_participants(
        self, room: str, request: RecordedRequest
    ) -> tuple[int, dict]:
        room_resource = self._find_room(room)
        query = _single_values(request.query)
        found = [
            p
            for p in self._state.participants[room_resource['sid']].values()
            if query.get('Status', p['status']) == p['status']
            and query.get('Identity', p['identity']) == p['identity']
        ]
        page_size = _integer(query, 'PageSize', 50)
        path = f'/v1/Rooms/{room_resource["sid"]}/Participants'
        return 200, {
            'participants': found[:page_size],
            'meta': self._meta('participants', path, page_size),
        }

    def _update_participant(
        self, room: str, sid_or_identity: str, request: RecordedRequest
    ) -> tuple[int, dict]:
        participant = self._participant(room, sid_or_identity)
        if _single_values(request.form).get('Status') != 'disconnected':
            raise ApiError(
                400, PARTICIPANT_STATUS_INVALID, 'Status must be disconnected'
            )
        self._disconnect(participant)
        return 202, participant

    def _disconnect(self, participant: dict) -> None:
        if participant['status'] == 'disconnected':
            return
        now = _now()
        participant.update(
            status='disconnected',
            end_time=now,
            date_updated=now,
            duration=_seconds_between(participant['start_time'], now),
        )

    # Subscribe rules

    def _rules_of(self, participant: dict) -> dict:
        return self._state.rules.setdefault(
            participant['sid'],
            {
                'participant_sid': participant['sid'],
                'room_sid': participant['room_sid'],
                'rules': list(DEFAULT_RULES),
                'date_created': None,
                'date_updated': None,
            },
        )

    def _get_rules(self, room: str, participant: str) -> dict:
        return self._rules_of(self._participant(room, participant))

    def _set_rules(
        self, room: str, sid_or_identity: str, request: RecordedRequest
    ) -> tuple[int, dict]:
        participant = self._participant(room, sid_or_identity)
        if participant['status'] != 'connected':
            raise ApiError(404, NOT_FOUND, 'The requested resource was not found')
        rules = _parse_rules(_single_values(request.form).get('Rules'))
        resource = self._rules_of(participant)
        now = _now()
        resource.update(rules=rules, date_updated=now)
        resource['date_created'] = resource['date_created'] or now
        return 200, resource

    # Recording Rules and Compositions (no media: a room that recorded anything
    # composes, instantly "enqueued"; tests move it on with `finish_composition`)

    def _recording_rules(self, room_sid: str) -> dict:
        room = self._state.rooms[room_sid]
        if room_sid not in self._state.recording_rules:
            on = room['record_participants_on_connect']
            self._state.recording_rules[room_sid] = {
                'room_sid': room_sid,
                'rules': [{'type': 'include' if on else 'exclude', 'all': True}],
                'date_created': room['date_created'],
                'date_updated': room['date_created'],
            }
            if on:
                self._state.recorded.add(room_sid)
        return self._state.recording_rules[room_sid]

    def _set_recording_rules(
        self, room: str, request: RecordedRequest
    ) -> tuple[int, dict]:
        found = self._find_room(room)
        try:
            rules = json.loads(_single_values(request.form).get('Rules') or '')
        except ValueError:
            raise ApiError(400, BAD_REQUEST, 'Invalid Recording Rules') from None
        if not isinstance(rules, list) or not all(
            isinstance(r, dict) and r.get('type') in ('include', 'exclude')
            for r in rules
        ):
            raise ApiError(400, BAD_REQUEST, 'Invalid Recording Rules')
        resource = self._recording_rules(found['sid'])
        resource.update(rules=rules, date_updated=_now())
        if any(r['type'] == 'include' for r in rules):
            self._state.recorded.add(found['sid'])
        return 200, resource

    def _route_compositions(
        self, rest: list[str], request: RecordedRequest
    ) -> tuple[int, dict]:
        method = request.method
        if not rest and method == 'POST':
            return self._create_composition(request)
        if not rest and method == 'GET':
            items = sorted(
                self._state.compositions.values(),
                key=lambda c: c['date_created'],
                reverse=True,
            )
            return 200, {
                'compositions': items,
                'meta': self._meta('compositions', '/v1/Compositions', 50),
            }
        if len(rest) == 2 and rest[1] == 'Media' and method == 'GET':
            return self._composition_media(rest[0])
        found = self._state.compositions.get(rest[0]) if len(rest) == 1 else None
        if found is None or found['status'] == 'deleted':
            raise ApiError(404, NOT_FOUND, 'The requested resource was not found')
        if method == 'GET':
            return 200, found
        if method == 'DELETE':
            found.update(status='deleted', date_deleted=_now())
            return 204, {}
        raise ApiError(404, NOT_FOUND, 'The requested resource was not found')

    def _create_composition(self, request: RecordedRequest) -> tuple[int, dict]:
        form = _single_values(request.form)
        room_sid = form.get('RoomSid', '')
        if room_sid not in self._state.rooms:
            raise ApiError(400, BAD_REQUEST, 'RoomSid is not a room of this account')
        if room_sid not in self._state.recorded:
            raise ApiError(400, BAD_REQUEST, f'Room {room_sid} has no recordings')
        layout = json.loads(form['VideoLayout']) if form.get('VideoLayout') else {}
        audio = request.form.get('AudioSources') or []
        if not layout and not audio:
            raise ApiError(400, BAD_REQUEST, 'VideoLayout or AudioSources required')
        sid = 'CJ' + secrets.token_hex(16)
        url = f'{self.url}/v1/Compositions/{sid}'
        composition = {
            'account_sid': self.account_sid,
            'status': 'enqueued',
            'date_created': _now(),
            'date_completed': None,
            'date_deleted': None,
            'sid': sid,
            'room_sid': room_sid,
            'audio_sources': audio,
            'audio_sources_excluded': request.form.get('AudioSourcesExcluded') or [],
            'video_layout': layout,
            'resolution': form.get('Resolution', '640x480'),
            'trim': form.get('Trim', 'true') == 'true',
            'format': form.get('Format', 'webm'),
            'bitrate': 0,
            'size': 0,
            'duration': 0,
            'media_external_location': None,
            'status_callback': form.get('StatusCallback'),
            'status_callback_method': form.get('StatusCallbackMethod', 'POST'),
            'url': url,
            'links': {'media': f'{url}/Media'},
        }
        self._state.compositions[sid] = composition
        return 201, composition

    def _composition_media(self, sid: str) -> tuple[int, dict]:
        # Twilio redirects to a short-lived URL elsewhere; here, /media/ on the fake.
        found = self._state.compositions.get(sid)
        if found is None or found['status'] != 'completed':
            raise ApiError(404, NOT_FOUND, 'The requested resource was not found')
        return 302, {'redirect_to': f'{self.url}/media/{sid}?Expires=1&Signature=x'}

    def media_file(self, sid: str) -> bytes | None:
        """The bytes a completed composition's media URL serves (no auth: presigned)."""
        with self._lock:
            return self._media.get(sid)

    def compositions(self) -> dict[str, dict]:
        with self._lock:
            return copy.deepcopy(self._state.compositions)

    def finish_composition(
        self, sid: str, duration: int = 60, size: int = 1000, media: bytes = b''
    ):
        """Mark a composition completed, as Twilio does when its media is ready."""
        with self._lock:
            self._media[sid] = media or b'\x00' * size
            self._state.compositions[sid].update(
                status='completed', date_completed=_now(), duration=duration, size=size
            )

    def _meta(self, key: str, path: str, page_size: int) -> dict:
        page_url = f'{self.url}{path}?PageSize={page_size}&Page=0'
        return {
            'page': 0,
            'page_size': page_size,
            'first_page_url': page_url,
            'previous_page_url': None,
            'url': page_url,
            'next_page_url': None,
            'key': key,
        }


def _single_values(values: dict[str, list[str]]) -> dict[str, str]:
    return {name: items[-1] for name, items in values.items() if items}


def _integer(values: dict, name: str, default: int) -> int:
    raw = values.get(name)
    if isinstance(raw, list):
        raw = raw[-1] if raw else None
    if raw is None:
        return default
    try:
        return int(raw)
    except ValueError:
        raise ApiError(400, BAD_REQUEST, f'{name} must be an integer') from None


def _parse_rules(raw: str | None) -> list[dict]:
    def invalid(why: str) -> ApiError:
        return ApiError(400, INVALID_SUBSCRIBE_RULES, f'Invalid subscribe rules: {why}')

    if raw is None:
        raise invalid('Rules is missing')
    try:
        rules = json.loads(raw)
    except ValueError:
        raise invalid('Rules is not JSON') from None
    if not isinstance(rules, list) or not rules:
        raise invalid('Rules must be a non-empty array')
    if len(rules) > MAX_SUBSCRIBE_RULES:
        raise invalid(f'at most {MAX_SUBSCRIBE_RULES} rules')
    for rule in rules:
        if not isinstance(rule, dict) or rule.get('type') not in ('include', 'exclude'):
            raise invalid('every rule needs a type of include or exclude')
        filters = set(rule) - {'type'}
        if not filters or not filters <= RULE_FILTERS:
            raise invalid(f'unknown or missing filters in {rule}')
        if 'all' in filters and (filters != {'all'} or rule['all'] is not True):
            raise invalid('"all": true must stand alone')
    return rules


class _Server(ThreadingHTTPServer):
    daemon_threads = True
    # The default backlog of 5 makes a crowd of concurrent clients wait for
    # SYN retransmits (a second each).
    request_queue_size = 128


class _Handler(BaseHTTPRequestHandler):
    owner: FakeTwilio
    server_version = 'FakeTwilio/1'

    def do_GET(self):  # noqa: N802 (the stdlib's naming)
        self._answer()

    def do_POST(self):  # noqa: N802
        self._answer()

    def do_DELETE(self):  # noqa: N802
        self._answer()

    def _answer(self) -> None:
        parts = urlsplit(self.path)
        length = int(self.headers.get('Content-Length') or 0)
        body = self.rfile.read(length).decode('utf-8') if length else ''
        content_type = (self.headers.get('Content-Type') or '').split(';')[0].strip()
        form = (
            parse_qs(body, keep_blank_values=True)
            if content_type == 'application/x-www-form-urlencoded'
            else {}
        )
        request = RecordedRequest(
            method=self.command,
            path=unquote(parts.path),
            form=form,
            query=parse_qs(parts.query, keep_blank_values=True),
            headers={name.lower(): value for name, value in self.headers.items()},
        )
        if request.path.startswith('/media/'):
            self._media(request)
            return
        status, payload = self.owner.handle(request)
        data = b'' if status == 204 else json.dumps(payload).encode()  # no body
        self.send_response(status)
        if status == 302:
            self.send_header('Location', payload['redirect_to'])
        self.send_header('Content-Type', 'application/json')
        self.send_header('Content-Length', str(len(data)))
        self.end_headers()
        self.wfile.write(data)

    def _media(self, request: RecordedRequest) -> None:
        with self.owner._lock:
            self.owner._requests.append(request)
        data = self.owner.media_file(request.path.removeprefix('/media/'))
        self.send_response(200 if data is not None else 404)
        self.send_header('Content-Type', 'video/mp4')
        self.send_header('Content-Length', str(len(data or b'')))
        self.end_headers()
        self.wfile.write(data or b'')

    def log_message(self, format, *args):  # noqa: A002
        pass  # tests read `.requests`, not stderr
