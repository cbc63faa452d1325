"""Rebuild presentations and room state from the Rooms API after Redis lost them.

Redis holds no data worth a disk write: room state is a cache of what Twilio (or
local_video) knows. When Redis comes back empty, this module reads the open
`podium-*` rooms, their connected participants and the presenter's published
tracks, and feeds them through the SAME pure merges callbacks go through
(`podium.room_state`), as synthesized `RoomEvent`s. Merges are order-free and
idempotent, so callbacks that arrive during or after a rebuild converge with it.

Timestamps: rooms, participants and tracks keep the API's `date_created` /
`start_time` / `end_time` (whole seconds, never later than the callback's own
millisecond timestamp, and merges keep the earliest). A track's enabled state
has no such time in the API, so it is stamped with the moment of the read: a
later change carries a later callback timestamp and wins, an earlier one loses.

Triggers: the webhooks service runs `watch_state` in each worker: a rebuild at
start (unless one ran moments ago) and then a check every second of the
`podium:state-epoch` marker a rebuild sets; a missing marker means Redis lost its
data. A Redis lock (SET NX PX) lets one worker of one host do it. Operators can
run it by hand: `python -m podium.rebuild`.
"""

from __future__ import annotations

import argparse
import logging
import secrets
import sys
import threading
import time
from collections.abc import Callable
from dataclasses import dataclass, field
from datetime import datetime
from pathlib import Path

import redis
from twilio.rest import Client

from podium import logs, room_state
from podium.config import (
    DEFAULT_ENV_FILE,
    ConfigError,
    WebhooksConfig,
    gather_settings,
)
from podium.room_state import RoomEvent
from podium.store import Store
from podium.video_api import VIDEO_ERRORS, video_client

log = logging.getLogger(__name__)

CHECK_INTERVAL = 1.0  # seconds between checks of the state epoch
MAX_BACKOFF = 30.0  # seconds between attempts while the Rooms API fails
LOCK_TTL_MS = 60_000  # a crashed rebuilder frees the lock after this
RECENT_MS = 30_000  # a worker starting this soon after a rebuild skips its own


def rooms_client(config: WebhooksConfig) -> Client:
    """Return a twilio-python client for the configured Rooms API (Twilio or local)."""
    return video_client(config)


def _ms(moment: datetime | None) -> int | None:
    return None if moment is None else int(moment.timestamp() * 1000)


@dataclass
class Report:
    """What one rebuild found and did, for the log and the command line."""

    rooms: int = 0
    presentations_restored: int = 0
    participants: int = 0
    tracks: int = 0
    disconnected: int = 0
    rooms_ended: int = 0
    changes: int = 0
    skipped: list[str] = field(default_factory=list)

    def __str__(self) -> str:
        return (
            f'{self.rooms} open rooms, {self.presentations_restored} presentations '
            f'restored, {self.participants} connected participants, {self.tracks} '
            f'presenter tracks, {self.disconnected} missed disconnects, '
            f'{self.rooms_ended} missed room ends, {self.changes} changes'
        )


