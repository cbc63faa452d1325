"""Turn Recording Rules into Janus recordings, remux them, and say so in callbacks.

Janus records a publisher, not a track: `configure` with `record: true` and a
`filename` base writes `<base>-<audio|video>-<m-line>.mjr` for each of its streams.
So a publisher is recorded while the rules select any of its tracks, and each
selected track gets its own Recording, as on Twilio. When a Recording ends (rules,
unpublish, leave, room end) janus-pp-rec remuxes its file into mka/mkv.
"""

from __future__ import annotations

import asyncio
import logging
import shutil
import struct
import time
from collections.abc import Awaitable, Callable
from pathlib import Path

from .clock import utcnow
from .config import LocalVideoConfig
from .media_tools import ffprobe_for, last_line, parse_mjr_header, probe_duration, run
from .mjr_timing import earliest_start_us
from .recordings import (
    Plan,
    Recording,
    RecordingBook,
    plan,
    recording_sid,
    selected_tracks,
)
from .rooms import Participant, Room
from .rules import selects

log = logging.getLogger(__name__)

# Janus closes a publisher's recorders when it handles `configure` or the hangup;
# the remux starts a little later so the file's last packets are on disk.
SETTLE_SECONDS = 1.5


class Recorder:
    """Recording side effects for every room of one Registry."""

    def __init__(
        self,
        config: LocalVideoConfig,
        callbacks,
        book: RecordingBook | None = None,
        *,
        settle: float = SETTLE_SECONDS,
        run_tool: Callable[..., Awaitable] = run,
    ) -> None:
        self._config = config
        self._callbacks = callbacks
        self.book = book or RecordingBook()
        self._settle = settle
        self._run = run_tool
        self._tasks: set[asyncio.Task] = set()
        self._counter = 0

    @property
    def folder(self) -> Path:
        return Path(self._config.recordings_dir)

    # What the registry and the media side call --------------------------------------

    def publish_options(
        self, participant: Participant, tracks: list[dict], fresh: bool
    ) -> dict:
        """The `record`/`filename` fields of a publish or configure request.

        A fresh publisher handle (first publish, or after a reset) writes new files,
        so the Recordings of the old handle end here and new ones start.
        """
        state = self.book.room(participant.room.sid)
        if fresh and participant.sid in state.bases:
            self._stop(participant, set(state.active.get(participant.sid, {})))
            del state.bases[participant.sid]
        known = {(t.name, t.kind): t.sid for t in participant.tracks.values()}
        wanted = any(
            selects(
                participant.room.recording_rules,
                participant.sid,
                participant.identity,
                known.get((t.get('name'), t.get('kind')), ''),
                t.get('name', ''),
                t.get('kind', ''),
            )
            for t in tracks
        )
        if not wanted:
            return {'record': False} if participant.sid in state.bases else {}
        base = state.bases.get(participant.sid) or self._new_base(participant)
        state.bases[participant.sid] = base
        return {'record': True, 'filename': base}

    def sync(self, participant: Participant) -> None:
        """Bring one publisher's Recordings in line with the room's rules."""
        room = participant.room
        state = self.book.room(room.sid)
        live = participant.connected and room.in_progress
        tracks = [(t.sid, t.name, t.kind) for t in participant.tracks.values()]
        selected = (
            selected_tracks(
                room.recording_rules, participant.sid, participant.identity, tracks
            )
            if live
            else set()
        )
        change: Plan = plan(selected, set(state.active.get(participant.sid, {})))
        base = state.bases.get(participant.sid)
        if change.janus_on and base is None:
            base = state.bases[participant.sid] = self._new_base(participant)
            self._tell_janus(participant, base)
        self._stop(participant, change.stop)
        for track in participant.tracks.values():
            if track.sid in change.start:
                self._start(participant, track, base)
        if not change.janus_on and base is not None:
            del state.bases[participant.sid]
            if live:
                self._tell_janus(participant, None)

    def rules_changed(self, room: Room) -> None:
        for participant in room.connected():
            self.sync(participant)

    async def start(self) -> None:
        """Drop recordings past the retention period; the rest waits for tracks."""
        self.prune()

    def prune(self, now: float | None = None) -> list[Path]:
        """Delete rooms' recording folders older than the retention (0: keep all).

        Compositions live in their own folder and are pruned by the worker.
        """
        days = self._config.recordings_retention_days
        if not days or not self.folder.is_dir():
            return []
        cutoff = (now or time.time()) - days * 86400
        removed = []
        for room in self.folder.glob('RM*'):
            if room.is_dir() and room.stat().st_mtime < cutoff:
                shutil.rmtree(room, ignore_errors=True)
                removed.append(room)
        for recording in list(self.book.all()):
            if Path(recording.base).parent in removed:
                self.book.forget(recording.sid)
        return removed

    async def stop(self) -> None:
        """Wait for remuxes under way (they are short), then give up on the rest."""
        if self._tasks:
            await asyncio.wait(list(self._tasks), timeout=10)
        for task in list(self._tasks):
            task.cancel()
        await asyncio.gather(*self._tasks, return_exceptions=True)

    # Recordings ---------------------------------------------------------------------

    def _new_base(self, participant: Participant) -> str:
        self._counter += 1
        folder = self.folder / participant.room.sid
        folder.mkdir(parents=True, exist_ok=True)
        return str(folder / f'{participant.sid}-{self._counter}')

    def _start(self, participant: Participant, track, base: str) -> None:
        recording = Recording(
            sid=recording_sid(),
            room_sid=participant.room.sid,
            participant_sid=participant.sid,
            track_sid=track.sid,
            track_name=track.name,
            kind=track.kind,
            mid=track.mid,
            created_at=utcnow(),
            base=base,
        )
        self.book.add(recording)
        self.book.room(participant.room.sid).active.setdefault(participant.sid, {})[
            track.sid
        ] = recording
        self._send(participant.room, 'recording-started', recording)

    def _stop(self, participant: Participant, track_sids) -> None:
        active = self.book.room(participant.room.sid).active.get(participant.sid, {})
        for sid in track_sids:
            recording = active.pop(sid, None)
            if recording is None:
                continue
            recording.ended_at = utcnow()
            self._spawn(self._finish(participant.room, recording))

    async def _finish(self, room: Room, recording: Recording) -> None:
        await asyncio.sleep(self._settle)
        error = await self._remux(recording)
        if error:
            recording.status, recording.error = 'failed', error
            log.warning('recording %s failed: %s', recording.sid, error)
            self._send(room, 'recording-failed', recording)
        else:
            recording.status = 'completed'
            self._send(room, 'recording-completed', recording)

    async def _remux(self, recording: Recording) -> str:
        """Remux the track's .mjr; return why it failed, or ''."""
        source = recording.mjr_path
        if not source.exists():
            return f'no media reached the recorder for track {recording.track_name}'
        tool = self._config.janus_pp_rec_binary
        header = await self._run([tool, '--json', str(source)])
        try:
            info = parse_mjr_header(header.stdout)
        except (ValueError, IndexError):
            return f'{tool} could not read {source.name}: {last_line(header.stderr)}'
        recording.codec = info.codec.upper()
        try:
            # Not "u" alone: a video track's first packet comes late (mjr_timing).
            recording.started_at_us = await asyncio.to_thread(
                earliest_start_us, source, info.first_packet_us, info.codec
            )
        except (OSError, struct.error) as ex:
            log.warning('recording %s: packet times unreadable: %s', recording.sid, ex)
            recording.started_at_us = info.first_packet_us
        target = source.with_suffix('.' + recording.container)
        ran = await self._run([tool, str(source), str(target)])
        if ran.returncode != 0 or not target.exists():
            target.unlink(missing_ok=True)
            return f'{tool} failed: {last_line(ran.stderr or ran.stdout)}'
        recording.media_path = str(target)
        recording.size = target.stat().st_size
        recording.duration = await probe_duration(
            ffprobe_for(self._config.ffmpeg_binary), str(target), self._run
        )
        return ''

    def _tell_janus(self, participant: Participant, base: str | None) -> None:
        media = getattr(participant.connection, 'media', None)
        if media is not None:
            self._spawn(media.set_recording(base))

    def _spawn(self, coro) -> None:
        task = asyncio.ensure_future(coro)
        self._tasks.add(task)
        task.add_done_callback(self._tasks.discard)

    def _send(self, room: Room, event: str, recording: Recording) -> None:
        self._callbacks.send(room, event, recording_fields(room, recording))


def recording_fields(room: Room, recording: Recording) -> dict[str, str]:
    """The recording-* callback parameters beside the room's own."""
    uri = f'/v1/Recordings/{recording.sid}'
    room_us = int(room.created_at.timestamp() * 1_000_000)
    fields = {
        'RecordingSid': recording.sid,
        'RecordingUri': uri,
        'MediaUri': f'{uri}/Media',
        'SourceSid': recording.track_sid,
        'TrackName': recording.track_name,
        'Type': recording.kind,
        'ParticipantSid': recording.participant_sid,
        'Container': recording.container,
        'Codec': recording.codec_name,
        'Duration': str(round(recording.duration)),
        'Size': str(recording.size),
        'OffsetFromTwilioVectorEpoch': str(
            room_us // 1000 + recording.offset_ms(room_us)
        ),
    }
    if recording.status == 'failed':
        fields['FailedOperation'] = 'media_processing'
        fields['ErrorMessage'] = recording.error
    return fields
