"""All of Podium's Redis keys, their TTLs, and the atomic updates on them.

Nothing else in the code base builds a Redis key. The token service writes
presentation records; the webhooks service is the only writer of room state;
the web service only reads, and listens on `CHANGES_CHANNEL`.
"""

from __future__ import annotations

import json
import math
from collections.abc import Callable

import redis

from podium import room_state
from podium.room_state import RoomEvent

PREFIX = 'podium:'
CHANGES_CHANNEL = PREFIX + 'changes'
PRESENTATION_TTL = 30 * 24 * 3600  # a presentation link stays valid for a month
ROOM_STATE_TTL = 2 * 24 * 3600  # longer than any room lives (Twilio: 24 h max)
# Set by a rebuild from the Rooms API and never expiring: its absence means Redis
# lost its data (or never had any), so room state must be rebuilt.
STATE_EPOCH_KEY = PREFIX + 'state-epoch'
REBUILD_LOCK_KEY = PREFIX + 'rebuild-lock'


def presentation_key(presentation_id: str) -> str:
    return f'{PREFIX}presentation:{presentation_id}'


def version_key(presentation_id: str) -> str:
    return f'{PREFIX}presentation:{presentation_id}:version'


def presentation_rooms_key(presentation_id: str) -> str:
    return f'{PREFIX}presentation:{presentation_id}:rooms'


def room_key(room_sid: str) -> str:
    return f'{PREFIX}room:{room_sid}'


def participant_key(room_sid: str, participant_sid: str) -> str:
    return f'{PREFIX}room:{room_sid}:participant:{participant_sid}'


def presenters_key(room_sid: str) -> str:
    """Set of the room's connected presenter ParticipantSids."""
    return f'{PREFIX}room:{room_sid}:presenters'


def attendees_key(room_sid: str) -> str:
    """Set of the room's connected attendee ParticipantSids."""
    return f'{PREFIX}room:{room_sid}:attendees'


def rate_limit_key(scope: str, client: str, window_index: int) -> str:
    """Requests of one client address to one endpoint in one fixed time window."""
    return f'{PREFIX}rate:{scope}:{client}:{window_index}'


def _load(raw: bytes | str | None) -> dict | None:
    return None if raw is None else json.loads(raw)


def _dump(record: dict) -> str:
    return json.dumps(record, sort_keys=True, separators=(',', ':'))


