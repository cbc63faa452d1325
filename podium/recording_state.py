"""Recording and composition status callbacks as pure, order-proof merges.

`recording-*` callbacks arrive on the room's StatusCallback, `composition-*` on the
composition's. Like room callbacks they may come late, twice, or out of order, so
each record is a join of everything heard: a status only moves up its ladder
(started < completed | failed for a recording; enqueued < started < progress <
available | failed for a composition), the percentage only grows, and the fields
of the highest status win. Any order, any duplicates: the same record.
"""

from __future__ import annotations

from collections.abc import Mapping
from dataclasses import dataclass

from podium.room_state import MAX_FIELD_LENGTH, InvalidEvent, parse_timestamp

RECORDING_EVENTS = frozenset(
    {'recording-started', 'recording-completed', 'recording-failed'}
)
COMPOSITION_EVENTS = frozenset(
    {
        'composition-enqueued',
        'composition-started',
        'composition-progress',
        'composition-available',
        'composition-failed',
    }
)
# Rank of each status: a record keeps the highest it heard. When a composition
# is both available and failed (never for one SID on Twilio), the file wins.
RECORDING_RANK = {'recording': 1, 'failed': 2, 'completed': 3}
COMPOSITION_RANK = {
    'enqueued': 0,
    'processing': 1,
    'failed': 3,
    'available': 4,
}
STATUS_OF = {
    'recording-started': 'recording',
    'recording-completed': 'completed',
    'recording-failed': 'failed',
    'composition-enqueued': 'enqueued',
    'composition-started': 'processing',
    'composition-progress': 'processing',
    'composition-available': 'available',
    'composition-failed': 'failed',
}


@dataclass(frozen=True)
class MediaEvent:
    """One recording-* or composition-* callback, validated."""

    name: str
    room_sid: str
    sid: str  # RecordingSid or CompositionSid
    timestamp: int
    status: str
    track_name: str = ''
    kind: str = ''
    percent: int = 0
    duration: int = 0
    size: int = 0
    error: str = ''

    @property
    def is_composition(self) -> bool:
        return self.name in COMPOSITION_EVENTS


def parse_media_event(form: Mapping[str, str]) -> MediaEvent | None:
    """Validate a callback; None if it is neither a recording nor a composition one."""

    def field(name: str, required: bool = True) -> str:
        value = form.get(name, '')
        if not isinstance(value, str):
            raise InvalidEvent(f'{name} must appear once')
        if required and not value:
            raise InvalidEvent(f'{name} is missing')
        if len(value) > MAX_FIELD_LENGTH:
            raise InvalidEvent(f'{name} is longer than {MAX_FIELD_LENGTH} characters')
        return value

    def number(name: str, high: int) -> int:
        raw = field(name, required=False)
        if not raw:
            return 0
        if not raw.isdigit() or int(raw) > high:
            raise InvalidEvent(f'{name} must be a whole number up to {high}')
        return int(raw)

    # Anything else (a missing event included) is for room_state.parse_event.
    name = form.get('StatusCallbackEvent', '')
    if not isinstance(name, str) or name not in RECORDING_EVENTS | COMPOSITION_EVENTS:
        return None
    composition = name in COMPOSITION_EVENTS
    return MediaEvent(
        name=name,
        room_sid=field('RoomSid'),
        sid=field('CompositionSid' if composition else 'RecordingSid'),
        timestamp=parse_timestamp(field('Timestamp')),
        status=STATUS_OF[name],
        track_name='' if composition else field('TrackName', required=False),
        kind='' if composition else field('Type', required=False),
        percent=100
        if name == 'composition-available'
        else number('PercentageDone', 100),
        duration=number('Duration', 10**7),
        size=number('Size', 10**13),
        error=field('ErrorMessage', required=False) if name.endswith('-failed') else '',
    )


