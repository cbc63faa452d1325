"""Rooms, participants and tracks: the in-memory truth of the local backend.

The registry is synchronous and owns every state change; side effects leave it
without blocking: status callbacks go to a queue, signalling connections get
`notify()`/`kick()` calls that only enqueue, and room timers use the event loop.
"""

from __future__ import annotations

import asyncio
import secrets
from collections.abc import Callable
from dataclasses import dataclass, field
from datetime import datetime, timedelta
from typing import Protocol

from . import sids
from .clock import utcnow
from .errors import (
    DUPLICATE_IDENTITY,
    ROOM_COMPLETED,
    ROOM_EXISTS,
    ROOM_FULL,
    ROOM_NOT_FOUND,
    TwilioError,
)
from .rules import EXCLUDE_ALL, INCLUDE_ALL, selects

DEFAULT_ROOM_TIMEOUT = 5  # minutes, Twilio's default for both timeouts
KEEP_COMPLETED = timedelta(hours=24)


class Connection(Protocol):
    """What the registry needs from a participant's signalling connection."""

    def notify(self, message: dict) -> None: ...

    def kick(self, code: int, message: str) -> None: ...

    def resubscribe(self) -> None: ...


class Callbacks(Protocol):
    def send(self, room: Room, event: str, extra: dict[str, str]) -> None: ...


@dataclass
class Track:
    sid: str
    name: str
    kind: str
    mid: str
    created_at: datetime = field(default_factory=utcnow)
    # False while the publisher has it muted (twilio-video's track.disable()).
    enabled: bool = True

    def as_json(self) -> dict:
        return {
            'sid': self.sid,
            'name': self.name,
            'kind': self.kind,
            'enabled': self.enabled,
        }


@dataclass
class Participant:
    sid: str
    identity: str
    room: Room
    connection: Connection | None
    created_at: datetime
    end_time: datetime | None = None
    rules: tuple[dict, ...] = INCLUDE_ALL
    rules_updated_at: datetime | None = None
    tracks: dict[str, Track] = field(default_factory=dict)  # by track SID

    @property
    def status(self) -> str:
        return 'connected' if self.end_time is None else 'disconnected'

    @property
    def connected(self) -> bool:
        return self.end_time is None

    def duration(self) -> int:
        end = self.end_time or utcnow()
        return int((end - self.created_at).total_seconds())

    def as_json(self) -> dict:
        return {
            'sid': self.sid,
            'identity': self.identity,
            'tracks': [t.as_json() for t in self.tracks.values()],
        }

    def wants(self, publisher: Participant, track: Track) -> bool:
        """Return whether this participant's rules select `track` of `publisher`."""
        if publisher is self:
            return False
        return selects(
            self.rules,
            publisher.sid,
            publisher.identity,
            track.sid,
            track.name,
            track.kind,
        )


@dataclass
class Room:
    sid: str
    unique_name: str
    status_callback: str | None
    status_callback_method: str
    max_participants: int
    empty_room_timeout: int
    unused_room_timeout: int
    created_at: datetime
    media_id: int  # the VideoRoom room number in Janus
    updated_at: datetime | None = None
    end_time: datetime | None = None
    participants: dict[str, Participant] = field(default_factory=dict)
    sequence: int = 0
    timer: asyncio.TimerHandle | None = None
    ever_joined: bool = False
    # Identities besides the presenter allowed to publish here (publishing.py).
    # Empty: the extension point for invited speakers, nothing fills it yet.
    speakers: set[str] = field(default_factory=set)
    # Recording Rules (recordings.py); RecordParticipantsOnConnect starts with all.
    record_on_connect: bool = False
    recording_rules: tuple[dict, ...] = EXCLUDE_ALL
    recording_rules_updated_at: datetime | None = None

    @property
    def status(self) -> str:
        return 'in-progress' if self.end_time is None else 'completed'

    @property
    def in_progress(self) -> bool:
        return self.end_time is None

    def duration(self) -> int | None:
        if self.end_time is None:
            return None
        return int((self.end_time - self.created_at).total_seconds())

    def connected(self) -> list[Participant]:
        return [p for p in self.participants.values() if p.connected]

    def find_participant(self, sid_or_identity: str) -> Participant | None:
        found = self.participants.get(sid_or_identity)
        if found is not None:
            return found
        # An identity names the connected participant, else the latest one.
        matches = [
            p for p in self.participants.values() if p.identity == sid_or_identity
        ]
        matches.sort(key=lambda p: (p.connected, p.created_at))
        return matches[-1] if matches else None