class Store:
    """Podium's state in Redis, spoken of in domain terms."""

    def __init__(self, client: redis.Redis):
        self._redis = client

    @classmethod
    def from_url(cls, url: str) -> Store:
        return cls(redis.Redis.from_url(url, decode_responses=True))

    @property
    def client(self) -> redis.Redis:
        return self._redis

    # Presentations (written by the token service) --------------------------------

    def create_presentation(self, record: dict[str, str]) -> bool:
        """Store a new presentation; return False if its id is taken."""
        key = presentation_key(record['id'])
        # WATCH, not HSETNX + HSET in one pipeline: that HSET overwrote a taken id.
        with self._redis.pipeline() as pipe:
            while True:
                try:
                    pipe.watch(key)
                    if pipe.exists(key):
                        pipe.unwatch()
                        return False
                    pipe.multi()
                    pipe.hset(key, mapping=record)
                    pipe.expire(key, PRESENTATION_TTL)
                    pipe.execute()
                    return True
                except redis.WatchError:
                    continue

    def get_presentation(self, presentation_id: str) -> dict[str, str] | None:
        record = self._redis.hgetall(presentation_key(presentation_id))
        return record or None

    def end_presentation(self, presentation_id: str, ended_at: int) -> bool:
        """Mark a presentation ended; return False if it is unknown or already ended."""
        key = presentation_key(presentation_id)
        with self._redis.pipeline() as pipe:
            while True:
                try:
                    pipe.watch(key)
                    if not pipe.exists(key) or pipe.hexists(key, 'ended_at'):
                        pipe.unwatch()
                        return False
                    pipe.multi()
                    pipe.hset(key, 'ended_at', str(ended_at))
                    self._changed(pipe, presentation_id)
                    pipe.execute()
                    return True
                except redis.WatchError:
                    continue

    @staticmethod
    def _changed(pipe, presentation_id: str) -> None:
        """Queue a version bump and a change notification for open pages."""
        pipe.incr(version_key(presentation_id))
        pipe.expire(version_key(presentation_id), PRESENTATION_TTL)
        pipe.publish(CHANGES_CHANNEL, presentation_id)

    def set_room(self, presentation_id: str, room_sid: str, checked_at: int) -> None:
        """Record the presentation's current room, as the Rooms API just confirmed."""
        key = presentation_key(presentation_id)
        previous = self._redis.hget(key, 'room_sid')
        with self._redis.pipeline() as pipe:
            pipe.hset(
                key, mapping={'room_sid': room_sid, 'room_checked_at': str(checked_at)}
            )
            pipe.sadd(presentation_rooms_key(presentation_id), room_sid)
            pipe.expire(presentation_rooms_key(presentation_id), PRESENTATION_TTL)
            if previous != room_sid:
                self._changed(pipe, presentation_id)
            pipe.execute()

    def restore_presentation(
        self, presentation_id: str, room_sid: str, now_ms: int
    ) -> bool:
        """Recreate a presentation lost with Redis; return False if it exists.

        The title is lost with it: it is stored empty, which pages show as an
        untitled presentation. The version restarts at `now_ms` (at least), so
        it stays above every version pages saw before the loss and their state
        streams, which only move forward, deliver the rebuilt view.
        """
        key = presentation_key(presentation_id)
        version = version_key(presentation_id)
        record = {
            'id': presentation_id,
            'title': '',
            'room_name': room_state.room_name_for(presentation_id),
            'created_at': str(now_ms),
            'restored_at': str(now_ms),
        }
        if room_sid:
            record |= {'room_sid': room_sid, 'room_checked_at': str(now_ms)}
        with self._redis.pipeline() as pipe:
            while True:
                try:
                    pipe.watch(key, version)
                    if pipe.exists(key):
                        pipe.unwatch()
                        return False
                    current = int(pipe.get(version) or 0)
                    pipe.multi()
                    pipe.hset(key, mapping=record)
                    pipe.expire(key, PRESENTATION_TTL)
                    if room_sid:
                        rooms = presentation_rooms_key(presentation_id)
                        pipe.sadd(rooms, room_sid)
                        pipe.expire(rooms, PRESENTATION_TTL)
                    pipe.set(version, max(current, now_ms))
                    self._changed(pipe, presentation_id)
                    pipe.execute()
                    return True
                except redis.WatchError:
                    continue

    def get_room(self, room_sid: str) -> dict | None:
        return _load(self._redis.get(room_key(room_sid)))

    # Room state (written by the webhooks service only) ---------------------------

    def apply_event(self, event: RoomEvent) -> bool:
        """Merge one callback into the stored state atomically; True if it changed."""
        presentation_id = room_state.presentation_id_for(event.room_name)
        if presentation_id is None:
            return False
        if event.is_room_event:
            key = room_key(event.room_sid)
            merge: Callable[[dict | None, RoomEvent], dict] = room_state.merge_room
        else:
            key = participant_key(event.room_sid, event.participant_sid)
            merge = room_state.merge_participant
        with self._redis.pipeline() as pipe:
            while True:
                try:
                    pipe.watch(key)
                    old = _load(pipe.get(key))
                    new = merge(old, event)
                    if new == old:
                        pipe.unwatch()
                        return False
                    pipe.multi()
                    pipe.set(key, _dump(new), ex=ROOM_STATE_TTL)
                    if not event.is_room_event:
                        self._index_participant(pipe, new)
                    rooms = presentation_rooms_key(presentation_id)
                    pipe.sadd(rooms, event.room_sid)
                    pipe.expire(rooms, PRESENTATION_TTL)
                    self._changed(pipe, presentation_id)
                    pipe.execute()
                    return True
                except redis.WatchError:
                    continue

    @staticmethod
    def _index_participant(pipe, record: dict) -> None:
        index = (
            presenters_key(record['room_sid'])
            if room_state.is_presenter(record['identity'])
            else attendees_key(record['room_sid'])
        )
        if room_state.participant_connected(record):
            pipe.sadd(index, record['sid'])
        else:
            pipe.srem(index, record['sid'])
        pipe.expire(index, ROOM_STATE_TTL)

    def connected_attendees(self, room_sid: str) -> list[dict]:
        """Return the records of a room's connected attendees."""
        sids = sorted(self._redis.smembers(attendees_key(room_sid)))
        keys = [participant_key(room_sid, sid) for sid in sids]
        return [r for r in map(_load, self._redis.mget(keys) if keys else []) if r]

    def connected_participants(self, room_sid: str) -> list[dict]:
        """Return the records of every participant the store has connected."""
        sids = sorted(
            self._redis.smembers(presenters_key(room_sid))
            | self._redis.smembers(attendees_key(room_sid))
        )
        keys = [participant_key(room_sid, sid) for sid in sids]
        return [r for r in map(_load, self._redis.mget(keys) if keys else []) if r]

    def open_room_sids(self) -> list[str]:
        """Return the SIDs of the rooms whose record has no end (SCAN: a few rooms)."""
        sids = []
        for key in self._redis.scan_iter(match=room_key('*'), count=500):
            rest = key.removeprefix(room_key(''))
            if ':' in rest:
                continue  # a participant or an index of the room
            record = _load(self._redis.get(key))
            if record is not None and record.get('ended_at') is None:
                sids.append(rest)
        return sorted(sids)

    # Rebuilding after Redis lost its data (podium.rebuild) ------------------------

    def state_epoch(self) -> str | None:
        """Return the epoch the last rebuild set; None means state must be rebuilt."""
        return self._redis.get(STATE_EPOCH_KEY)

    def set_state_epoch(self, epoch: str) -> None:
        self._redis.set(STATE_EPOCH_KEY, epoch)

    def clear_state_epoch(self, epoch: str) -> None:
        """Forget `epoch` (a rebuild failed) unless another one replaced it."""
        self._compare_and_delete(STATE_EPOCH_KEY, epoch)

    def acquire_rebuild_lock(self, token: str, ttl_ms: int) -> bool:
        """Take the rebuild lock for `ttl_ms` (SET NX PX); True if we hold it now."""
        return bool(self._redis.set(REBUILD_LOCK_KEY, token, nx=True, px=ttl_ms))

    def release_rebuild_lock(self, token: str) -> None:
        self._compare_and_delete(REBUILD_LOCK_KEY, token)

    def _compare_and_delete(self, key: str, value: str) -> None:
        with self._redis.pipeline() as pipe:
            while True:
                try:
                    pipe.watch(key)
                    if pipe.get(key) != value:
                        pipe.unwatch()
                        return
                    pipe.multi()
                    pipe.delete(key)
                    pipe.execute()
                    return
                except redis.WatchError:
                    continue

    # Rate limits (counted by the token service, shared by all its workers) -------

    def count_request(
        self, scope: str, client: str, window: int, now: float
    ) -> tuple[int, int]:
        """Count one request in the current fixed window of `window` seconds.

        Return the window's count including this request, and the whole seconds
        until the window ends (what `Retry-After` says).
        """
        index = int(now // window)
        key = rate_limit_key(scope, client, index)
        with self._redis.pipeline(transaction=True) as pipe:
            pipe.incr(key)
            # One spare second: the key never expires before its window ends.
            pipe.expire(key, window + 1)
            count, _ = pipe.execute()
        return int(count), max(1, math.ceil((index + 1) * window - now))

    # Reading what pages show -----------------------------------------------------

    def read_view(self, presentation_id: str) -> dict | None:
        """Return the presentation's state as pages show it, or None if unknown."""
        presentation = self.get_presentation(presentation_id)
        if presentation is None:
            return None
        room_sid = presentation.get('room_sid')
        version = int(self._redis.get(version_key(presentation_id)) or 0)
        if not room_sid:
            return room_state.presentation_view(presentation, None, [], 0, version)
        with self._redis.pipeline(transaction=True) as pipe:
            pipe.get(room_key(room_sid))
            pipe.smembers(presenters_key(room_sid))
            pipe.scard(attendees_key(room_sid))
            pipe.get(version_key(presentation_id))
            room_raw, presenter_sids, attendee_count, version_raw = pipe.execute()
        keys = [participant_key(room_sid, sid) for sid in sorted(presenter_sids)]
        records = self._redis.mget(keys) if keys else []
        presenters = [r for r in map(_load, records) if r]
        room = _load(room_raw)
        if room is None:
            room = {'sid': room_sid, 'name': '', 'created_at': None, 'ended_at': None}
        return room_state.presentation_view(
            presentation, room, presenters, attendee_count, int(version_raw or 0)
        )
