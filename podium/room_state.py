"""Room status callbacks as pure state transitions.

Twilio promises neither the order nor exactly-once delivery of room status
callbacks, so every transition here is a *merge*: applying the same events in any
order, with any duplicates, gives the same records. Order comes from each event's
`Timestamp` and from per-participant state (a disconnected `ParticipantSid` stays
disconnected), never from arrival order or `SequenceNumber`.

Records are plain JSON-ready dicts so the store can keep them as they are.
"""

from __future__ import annotations

from collections.abc import Mapping
from dataclasses import dataclass
from datetime import UTC, datetime

from podium import ids

PRESENTER_IDENTITY = 'presenter'
ATTENDEE_PREFIX = 'attendee-'
ROOM_NAME_PREFIX = 'podium-'

ROOM_EVENTS = frozenset({'room-created', 'room-ended'})
PARTICIPANT_EVENTS = frozenset({'participant-connected', 'participant-disconnected'})
TRACK_EVENTS = frozenset(
    {'track-added', 'track-removed', 'track-enabled', 'track-disabled'}
)
# Recording events and any event Twilio adds later are acknowledged and ignored.
KNOWN_EVENTS = ROOM_EVENTS | PARTICIPANT_EVENTS | TRACK_EVENTS
TRACK_KINDS = frozenset({'audio', 'video', 'data'})
MAX_FIELD_LENGTH = 256


class InvalidEvent(ValueError):
    """A callback is missing a field or has one that makes no sense."""


@dataclass(frozen=True)
class RoomEvent:
    """One room status callback, validated."""

    name: str
    room_sid: str
    room_name: str
    timestamp: int  # milliseconds since the epoch, from the callback's Timestamp
    participant_sid: str = ''
    identity: str = ''
    track_sid: str = ''
    track_kind: str = ''
    track_name: str = ''
    # participant-disconnected's ParticipantDuration (seconds), when it carries one.
    participant_duration: int | None = None

    @property
    def is_room_event(self) -> bool:
        return self.name in ROOM_EVENTS


def room_name_of(presentation: Mapping[str, str]) -> str:
    """The room UniqueName a stored presentation uses."""
    return presentation.get('room_name') or room_name_for(presentation['id'])


def room_name_for(presentation_id: str) -> str:
    """Return the Twilio room UniqueName of a presentation."""
    return ROOM_NAME_PREFIX + presentation_id


def presentation_id_for(room_name: str) -> str | None:
    """Return the presentation id a room belongs to, or None if it is not ours."""
    presentation_id = room_name.removeprefix(ROOM_NAME_PREFIX)
    # A malformed id ('podium-a:b', another app's room) cannot be one we made,
    # and must not become part of a key.
    if presentation_id != room_name and ids.is_presentation_id(presentation_id):
        return presentation_id
    return None


def is_presenter(identity: str) -> bool:
    return identity == PRESENTER_IDENTITY


def parse_timestamp(value: str) -> int:
    """Parse Twilio's UTC ISO 8601 `Timestamp` into epoch milliseconds."""
    text = value.strip()
    if text.endswith('Z'):
        text = text[:-1] + '+00:00'
    try:
        moment = datetime.fromisoformat(text)
    except ValueError:
        raise InvalidEvent(
            f'Timestamp {value!r} is not an ISO 8601 time such as '
            '2024-05-01T12:00:00.000Z'
        ) from None
    if moment.tzinfo is None:
        moment = moment.replace(tzinfo=UTC)
    return int(moment.timestamp() * 1000)


def parse_event(form: Mapping[str, str]) -> RoomEvent | None:
    """Validate a callback's form fields; return None for events we do not track."""

    def field(name: str, required: bool = True) -> str:
        value = form.get(name, '')
        if not isinstance(value, str):
            raise InvalidEvent(f'{name} must appear once')
        if required and not value:
            raise InvalidEvent(f'{name} is missing')
        if len(value) > MAX_FIELD_LENGTH:
            raise InvalidEvent(f'{name} is longer than {MAX_FIELD_LENGTH} characters')
        return value

    name = field('StatusCallbackEvent')
    # Checked before the other fields: events Twilio adds later may carry other ones.
    if name not in KNOWN_EVENTS:
        return None
    common = {
        'room_sid': field('RoomSid'),
        'room_name': field('RoomName'),
        'timestamp': parse_timestamp(field('Timestamp')),
    }
    if name in ROOM_EVENTS:
        return RoomEvent(name=name, **common)
    participant = {
        'participant_sid': field('ParticipantSid'),
        'identity': field('ParticipantIdentity'),
    }
    if name in PARTICIPANT_EVENTS:
        duration = field('ParticipantDuration', required=False)
        if duration and not (duration.isascii() and duration.isdigit()):
            raise InvalidEvent(
                'ParticipantDuration must be whole seconds such as 42; '
                f'got {duration!r}'
            )
        return RoomEvent(
            name=name,
            **common,
            **participant,
            participant_duration=int(duration) if duration else None,
        )
    kind = field('TrackKind')
    if kind not in TRACK_KINDS:
        raise InvalidEvent(f'TrackKind must be one of audio, video, data; got {kind!r}')
    return RoomEvent(
        name=name,
        **common,
        **participant,
        track_sid=field('TrackSid'),
        track_kind=kind,
        # Twilio documents TrackName for recordings only; our local backend sends it.
        track_name=field('TrackName', required=False),
    )