class Registry:
    """Every room this process knows, with the transitions Twilio's rooms go through."""

    def __init__(
        self,
        callbacks: Callbacks,
        *,
        minute: float = 60.0,
        on_room_ended: Callable[[Room], None] | None = None,
        on_tracks_changed: Callable[[Participant], None] | None = None,
        on_recording_rules: Callable[[Room], None] | None = None,
    ) -> None:
        self._callbacks = callbacks
        self._minute = minute  # seconds per timeout minute; tests shrink it
        self._on_room_ended = on_room_ended
        # The recorder follows tracks and rules from here (recorder.py).
        self._on_tracks_changed = on_tracks_changed
        self._on_recording_rules = on_recording_rules
        self._rooms: dict[str, Room] = {}

    # Rooms -----------------------------------------------------------------

    def create_room(
        self,
        unique_name: str | None,
        *,
        status_callback: str | None = None,
        status_callback_method: str = 'POST',
        max_participants: int = 50,
        empty_room_timeout: int = DEFAULT_ROOM_TIMEOUT,
        unused_room_timeout: int = DEFAULT_ROOM_TIMEOUT,
        record_participants_on_connect: bool = False,
    ) -> Room:
        """Create an in-progress room; a name in use by one gives 53113."""
        self._prune()
        sid = sids.room_sid()
        name = unique_name or sid
        if self.in_progress_by_name(name) is not None:
            raise TwilioError(ROOM_EXISTS, 'Room exists')
        now = utcnow()
        room = Room(
            sid=sid,
            unique_name=name,
            status_callback=status_callback,
            status_callback_method=status_callback_method,
            max_participants=max_participants,
            empty_room_timeout=empty_room_timeout,
            unused_room_timeout=unused_room_timeout,
            created_at=now,
            updated_at=now,
            media_id=secrets.randbelow(2**52) + 1,
            record_on_connect=record_participants_on_connect,
            recording_rules=INCLUDE_ALL
            if record_participants_on_connect
            else EXCLUDE_ALL,
            recording_rules_updated_at=now,
        )
        self._rooms[sid] = room
        self._callbacks.send(room, 'room-created', {})
        self._arm_timer(room, unused_room_timeout)
        return room

    def in_progress_by_name(self, name: str) -> Room | None:
        for room in self._rooms.values():
            if room.in_progress and room.unique_name == name:
                return room
        return None

    def find_room(self, sid_or_name: str) -> Room | None:
        """Return a room by SID, or an in-progress room by UniqueName."""
        return self._rooms.get(sid_or_name) or self.in_progress_by_name(sid_or_name)

    def rooms(self) -> list[Room]:
        """Return every room, newest first (Twilio lists that way)."""
        return sorted(self._rooms.values(), key=lambda r: r.created_at, reverse=True)

    def complete_room(self, room: Room) -> None:
        """End a room: disconnect everyone with 53118, then send room-ended."""
        if not room.in_progress:
            return
        for participant in room.connected():
            if participant.connection is not None:
                participant.connection.kick(ROOM_COMPLETED, 'Room completed')
            self._disconnect(participant, notify_room=False)
        self._cancel_timer(room)
        room.end_time = room.updated_at = utcnow()
        self._callbacks.send(room, 'room-ended', {'RoomDuration': str(room.duration())})
        if self._on_room_ended is not None:
            self._on_room_ended(room)

    def _prune(self) -> None:
        cutoff = utcnow() - KEEP_COMPLETED
        for sid, room in list(self._rooms.items()):
            if room.end_time is not None and room.end_time < cutoff:
                del self._rooms[sid]

    def _arm_timer(self, room: Room, minutes: int) -> None:
        self._cancel_timer(room)
        try:
            loop = asyncio.get_running_loop()
        except RuntimeError:
            return  # no loop (plain unit tests): timeouts are not simulated
        room.timer = loop.call_later(minutes * self._minute, self._timeout, room)

    def _cancel_timer(self, room: Room) -> None:
        if room.timer is not None:
            room.timer.cancel()
            room.timer = None

    def _timeout(self, room: Room) -> None:
        room.timer = None
        if room.in_progress and not room.connected():
            self.complete_room(room)

    # Participants ------------------------------------------------------------

    def join(
        self,
        room_name: str,
        identity: str,
        connection: Connection,
        *,
        automatic_subscription: bool = True,
    ) -> Participant:
        """Connect a participant; one already connected with its identity is kicked."""
        room = self.find_room(room_name)
        if room is None or not room.in_progress:
            raise TwilioError(ROOM_NOT_FOUND, 'Room not found')
        for old in room.connected():
            if old.identity == identity:
                if old.connection is not None:
                    old.connection.kick(
                        DUPLICATE_IDENTITY,
                        'Participant disconnected because of duplicate identity',
                    )
                self._disconnect(old)
        if len(room.connected()) >= room.max_participants:
            raise TwilioError(ROOM_FULL, 'Room contains too many Participants')
        participant = Participant(
            sid=sids.participant_sid(),
            identity=identity,
            room=room,
            connection=connection,
            created_at=utcnow(),
            rules=INCLUDE_ALL if automatic_subscription else EXCLUDE_ALL,
        )
        room.participants[participant.sid] = participant
        room.ever_joined = True
        room.updated_at = utcnow()
        self._cancel_timer(room)
        self._callbacks.send(
            room, 'participant-connected', _participant_fields(participant)
        )
        self._broadcast(
            room,
            {'type': 'participantConnected', 'participant': participant.as_json()},
            skip=participant,
        )
        return participant

    def leave(self, participant: Participant) -> None:
        """Disconnect a participant (closed socket, kick, timeout)."""
        if participant.connected:
            self._disconnect(participant)

    def kick(self, participant: Participant) -> None:
        """Disconnect a participant from the REST API (`Status=disconnected`)."""
        if participant.connected and participant.connection is not None:
            participant.connection.kick(53216, 'Participant disconnected by the server')
        self.leave(participant)

    def _disconnect(self, participant: Participant, notify_room: bool = True) -> None:
        room = participant.room
        for track in list(participant.tracks.values()):
            self._callbacks.send(
                room, 'track-removed', _track_fields(participant, track)
            )
        participant.end_time = utcnow()
        participant.connection = None
        room.updated_at = participant.end_time
        if self._on_tracks_changed is not None:
            self._on_tracks_changed(participant)
        fields = _participant_fields(participant)
        fields['ParticipantDuration'] = str(participant.duration())
        self._callbacks.send(room, 'participant-disconnected', fields)
        if notify_room:
            self._broadcast(
                room,
                {
                    'type': 'participantDisconnected',
                    'participant': {
                        'sid': participant.sid,
                        'identity': participant.identity,
                    },
                },
            )
            self._resubscribe_all(room)
            if room.in_progress and not room.connected():
                self._arm_timer(room, room.empty_room_timeout)

    # Tracks and rules ----------------------------------------------------------

    def set_tracks(
        self, participant: Participant, tracks: list[tuple[str, str, str]]
    ) -> None:
        """Replace a participant's published tracks with `(mid, name, kind)` triples.

        A track keeps its SID while a track of the same name and kind stays published,
        so a renegotiation (or a republish after a media restart) is not a new track.
        """
        if not participant.connected:
            return
        room = participant.room
        old = {(t.name, t.kind): t for t in participant.tracks.values()}
        new: dict[str, Track] = {}
        for mid, name, kind in tracks:
            track = old.pop((name, kind), None)
            if track is None:
                track = Track(sid=sids.track_sid(), name=name, kind=kind, mid=mid)
                self._callbacks.send(
                    room, 'track-added', _track_fields(participant, track)
                )
                self._broadcast(
                    room,
                    {
                        'type': 'trackPublished',
                        'participant': participant.sid,
                        'track': track.as_json(),
                    },
                    skip=participant,
                )
            track.mid = mid
            new[track.sid] = track
        for track in old.values():
            self._callbacks.send(
                room, 'track-removed', _track_fields(participant, track)
            )
            self._broadcast(
                room,
                {
                    'type': 'trackUnpublished',
                    'participant': participant.sid,
                    'track': track.as_json(),
                },
                skip=participant,
            )
        participant.tracks = new
        self._resubscribe_all(room, skip=participant)
        if self._on_tracks_changed is not None:
            self._on_tracks_changed(participant)

    def set_recording_rules(self, room: Room, rules: list[dict]) -> None:
        """Replace a room's Recording Rules; the recorder starts or stops tracks."""
        room.recording_rules = tuple(rules)
        room.recording_rules_updated_at = utcnow()
        if self._on_recording_rules is not None and room.in_progress:
            self._on_recording_rules(room)

    def set_track_enabled(
        self, participant: Participant, track_sid: str, enabled: bool
    ) -> bool:
        """Mute or unmute a published track, as twilio-video's enable()/disable().

        Sends `track-enabled` / `track-disabled` as Twilio does, and tells the other
        participants (twilio-video's `trackEnabled` / `trackDisabled`). Returns False
        for a track this participant does not publish; repeating a state is a no-op.
        """
        track = participant.tracks.get(track_sid)
        if not participant.connected or track is None:
            return False
        if track.enabled == enabled:
            return True
        track.enabled = enabled
        room = participant.room
        room.updated_at = utcnow()
        event = 'track-enabled' if enabled else 'track-disabled'
        self._callbacks.send(room, event, _track_fields(participant, track))
        self._broadcast(
            room,
            {
                'type': 'trackEnabled' if enabled else 'trackDisabled',
                'participant': participant.sid,
                'track': track.as_json(),
            },
            skip=participant,
        )
        return True

    def set_rules(self, participant: Participant, rules: list[dict]) -> None:
        participant.rules = tuple(rules)
        participant.rules_updated_at = utcnow()
        if participant.connected and participant.connection is not None:
            participant.connection.resubscribe()

    def _broadcast(
        self, room: Room, message: dict, skip: Participant | None = None
    ) -> None:
        for other in room.connected():
            if other is not skip and other.connection is not None:
                other.connection.notify(message)

    def _resubscribe_all(self, room: Room, skip: Participant | None = None) -> None:
        for other in room.connected():
            if other is not skip and other.connection is not None:
                other.connection.resubscribe()


def _participant_fields(participant: Participant) -> dict[str, str]:
    return {
        'ParticipantSid': participant.sid,
        'ParticipantStatus': participant.status,
        'ParticipantIdentity': participant.identity,
    }


def _track_fields(participant: Participant, track: Track) -> dict[str, str]:
    return {
        **_participant_fields(participant),
        'TrackSid': track.sid,
        'TrackKind': track.kind,
        'TrackName': track.name,
    }