def merge_media(record: dict | None, event: MediaEvent) -> dict:
    """Return the recording or composition record after `event` (pure)."""
    ranks = COMPOSITION_RANK if event.is_composition else RECORDING_RANK
    new = (
        dict(record)
        if record
        else {
            'sid': event.sid,
            'room_sid': event.room_sid,
            'status': event.status,
            'first_at': event.timestamp,
            'last_at': event.timestamp,
            'percent': 0,
            'track_name': '',
            'kind': '',
            'duration': 0,
            'size': 0,
            'error': '',
        }
    )
    new['first_at'] = min(new['first_at'], event.timestamp)
    new['last_at'] = max(new['last_at'], event.timestamp)
    new['percent'] = max(new['percent'], event.percent)
    # Descriptive fields any event may carry: keep the largest, so order is moot.
    new['track_name'] = max(new['track_name'], event.track_name)
    new['kind'] = max(new['kind'], event.kind)
    current, incoming = ranks[new['status']], ranks[event.status]
    if incoming > current:
        new.update(
            status=event.status,
            duration=event.duration,
            size=event.size,
            error=event.error,
        )
    elif incoming == current:
        # Duplicates of the same status (or two progress reports): a join again.
        new['duration'] = max(new['duration'], event.duration)
        new['size'] = max(new['size'], event.size)
        new['error'] = max(new['error'], event.error)
    return new


def recording_on(recordings: list[dict]) -> bool:
    """Whether a talk is being recorded now: some track's recording is running."""
    return any(r['status'] == 'recording' for r in recordings)


# What pages and the presenter see -------------------------------------------------

# The presentation record's fields about recording (written by the token service).
REQUESTED_FIELD = 'recording'  # '1': the presenter wants the talk recorded
COMPOSITION_FIELD = 'composition_sid'  # the one composition asked for
COMPOSITION_ERROR_FIELD = 'composition_error'  # why asking for it failed
DELETED_FIELD = 'composition_deleted'  # '1': the presenter deleted the file
# A composition's statuses, as pages see them.
PAGE_STATUS = {
    'enqueued': 'processing',
    'processing': 'processing',
    'available': 'available',
    'failed': 'failed',
}


def recording_view(presentation: Mapping[str, str], records: list[dict]) -> dict:
    """Return the recording's state as pages show it (pure).

    `status`: recording (tracks are being recorded now), processing (the file is
    being made, with `percent`), available (with `duration` in seconds and
    `size` in bytes), failed (with `error`), deleted, or off. `requested` is
    what the presenter asked for; `recording` status comes only from the video
    service's callbacks, so a page never shows recording before it is.
    """
    recordings = [r for r in records if r['sid'].startswith('RT')]
    sid = presentation.get(COMPOSITION_FIELD, '')
    composition = next((r for r in records if r['sid'] == sid), None) if sid else None
    view = {
        'requested': presentation.get(REQUESTED_FIELD) == '1',
        'recorded': bool(recordings),
        'status': 'off',
        'percent': 0,
        'duration': 0,
        'size': 0,
        'error': '',
    }
    if recording_on(recordings):
        view['status'] = 'recording'
    elif sid and presentation.get(DELETED_FIELD) == '1':
        view['status'] = 'deleted'
    elif composition is not None:
        view['status'] = PAGE_STATUS[composition['status']]
        view['percent'] = composition['percent']
        if view['status'] == 'available':
            view.update(duration=composition['duration'], size=composition['size'])
        if view['status'] == 'failed':
            view['error'] = composition['error'] or 'The video service gave no reason.'
    elif sid:
        view['status'] = 'processing'  # asked for; its first callback is on its way
    elif presentation.get(COMPOSITION_ERROR_FIELD):
        view.update(status='failed', error=presentation[COMPOSITION_ERROR_FIELD])
    elif wants_composition(presentation, records):
        view['status'] = 'processing'  # the talk ended; the file is about to be asked
    return view


def public_view(view: dict) -> dict:
    """The part of `recording_view` every page's state stream carries.

    Attendees need only whether the talk is being recorded; sizes and the video
    service's error messages are for the presenter (GET .../recording).
    """
    return {k: view[k] for k in ('requested', 'status', 'percent')}


def wants_composition(presentation: Mapping[str, str], records: list[dict]) -> bool:
    """Whether an ended talk still needs its composition asked for."""
    recorded = presentation.get(REQUESTED_FIELD) == '1' or any(
        r['sid'].startswith('RT') for r in records
    )
    asked = presentation.get(COMPOSITION_FIELD) or presentation.get(
        COMPOSITION_ERROR_FIELD
    )
    return bool(presentation.get('ended_at')) and recorded and not asked
