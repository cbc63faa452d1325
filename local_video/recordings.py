"""Recording Rules and Recordings: which tracks a room records, and what came of it.

Twilio records per track: one Recording (SID `RT...`) for each stretch a track was
recorded. The rules follow Twilio's Recording Rules (`include`/`exclude` with `all`,
`kind`, `publisher`, `track`), matched like Subscribe Rules. Everything here is pure
bookkeeping; `recorder.py` turns its decisions into Janus requests and files.
"""

from __future__ import annotations

from dataclasses import dataclass, field
from datetime import datetime
from pathlib import Path

from . import sids
from .errors import BAD_REQUEST, TwilioError
from .rules import EXCLUDE_ALL, INCLUDE_ALL, parse_rules, selects

# What Janus writes per codec and what janus-pp-rec turns it into (Twilio's
# container_format: mka for audio, mkv for video).
CONTAINERS = {'opus': 'mka', 'vp8': 'mkv', 'h264': 'mkv'}
RECORDING_STATUSES = ('processing', 'completed', 'deleted', 'failed')


def parse_recording_rules(raw: str | list) -> list[dict]:
    """Validate a Recording Rules `Rules` value the way Subscribe Rules are."""
    try:
        rules = parse_rules(raw)
    except TwilioError as ex:
        message = ex.message.replace('Subscribe Rules', 'Recording Rules')
        raise TwilioError(BAD_REQUEST, message) from None
    if any('priority' in rule for rule in rules):
        raise TwilioError(
            BAD_REQUEST, 'Invalid Recording Rules: priority is not a recording filter'
        )
    return rules


def initial_rules(record_on_connect: bool) -> tuple[dict, ...]:
    """A room's rules at creation (`RecordParticipantsOnConnect`)."""
    return INCLUDE_ALL if record_on_connect else EXCLUDE_ALL


def selected_tracks(
    rules, publisher_sid: str, identity: str, tracks: list[tuple[str, str, str]]
) -> set[str]:
    """Return the SIDs of the `(sid, name, kind)` tracks the rules record."""
    return {
        sid
        for sid, name, kind in tracks
        if selects(rules, publisher_sid, identity, sid, name, kind)
    }


@dataclass(frozen=True)
class Plan:
    """What one publisher's recording must do to match the rules."""

    start: frozenset[str]  # track SIDs that start a new Recording
    stop: frozenset[str]  # track SIDs whose Recording ends
    janus_on: bool  # Janus records this publisher after the change


def plan(selected: set[str], recording: set[str]) -> Plan:
    """Compare the tracks the rules select with those being recorded (pure)."""
    return Plan(
        start=frozenset(selected - recording),
        stop=frozenset(recording - selected),
        janus_on=bool(selected),
    )


@dataclass
class Recording:
    """One recorded stretch of one track."""

    sid: str
    room_sid: str
    participant_sid: str
    track_sid: str
    track_name: str
    kind: str  # audio | video
    mid: str
    created_at: datetime
    base: str  # Janus's recording base path; the .mjr name adds kind and m-line
    status: str = 'processing'
    codec: str = ''  # OPUS | VP8 | H264, known once Janus wrote the file
    started_at_us: int = 0  # wall clock of the first packet, microseconds
    duration: float = 0.0
    size: int = 0
    media_path: str = ''
    ended_at: datetime | None = None
    error: str = ''

    @property
    def codec_name(self) -> str:
        """The codec Janus wrote, or the room's first choice until it is known."""
        return self.codec or ('OPUS' if self.kind == 'audio' else 'VP8')

    @property
    def container(self) -> str:
        return 'mka' if self.kind == 'audio' else 'mkv'

    @property
    def mjr_path(self) -> Path:
        return Path(f'{self.base}-{self.kind}-{self.mid}.mjr')

    def offset_ms(self, room_created_us: int) -> int:
        """Milliseconds from the room's start to the first recorded packet."""
        if not self.started_at_us:
            return 0
        return max(0, (self.started_at_us - room_created_us) // 1000)


@dataclass
class RoomRecording:
    """A room's Recording Rules and the Recordings they produced."""

    rules: tuple[dict, ...] = EXCLUDE_ALL
    rules_updated_at: datetime | None = None
    # participant SID -> track SID -> the Recording in progress
    active: dict[str, dict[str, Recording]] = field(default_factory=dict)
    # participant SID -> Janus recording base while Janus records that publisher
    bases: dict[str, str] = field(default_factory=dict)


class RecordingBook:
    """Every Recording this process knows, and each room's recording state."""

    def __init__(self) -> None:
        self._rooms: dict[str, RoomRecording] = {}
        self._recordings: dict[str, Recording] = {}

    def room(self, room_sid: str) -> RoomRecording:
        return self._rooms.setdefault(room_sid, RoomRecording())

    def add(self, recording: Recording) -> None:
        self._recordings[recording.sid] = recording

    def get(self, sid: str) -> Recording | None:
        return self._recordings.get(sid)

    def forget(self, sid: str) -> None:
        self._recordings.pop(sid, None)

    def all(self, room_sid: str | None = None) -> list[Recording]:
        """Recordings newest first, optionally of one room."""
        found = [
            r
            for r in self._recordings.values()
            if room_sid is None or r.room_sid == room_sid
        ]
        return sorted(found, key=lambda r: r.created_at, reverse=True)


def recording_sid() -> str:
    return sids.new_sid('RT')