class Rebuilder:
    """Read the Rooms API and merge what it says into the store."""

    def __init__(
        self, store: Store, client: Client, clock: Callable[[], float] = time.time
    ):
        self._store = store
        self._client = client
        self._clock = clock

    def rebuild(self) -> Report:
        report = Report()
        read_ms = int(self._clock() * 1000)
        rooms = self._client.video.v1.rooms.list(status='in-progress')
        open_sids = set()
        for room in rooms:
            presentation_id = room_state.presentation_id_for(room.unique_name or '')
            if presentation_id is None:
                continue
            open_sids.add(room.sid)
            report.rooms += 1
            try:
                self._rebuild_room(room, presentation_id, read_ms, report)
            except VIDEO_ERRORS as ex:
                if ex.status != 404:
                    raise
                # The room ended while we read it: its callbacks tell the rest.
                report.skipped.append(room.sid)
        # Rooms the store thinks open but the API does not list: a missed end.
        for sid in self._store.open_room_sids():
            if sid not in open_sids:
                self._check_ended(sid, report)
        log.info('rebuilt room state from the Rooms API: %s', report)
        return report

    def _apply(self, event: RoomEvent, report: Report) -> None:
        if self._store.apply_event(event):
            report.changes += 1

    def _rebuild_room(self, room, presentation_id: str, read_ms: int, report) -> None:
        now_ms = int(self._clock() * 1000)
        if self._store.restore_presentation(presentation_id, room.sid, now_ms):
            report.presentations_restored += 1
            report.changes += 1
        else:
            current = self._store.get_presentation(presentation_id) or {}
            if current.get('room_sid') != room.sid:
                self._store.set_room(presentation_id, room.sid, now_ms)
        base = {'room_sid': room.sid, 'room_name': room.unique_name}
        created = _ms(room.date_created) or read_ms
        self._apply(RoomEvent('room-created', timestamp=created, **base), report)

        api = self._client.video.v1.rooms(room.sid)
        connected = api.participants.list(status='connected')
        listed = set()
        for participant in connected:
            listed.add(participant.sid)
            report.participants += 1
            who = {
                **base,
                'participant_sid': participant.sid,
                'identity': participant.identity,
            }
            joined = (
                _ms(participant.start_time) or _ms(participant.date_created) or read_ms
            )
            self._apply(
                RoomEvent('participant-connected', timestamp=joined, **who), report
            )
            # Pages show the presenter's tracks only; attendees publish nothing.
            if room_state.is_presenter(participant.identity):
                self._rebuild_tracks(api, participant, who, read_ms, report)

        # Connected in the store, not in the API: ask about each one (exact,
        # unlike guessing from the list, which may be older than a new join).
        for record in self._store.connected_participants(room.sid):
            if record['sid'] in listed:
                continue
            try:
                fetched = api.participants(record['sid']).fetch()
            except VIDEO_ERRORS as ex:
                if ex.status == 404:
                    continue
                raise
            if fetched.status != 'disconnected':
                continue
            left = _ms(fetched.end_time) or read_ms
            event = RoomEvent(
                'participant-disconnected',
                timestamp=left,
                participant_sid=record['sid'],
                identity=record['identity'],
                **base,
            )
            report.disconnected += 1
            self._apply(event, report)

    def _rebuild_tracks(self, api, participant, who: dict, read_ms: int, report):
        try:
            tracks = api.participants(participant.sid).published_tracks.list()
        except VIDEO_ERRORS as ex:
            if ex.status != 404:
                raise
            return  # gone since the list: its disconnect callback says the rest
        published = set()
        for track in tracks:
            if track.kind not in room_state.TRACK_KINDS:
                continue
            published.add(track.sid)
            report.tracks += 1
            fields = {
                **who,
                'track_sid': track.sid,
                'track_kind': track.kind,
                'track_name': track.name or '',
            }
            added = _ms(track.date_created) or read_ms
            self._apply(RoomEvent('track-added', timestamp=added, **fields), report)
            state = 'track-enabled' if track.enabled is not False else 'track-disabled'
            self._apply(RoomEvent(state, timestamp=read_ms, **fields), report)
        # A stored track the API no longer lists was removed unseen, unless it
        # was added after our read (its callback may have beaten this loop).
        stored = self._stored_participant(who['room_sid'], participant.sid)
        for track in (stored or {}).get('tracks', {}).values():
            if track['sid'] in published or track['removed_at'] is not None:
                continue
            if track['added_at'] is not None and track['added_at'] >= read_ms:
                continue
            event = RoomEvent(
                'track-removed',
                timestamp=read_ms,
                track_sid=track['sid'],
                track_kind=track['kind'],
                track_name=track['name'],
                **who,
            )
            self._apply(event, report)

    def _stored_participant(self, room_sid: str, participant_sid: str) -> dict | None:
        for record in self._store.connected_participants(room_sid):
            if record['sid'] == participant_sid:
                return record
        return None

    def _check_ended(self, room_sid: str, report: Report) -> None:
        try:
            room = self._client.video.v1.rooms(room_sid).fetch()
        except VIDEO_ERRORS as ex:
            if ex.status == 404:
                return
            raise
        if room.status == 'in-progress':
            return  # opened after our list: its own callbacks cover it
        record = self._store.get_room(room_sid) or {}
        event = RoomEvent(
            'room-ended',
            room_sid=room_sid,
            room_name=room.unique_name or record.get('name', ''),
            timestamp=_ms(room.end_time) or int(self._clock() * 1000),
        )
        report.rooms_ended += 1
        self._apply(event, report)