def _earliest(current: int | None, candidate: int) -> int:
    return candidate if current is None else min(current, candidate)


def merge_room(record: dict | None, event: RoomEvent) -> dict:
    """Return the room record after `event` (a room-created or room-ended)."""
    new = (
        dict(record)
        if record
        else {
            'sid': event.room_sid,
            'name': event.room_name,
            'created_at': None,
            'ended_at': None,
        }
    )
    if event.name == 'room-created':
        new['created_at'] = _earliest(new['created_at'], event.timestamp)
    elif event.name == 'room-ended':
        new['ended_at'] = _earliest(new['ended_at'], event.timestamp)
    return new


def merge_participant(record: dict | None, event: RoomEvent) -> dict:
    """Return the participant record after a participant or track event."""
    new = (
        dict(record)
        if record
        else {
            'sid': event.participant_sid,
            'identity': event.identity,
            'room_sid': event.room_sid,
            'connected_at': None,
            'disconnected_at': None,
            'tracks': {},
        }
    )
    if event.name == 'participant-connected':
        new['connected_at'] = _earliest(new['connected_at'], event.timestamp)
    elif event.name == 'participant-disconnected':
        new['disconnected_at'] = _earliest(new['disconnected_at'], event.timestamp)
        if event.participant_duration is not None:
            # Duplicates carry one value; max() keeps a clash order-free.
            new['duration'] = max(new.get('duration', 0), event.participant_duration)
    elif event.name in TRACK_EVENTS:
        tracks = dict(new['tracks'])
        tracks[event.track_sid] = _merge_track(tracks.get(event.track_sid), event)
        new['tracks'] = tracks
    return new


def _merge_track(record: dict | None, event: RoomEvent) -> dict:
    new = (
        dict(record)
        if record
        else {
            'sid': event.track_sid,
            'kind': event.track_kind,
            'name': '',
            'added_at': None,
            'removed_at': None,
            'enabled': True,
            'enabled_at': None,
        }
    )
    if event.track_name and (not new['name'] or event.track_name < new['name']):
        # Events of one track carry one name; min() keeps a clash deterministic.
        new['name'] = event.track_name
    if event.name == 'track-added':
        new['added_at'] = _earliest(new['added_at'], event.timestamp)
    elif event.name == 'track-removed':
        new['removed_at'] = _earliest(new['removed_at'], event.timestamp)
    else:
        # Last writer wins by Timestamp; at a tie, disabled wins.
        candidate = (event.timestamp, event.name == 'track-disabled')
        current = (new['enabled_at'], not new['enabled'])
        if new['enabled_at'] is None or candidate > current:
            new['enabled_at'] = event.timestamp
            new['enabled'] = event.name == 'track-enabled'
    return new


def participant_connected(record: dict) -> bool:
    """Return whether a participant is connected; once disconnected, always so."""
    return record['disconnected_at'] is None


def published_tracks(record: dict) -> list[dict]:
    """Return a participant's tracks that are published now, in a stable order."""
    live = [t for t in record['tracks'].values() if t['removed_at'] is None]
    return sorted(live, key=lambda t: (t['kind'], t['name'], t['sid']))


def room_status(record: dict | None) -> str:
    if record is None or record['ended_at'] is None:
        return 'in-progress'
    return 'completed'


def presentation_view(
    presentation: Mapping[str, str],
    room: dict | None,
    presenters: list[dict],
    attendee_count: int,
    version: int,
    recording: dict | None = None,
) -> dict:
    """Return what pages show about a presentation, from its stored records.

    `recording` is podium.recording_state.public_view's answer, if known.
    """
    room_open = room_status(room) == 'in-progress'
    connected = [p for p in presenters if participant_connected(p)] if room_open else []
    # A reload can briefly leave two presenter connections; the newest one counts.
    presenter = max(
        connected, key=lambda p: (p['connected_at'] or 0, p['sid']), default=None
    )
    tracks = (
        [
            {k: t[k] for k in ('sid', 'kind', 'name', 'enabled')}
            for t in published_tracks(presenter)
        ]
        if presenter
        else []
    )
    if presentation.get('ended_at'):
        status = 'ended'
    elif presenter is not None:
        status = 'live'
    else:
        status = 'waiting'
    return {
        'id': presentation['id'],
        'title': presentation['title'],
        'status': status,
        'version': version,
        'room': {
            'sid': room['sid'] if room else presentation.get('room_sid') or None,
            'status': room_status(room),
        },
        'presenter': {'connected': presenter is not None, 'tracks': tracks},
        'attendees': {
            'count': attendee_count if room_open and status != 'ended' else 0
        },
        # The HLS stream's path under the broadcast base URL (local backend only).
        'broadcast': {
            'on': presentation.get('broadcast') == '1' and status != 'ended',
            'playlist': f'{room_name_of(presentation)}/index.m3u8',
        },
        'recording': recording or {'requested': False, 'status': 'off', 'percent': 0},
    }