class StateWatcher:
    """Rebuild at start, then whenever the state epoch disappears (Redis emptied).

    Any number of workers on any number of hosts may run one: the Redis lock
    makes one of them rebuild, and the epoch tells the others it is done.
    """

    def __init__(
        self,
        store: Store,
        rebuilder: Rebuilder,
        *,
        interval: float = CHECK_INTERVAL,
        max_backoff: float = MAX_BACKOFF,
        clock: Callable[[], float] = time.time,
    ):
        self._store = store
        self._rebuilder = rebuilder
        self._interval = interval
        self._max_backoff = max_backoff
        self._clock = clock
        self._stop = threading.Event()
        self._thread: threading.Thread | None = None
        self.rebuilds = 0

    def check(self, *, at_start: bool = False) -> bool:
        """Rebuild if needed and we win the lock; return True if we rebuilt.

        Raises what the rebuild raises (Redis or Rooms API errors).
        """
        if not self._needed(at_start):
            return False
        token = secrets.token_hex(8)
        if not self._store.acquire_rebuild_lock(token, LOCK_TTL_MS):
            return False  # someone else is at it
        try:
            if not self._needed(at_start):
                return False  # they finished between our check and our lock
            epoch = f'{int(self._clock() * 1000)}:{token}'
            # Set first: a Redis loss DURING the rebuild removes it again, and
            # the next check starts over.
            self._store.set_state_epoch(epoch)
            try:
                self._rebuilder.rebuild()
            except BaseException:
                self._store.clear_state_epoch(epoch)
                raise
            self.rebuilds += 1
            return True
        finally:
            self._store.release_rebuild_lock(token)

    def _needed(self, at_start: bool) -> bool:
        epoch = self._store.state_epoch()
        if epoch is None:
            return True
        if not at_start:
            return False
        rebuilt_at = int(epoch.split(':', 1)[0]) if epoch[:1].isdigit() else 0
        return self._clock() * 1000 - rebuilt_at > RECENT_MS

    def run(self) -> None:
        at_start = True
        delay = self._interval
        while not self._stop.is_set():
            try:
                self.check(at_start=at_start)
                at_start = False
                delay = self._interval
            except redis.RedisError as ex:
                # Redis is down: check again soon, it may come back empty.
                log.info('state check: Redis unavailable (%s)', type(ex).__name__)
                delay = self._interval
            except Exception as ex:
                delay = min(max(delay * 2, self._interval * 2), self._max_backoff)
                log.warning(
                    'rebuild from the Rooms API failed (%s: %s); retrying in %.0f s',
                    type(ex).__name__,
                    getattr(ex, 'status', '') or '',
                    delay,
                )
            self._stop.wait(delay)

    def start(self) -> StateWatcher:
        self._thread = threading.Thread(
            target=self.run, name='podium-state-watcher', daemon=True
        )
        self._thread.start()
        return self

    def stop(self, timeout: float = 5.0) -> None:
        self._stop.set()
        if self._thread is not None:
            self._thread.join(timeout)


def watch_state(config: WebhooksConfig, store: Store | None = None) -> StateWatcher:
    """Return (not started) the background watcher of a webhooks worker."""
    store = store or Store.from_url(config.redis_url)
    return StateWatcher(store, Rebuilder(store, rooms_client(config)))


def main(argv: list[str] | None = None) -> int:
    """`python -m podium.rebuild`: rebuild now, whatever the state epoch says."""
    parser = argparse.ArgumentParser(
        prog='python -m podium.rebuild',
        description='Rebuild presentations and room state in Redis from the Rooms '
        'API (Twilio or local_video). Safe to run at any time: it only adds what '
        'the API knows and callbacks merge with it.',
    )
    parser.add_argument(
        '--env-file',
        type=Path,
        default=None,
        help='settings file read before the environment (default: .env if present)',
    )
    args = parser.parse_args(argv)
    logs.configure()
    try:
        config = WebhooksConfig.from_env(
            gather_settings(args.env_file or DEFAULT_ENV_FILE)
        )
    except ConfigError as ex:
        print(f'podium.rebuild: {ex}', file=sys.stderr)
        return 2
    store = Store.from_url(config.redis_url)
    token = secrets.token_hex(8)
    deadline = time.monotonic() + 30
    while not store.acquire_rebuild_lock(token, LOCK_TTL_MS):
        if time.monotonic() > deadline:
            print('podium.rebuild: another rebuild holds the lock', file=sys.stderr)
            return 1
        time.sleep(0.5)
    try:
        report = Rebuilder(store, rooms_client(config)).rebuild()
        store.set_state_epoch(f'{int(time.time() * 1000)}:{token}')
    except (redis.RedisError, *VIDEO_ERRORS) as ex:
        print(f'podium.rebuild: failed: {type(ex).__name__}: {ex}', file=sys.stderr)
        return 1
    finally:
        store.release_rebuild_lock(token)
    print(f'podium.rebuild: {report}')
    return 0


if __name__ == '__main__':
    sys.exit(main())
