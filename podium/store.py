"""All of Podium's Redis keys, their TTLs, and the atomic updates on them.

Nothing else in the code base builds a Redis key. The token service writes
presentation records; the webhooks service is the only writer of room state;
the web service only reads, and listens on `CHANGES_CHANNEL`.
"""

from __future__ import annotations

import json
import math
from collections.abc import Callable, Iterable
from dataclasses import dataclass, field

import redis
from redis.backoff import NoBackoff
from redis.retry import Retry

from podium import attendance, audience, ids, recording_state, room_state, stage
from podium.room_state import RoomEvent

PREFIX = 'podium:'
CHANGES_CHANNEL = PREFIX + 'changes'
PRESENTATION_TTL = 30 * 24 * 3600  # a presentation link stays valid for a month
ROOM_STATE_TTL = 2 * 24 * 3600  # longer than any room lives (Twilio: 24 h max)
# Set by a rebuild from the Rooms API and never expiring: its absence means Redis
# lost its data (or never had any), so room state must be rebuilt.
STATE_EPOCH_KEY = PREFIX + 'state-epoch'
REBUILD_LOCK_KEY = PREFIX + 'rebuild-lock'
# How long a participant stays marked as removed for publishing: longer than
# Twilio goes on retrying and duplicating its callbacks (minutes), and a removed
# participant never comes back under its ParticipantSid.
KICK_MARKER_TTL = 3600
# Room-state records a Store remembers as guesses for apply_event (~1 MB).
LAST_SEEN_RECORDS = 4096
# redis.asyncio connections per event-loop worker, and how long (s) a request
# waits for one before it fails (AsyncRoomState.from_url).
ASYNC_POOL_CONNECTIONS = 32
ASYNC_POOL_WAIT = 5


# Presentation ids come from URLs: each builder refuses a malformed one
# (ids.InvalidPresentationId), whatever the routes checked, since 'x:version'
# would name another key of presentation x.


def _of_presentation(presentation_id: str, *parts: object) -> str:
    """Return the key `podium:presentation:<id>[:<part>...]`, the id checked."""
    return ':'.join(
        (f'{PREFIX}presentation:{ids.checked(presentation_id)}', *map(str, parts))
    )


def presentation_key(presentation_id: str) -> str:
    return _of_presentation(presentation_id)


def version_key(presentation_id: str) -> str:
    return _of_presentation(presentation_id, 'version')


def presentation_rooms_key(presentation_id: str) -> str:
    return _of_presentation(presentation_id, 'rooms')


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


def attendance_key(presentation_id: str) -> str:
    """Hash ParticipantSid -> attendance record, of every room of a presentation.

    Lives as long as the presentation (room state expires sooner): the report
    is read after the talk.
    """
    return f'{PREFIX}presentation:{ids.checked(presentation_id)}:attendance'


def kick_key(room_sid: str, participant_sid: str) -> str:
    """Marker: the webhooks removed (or are removing) this participant.

    Not under `room:`: it is no room state, which a rebuild restores and scans.
    """
    return f'{PREFIX}kicked:{room_sid}:{participant_sid}'


def sent_rules_key(presentation_id: str, identity: str) -> str:
    """The subscribe rules last sent for one participant of a presentation."""
    return _of_presentation(presentation_id, 'rules', identity)


def media_key(presentation_id: str, sid: str) -> str:
    """One recording (RT...) or composition (CJ...) of a presentation, merged."""
    return f'{PREFIX}presentation:{ids.checked(presentation_id)}:media:{sid}'


def media_index_key(presentation_id: str) -> str:
    """Set of the recording and composition SIDs a presentation has heard of."""
    return f'{PREFIX}presentation:{ids.checked(presentation_id)}:media'


def composition_claim_key(presentation_id: str) -> str:
    """Held while one request asks for the presentation's composition."""
    return f'{PREFIX}presentation:{ids.checked(presentation_id)}:composing'


# Long enough for one Compositions API call with its retries (REQUEST_TIMEOUT 10 s).
COMPOSITION_CLAIM_TTL = 60


def rate_limit_key(scope: str, client: str, window_index: int) -> str:
    """Requests of one client address to one endpoint in one fixed time window."""
    return f'{PREFIX}rate:{scope}:{client}:{window_index}'


def _load(raw: bytes | str | None) -> dict | None:
    return None if raw is None else json.loads(raw)


def _dump(record: dict) -> str:
    return json.dumps(record, sort_keys=True, separators=(',', ':'))


# Compare-and-set for `Store.apply_event`: write the merged record, the
# participant index, the presentation's room set, the version bump and the change
# notification only if the record still holds what the merge started from. The
# merge itself stays in Python (podium.room_state); Redis only checks that nobody
# wrote in between, as WATCH did, in one round trip instead of two. On a conflict
# it returns what the record holds now, so the retry needs no extra read.
# KEYS: record, rooms set, version[, participant index, attendance hash]
# ARGV: value read ('' = none), merged value, room-state TTL, presentation TTL,
#       room SID, channel, presentation id[, SADD or SREM, participant SID,
#       attendance record]
_APPLY_IF_UNCHANGED = """
local current = redis.call('GET', KEYS[1])
if (current or '') ~= ARGV[1] then
  return {0, current}
end
redis.call('SET', KEYS[1], ARGV[2], 'EX', ARGV[3])
if KEYS[4] then
  redis.call(ARGV[8], KEYS[4], ARGV[9])
  redis.call('EXPIRE', KEYS[4], ARGV[3])
  redis.call('HSET', KEYS[5], ARGV[9], ARGV[10])
  redis.call('EXPIRE', KEYS[5], ARGV[4])
end
redis.call('SADD', KEYS[2], ARGV[5])
redis.call('EXPIRE', KEYS[2], ARGV[4])
redis.call('INCR', KEYS[3])
redis.call('EXPIRE', KEYS[3], ARGV[4])
redis.call('PUBLISH', ARGV[6], ARGV[7])
return {1}
"""

# A token request in one round trip: count it against the client's rate limit,
# read the presentation, and read the record of the presentation's current room.
# The room key depends on the presentation record, so only a script can read
# both at once. (Fine on one Redis server, which is what Podium runs; Redis
# Cluster would want the room key declared.)
# KEYS: rate counter, presentation
# ARGV: counter TTL ('0' = do not count), room key prefix
_COUNT_AND_READ_PRESENTATION = """
local count = false
if ARGV[1] ~= '0' then
  count = redis.call('INCR', KEYS[1])
  redis.call('EXPIRE', KEYS[1], ARGV[1])
end
local record = redis.call('HGETALL', KEYS[2])
local room = false
for i = 1, #record, 2 do
  if record[i] == 'room_sid' and record[i + 1] ~= '' then
    room = redis.call('GET', ARGV[2] .. record[i + 1])
  end
end
return {count, record, room}
"""


# One more attempt, at once, on a new connection, for a connection error only
# (a timeout may mean Redis is running the command: not retried). A dropped
# connection usually failed before Redis ran anything, but the reply can also be
# lost after it did, so each command on the hot client must be safe to run twice:
# - apply_event's compare-and-set: a second run finds the record already holds
#   the merged value, reports a conflict, and the merge finds nothing new (the
#   callback is then answered "already known": true, and no second write).
# - count_and_read_presentation: reads; its INCR may count one request twice
#   in a rate-limit window, never under-count.
# - audience writes: the ids (question, poll) are chosen before the call, so a
#   second ask or poll creation writes the same record; votes and hands are set
#   operations (SADD/SREM, ZADD NX/ZREM/DEL) and ballots an HSET of the same
#   option, which change nothing the second time; presenter changes are
#   compare-and-set on `updated_at` (a second run is a conflict, re-decided) and
#   moderation sets a value. The rate counter may count the caller twice.
#   Reactions are counted with HINCRBY, which a second run would count twice, so
#   they use the pool (`AudienceStore.react`), whose checkout notices a dropped
#   connection before sending, and are not retried.
HOT_RETRY = Retry(NoBackoff(), 1, supported_errors=(redis.ConnectionError,))


@dataclass(frozen=True)
class PresentationReads:
    """What a token request reads, fetched together (`count_and_read_presentation`)."""

    count: int | None  # requests in this rate-limit window; None if not counted
    retry_after: int  # whole seconds until the window ends
    presentation: dict[str, str] | None
    room: dict | None  # the record of the presentation's `room_sid`, if stored


def _window(window: int, now: float) -> tuple[int, int]:
    """Return the index of the fixed window holding `now`, and seconds left in it."""
    index = int(now // window)
    return index, max(1, math.ceil((index + 1) * window - now))


@dataclass(frozen=True)
class _MergeTarget:
    """Where one room status callback is merged: its record and the merge rule.

    Shared by `Store.apply_event` (sync) and `AsyncRoomState.apply_event`
    (redis.asyncio), so both write exactly the same keys and values.
    """

    presentation_id: str
    key: str
    merge: Callable[[dict | None, RoomEvent], dict]

    def merged(self, raw: str | None, event: RoomEvent) -> dict | None:
        """Return the record merged from `raw`, or None if the event adds nothing."""
        old = _load(raw)
        new = self.merge(old, event)
        return None if new == old else new

    def compare_and_set(
        self, event: RoomEvent, raw: str | None, new: dict
    ) -> tuple[list[str], list]:
        """Return the keys and arguments of `_APPLY_IF_UNCHANGED` for `new`."""
        keys = [
            self.key,
            presentation_rooms_key(self.presentation_id),
            version_key(self.presentation_id),
        ]
        args = [
            raw or '',
            _dump(new),
            ROOM_STATE_TTL,
            PRESENTATION_TTL,
            event.room_sid,
            CHANGES_CHANNEL,
            self.presentation_id,
        ]
        if not event.is_room_event:
            index, operation = Store._participant_index(new)
            keys += [index, attendance_key(self.presentation_id)]
            args += [operation, new['sid'], _dump(attendance.attendance_record(new))]
        return keys, args


def _merge_target(event: RoomEvent) -> _MergeTarget | None:
    """Return where `event` is merged, or None if its room is not a Podium room."""
    presentation_id = room_state.presentation_id_for(event.room_name)
    if presentation_id is None:
        return None
    if event.is_room_event:
        return _MergeTarget(
            presentation_id, room_key(event.room_sid), room_state.merge_room
        )
    return _MergeTarget(
        presentation_id,
        participant_key(event.room_sid, event.participant_sid),
        room_state.merge_participant,
    )


def _count_and_read_call(
    presentation_id: str, counted: tuple[str, str] | None, window: int, now: float
) -> tuple[list[str], list, int]:
    """Return the keys and arguments of `_COUNT_AND_READ_PRESENTATION`, and the
    seconds until the rate-limit window ends."""
    index, retry_after = _window(window, now)
    scope, client = counted or ('', '')
    keys = [rate_limit_key(scope, client, index), presentation_key(presentation_id)]
    # One spare second: the counter never expires before its window ends.
    args = [window + 1 if counted else 0, room_key('')]
    return keys, args, retry_after


def _presentation_reads(raw: list, retry_after: int) -> PresentationReads:
    count, flat, room_raw = raw
    return PresentationReads(
        count=None if count is None else int(count),
        retry_after=retry_after,
        presentation=dict(zip(flat[::2], flat[1::2], strict=True)) or None,
        room=_load(room_raw),
    )


class _LastSeen:
    """Per-process guesses of room-state records: what this process last wrote or read.

    A cache, not state: a wrong guess costs one more round trip (the compare-and-set
    answers with what the record holds), never a wrong write.
    """

    def __init__(self) -> None:
        self._records: dict[str, str] = {}

    def get(self, key: str) -> str | None:
        return self._records.get(key)

    def remember(self, key: str, raw: str | None) -> None:
        if raw is None:
            self._records.pop(key, None)
            return
        if len(self._records) >= LAST_SEEN_RECORDS:
            self._records.clear()  # start over rather than track an order
        self._records[key] = raw


class Store:
    """Podium's state in Redis, spoken of in domain terms."""

    def __init__(self, client: redis.Redis):
        self._redis = client
        # EVALSHA, loading the script on first use (and after a SCRIPT FLUSH).
        self._apply_if_unchanged = client.register_script(_APPLY_IF_UNCHANGED)
        self._count_and_read = client.register_script(_COUNT_AND_READ_PRESENTATION)
        # Room-state records this process last wrote or saw, by key: apply_event's
        # guess at what is stored, so that usually a single compare-and-set is
        # the only round trip. A wrong guess costs a retry with the value the
        # failed compare returns, never a wrong write.
        self._last_seen = _LastSeen()
        self._hot_url: str | None = None  # set by from_url(single_connection=True)
        self._hot_client: redis.Redis | None = None

    @classmethod
    def from_url(cls, url: str, *, single_connection: bool = False) -> Store:
        """Return a Store on the Redis at `url`.

        `single_connection`: the per-request paths (`apply_event`,
        `count_and_read_presentation`, the audience writes) keep one connection,
        behind a lock, instead of a pool checkout and return per command, which
        redis-py makes cost ~20 us, a quarter of the command. For processes that
        run one request at a time: the WSGI services' sync workers. It is taken on
        first use, so a service still starts while Redis is down.
        """
        store = cls(redis.Redis.from_url(url, decode_responses=True))
        if single_connection:
            store._hot_url = url
        return store

    @property
    def client(self) -> redis.Redis:
        return self._redis

    def close(self) -> None:
        """Close the hot connection and the pool's connections."""
        if self._hot_client is not None:
            self._hot_client.close()
            self._hot_client = None
        self._redis.close()

    def _hot(self) -> redis.Redis:
        """Return the client for the per-request paths (see `from_url`).

        A pool checks a connection before handing it out; this one is never
        checked, so after Redis restarted its first command finds the socket
        dead. It is retried once on a fresh connection (`HOT_RETRY`), which is
        safe because every command sent here may run twice: see `HOT_RETRY`.
        """
        if self._hot_url is None:
            return self._redis
        if self._hot_client is None:
            self._hot_client = redis.Redis.from_url(
                self._hot_url,
                decode_responses=True,
                single_connection_client=True,
                retry=HOT_RETRY,
            )
        return self._hot_client

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

    def set_broadcast(self, presentation_id: str, on: bool) -> bool:
        """Record the broadcast choice; False if the presentation is unknown."""
        key = presentation_key(presentation_id)
        with self._redis.pipeline() as pipe:
            while True:
                try:
                    pipe.watch(key)
                    if not pipe.exists(key):
                        pipe.unwatch()
                        return False
                    pipe.multi()
                    pipe.hset(key, 'broadcast', '1' if on else '0')
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
        target = _merge_target(event)
        if target is None:
            return False
        # Not read first: a new participant's record does not exist yet, and the
        # next callback about it usually finds the record this process wrote.
        raw = self._last_seen.get(target.key)
        guessed = True
        while True:
            new = target.merged(raw, event)
            if new is None:
                if not guessed:
                    return False
                # "Already known" must come from the store itself (it may have
                # lost what we remember), so read it before saying so.
                raw, guessed = self._hot().get(target.key), False
                self._last_seen.remember(target.key, raw)
                continue
            keys, args = target.compare_and_set(event, raw, new)
            applied, *current = self._apply_if_unchanged(
                keys=keys, args=args, client=self._hot()
            )
            if applied:
                self._last_seen.remember(target.key, args[1])
                return True
            # Stored is not what we merged into (another callback wrote it, or we
            # guessed): merge into what the compare found.
            raw, guessed = (current[0] if current else None), False
            self._last_seen.remember(target.key, raw)

    def apply_media_event(self, presentation_id: str, event) -> bool:
        """Merge a recording-*/composition-* callback (podium.recording_state).

        Optimistic like apply_event, with WATCH: these callbacks are few (a handful
        per track and per composition), so one more round trip costs nothing.
        """
        if not ids.is_presentation_id(presentation_id) or not event.sid.isalnum():
            return False
        key = media_key(presentation_id, event.sid)
        index = media_index_key(presentation_id)
        version = version_key(presentation_id)
        with self._redis.pipeline() as pipe:
            while True:
                try:
                    pipe.watch(key)
                    old = _load(pipe.get(key))
                    new = recording_state.merge_media(old, event)
                    if new == old:
                        pipe.unwatch()
                        return False
                    pipe.multi()
                    pipe.set(key, _dump(new), ex=PRESENTATION_TTL)
                    pipe.sadd(index, event.sid)
                    pipe.expire(index, PRESENTATION_TTL)
                    pipe.incr(version)
                    pipe.expire(version, PRESENTATION_TTL)
                    pipe.publish(CHANGES_CHANNEL, presentation_id)
                    pipe.execute()
                    return True
                except redis.WatchError:
                    continue  # another callback wrote it: merge into that

    def media_records(self, presentation_id: str) -> list[dict]:
        """The presentation's merged recordings and compositions, oldest first."""
        sids = sorted(self._redis.smembers(media_index_key(presentation_id)))
        keys = [media_key(presentation_id, sid) for sid in sids]
        records = [r for r in map(_load, self._redis.mget(keys) if keys else []) if r]
        return sorted(records, key=lambda r: (r['first_at'], r['sid']))

    # Recording, as the presenter asks for it (token service) ------------------------

    def set_recording_requested(self, presentation_id: str, on: bool) -> None:
        """Remember whether the presenter wants the talk recorded; tell open pages."""
        key = presentation_key(presentation_id)
        with self._redis.pipeline(transaction=True) as pipe:
            pipe.hset(key, recording_state.REQUESTED_FIELD, '1' if on else '0')
            self._changed(pipe, presentation_id)
            pipe.execute()

    def claim_composition(self, presentation_id: str) -> bool:
        """Take the right to ask for the presentation's composition, for a while.

        Two concurrent "end" requests must not make two files: only the one that
        claims asks. The claim expires, so a worker that died mid-ask is retried.
        """
        key = composition_claim_key(presentation_id)
        return bool(self._redis.set(key, '1', nx=True, ex=COMPOSITION_CLAIM_TTL))

    def set_composition(
        self, presentation_id: str, sid: str = '', error: str = ''
    ) -> None:
        """Record the composition asked for (`sid`), or why asking failed (`error`)."""
        key = presentation_key(presentation_id)
        with self._redis.pipeline(transaction=True) as pipe:
            if sid:
                pipe.hset(key, recording_state.COMPOSITION_FIELD, sid)
                pipe.hdel(
                    key,
                    recording_state.COMPOSITION_ERROR_FIELD,
                    recording_state.DELETED_FIELD,
                )
            else:
                pipe.hset(key, recording_state.COMPOSITION_ERROR_FIELD, error)
            pipe.delete(composition_claim_key(presentation_id))
            self._changed(pipe, presentation_id)
            pipe.execute()

    def release_composition(self, presentation_id: str) -> None:
        """Give up a claim without an answer (the ask failed; a retry may ask)."""
        self._redis.delete(composition_claim_key(presentation_id))

    def mark_composition_deleted(self, presentation_id: str) -> None:
        key = presentation_key(presentation_id)
        with self._redis.pipeline(transaction=True) as pipe:
            pipe.hset(key, recording_state.DELETED_FIELD, '1')
            self._changed(pipe, presentation_id)
            pipe.execute()

    @staticmethod
    def _participant_index(record: dict) -> tuple[str, str]:
        """Return the index set a participant record belongs in, and SADD or SREM."""
        index = (
            presenters_key(record['room_sid'])
            if room_state.is_presenter(record['identity'])
            else attendees_key(record['room_sid'])
        )
        return index, 'SADD' if room_state.participant_connected(record) else 'SREM'

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

    def open_room_audiences(self) -> list[tuple[str, int, int]]:
        """Return (presentation id, attendees, presenters) of every open room."""
        sids = self.open_room_sids()
        if not sids:
            return []
        with self._redis.pipeline(transaction=False) as pipe:
            for sid in sids:
                pipe.get(room_key(sid))
                pipe.scard(attendees_key(sid))
                pipe.scard(presenters_key(sid))
            replies = pipe.execute()
        audiences = []
        for index in range(0, len(replies), 3):
            record = _load(replies[index]) or {}
            presentation_id = room_state.presentation_id_for(record.get('name', ''))
            if presentation_id is not None:
                audiences.append(
                    (presentation_id, int(replies[index + 1]), int(replies[index + 2]))
                )
        return sorted(audiences)

    # Removing participants who may not publish (webhooks) ------------------------

    def claim_kick(self, room_sid: str, participant_sid: str) -> bool:
        """Mark a participant as being removed; False if someone already did.

        SET NX: of any number of duplicate callbacks, in any worker, one wins.
        """
        return bool(
            self._redis.set(
                kick_key(room_sid, participant_sid), '1', nx=True, ex=KICK_MARKER_TTL
            )
        )

    def release_kick(self, room_sid: str, participant_sid: str) -> None:
        """Forget a claim whose removal failed, so that the next callback retries."""
        self._redis.delete(kick_key(room_sid, participant_sid))

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

    # Subscribe rules sent (by the token service) ---------------------------------

    def sent_rules(self, presentation_id: str, identity: str) -> dict | None:
        """Return what `remember_rules` last stored for the participant, if anything."""
        return _load(self._redis.get(sent_rules_key(presentation_id, identity)))

    def remember_rules(
        self, presentation_id: str, identity: str, sent: dict, ttl: int
    ) -> None:
        """Store what was sent as a participant's subscribe rules, for `ttl` seconds."""
        self._redis.set(sent_rules_key(presentation_id, identity), _dump(sent), ex=ttl)

    # Rate limits (counted by the token service, shared by all its workers) -------

    def count_request(
        self, scope: str, client: str, window: int, now: float
    ) -> tuple[int, int]:
        """Count one request in the current fixed window of `window` seconds.

        Return the window's count including this request, and the whole seconds
        until the window ends (what `Retry-After` says).
        """
        index, retry_after = _window(window, now)
        key = rate_limit_key(scope, client, index)
        with self._redis.pipeline(transaction=True) as pipe:
            pipe.incr(key)
            # One spare second: the key never expires before its window ends.
            pipe.expire(key, window + 1)
            count, _ = pipe.execute()
        return int(count), retry_after

    def count_and_read_presentation(
        self,
        presentation_id: str | None,
        counted: tuple[str, str] | None,
        window: int,
        now: float,
    ) -> PresentationReads:
        """Count a request and read a presentation and its room, in one round trip.

        `counted` is (scope, client) as for `count_request`, or None not to count;
        `presentation_id` None reads nothing (an id that cannot be ours).
        """
        if presentation_id is None:
            count, retry_after = (
                self.count_request(*counted, window, now) if counted else (None, 0)
            )
            return PresentationReads(count, retry_after, None, None)
        keys, args, retry_after = _count_and_read_call(
            presentation_id, counted, window, now
        )
        raw = self._count_and_read(keys=keys, args=args, client=self._hot())
        return _presentation_reads(raw, retry_after)

    # Reading what pages show -----------------------------------------------------

    def read_attendance(self, presentation_id: str) -> list[dict]:
        """Return the attendance records of every room of a presentation."""
        raw = self._redis.hvals(attendance_key(presentation_id))
        return sorted(map(json.loads, raw), key=lambda r: r['sid'])

    def read_view(self, presentation_id: str) -> dict | None:
        """Return the presentation's state as pages show it, or None if unknown."""
        presentation = self.get_presentation(presentation_id)
        if presentation is None:
            return None
        room_sid = presentation.get('room_sid')
        version = int(self._redis.get(version_key(presentation_id)) or 0)
        recording = recording_state.public_view(
            recording_state.recording_view(
                presentation, self.media_records(presentation_id)
            )
        )
        if not room_sid:
            return room_state.presentation_view(
                presentation, None, [], 0, version, recording
            )
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
            presentation,
            room,
            presenters,
            attendee_count,
            int(version_raw or 0),
            recording,
        )


# =============================================================================
# Audience interaction: questions, votes, hands, polls, reactions, names.
#
# Written by the token service (which authenticates every write), read by the
# web service. Each write is one Lua script: count the caller against their
# rate limit, check the presentation exists and is not over, write, bump the
# kind's version and publish `<presentation id> <kind>` on CHANGES_CHANNEL, in
# one round trip and atomically. The stored shapes make concurrent writes
# commute (podium.audience): voters are a SET, ballots a HASH identity ->
# option with tallies kept beside them in the same script, hands a ZSET scored
# by first-raised time (ZADD NX). Everything lives as long as presentations
# (PRESENTATION_TTL, refreshed on write): what people typed must not vanish.
# =============================================================================

AUDIENCE_TTL = PRESENTATION_TTL
REACTION_BUCKET_TTL = 10  # seconds; a bucket is read within a second of closing


def audience_versions_key(presentation_id: str) -> str:
    """Hash kind -> version of the presentation's questions, hands and polls."""
    return _of_presentation(presentation_id, 'audience-versions')


def names_key(presentation_id: str) -> str:
    """Hash identity -> the display name the attendee gave when joining."""
    return _of_presentation(presentation_id, 'names')


def questions_key(presentation_id: str) -> str:
    """Sorted set of question ids by the time they were asked."""
    return _of_presentation(presentation_id, 'questions')


def question_key(presentation_id: str, question_id: str) -> str:
    return _of_presentation(presentation_id, 'question', question_id)


def voters_key(presentation_id: str, question_id: str) -> str:
    """Set of the identities that upvoted a question."""
    return question_key(presentation_id, question_id) + ':voters'


def hands_key(presentation_id: str) -> str:
    """Sorted set of identities with a raised hand, by first-raised time (ms)."""
    return _of_presentation(presentation_id, 'hands')


def stage_key(presentation_id: str) -> str:
    """Hash slot ('1'..'N') -> seat (JSON) of who is invited or speaking.

    Lives as long as the audience data (AUDIENCE_TTL, refreshed on write) and is
    versioned as the `stage` kind of the audience versions, like the hand queue.
    """
    return _of_presentation(presentation_id, 'stage')


def polls_key(presentation_id: str) -> str:
    """Sorted set of poll ids by creation time."""
    return _of_presentation(presentation_id, 'polls')


def poll_key(presentation_id: str, poll_id: str) -> str:
    return _of_presentation(presentation_id, 'poll', poll_id)


def ballots_key(presentation_id: str, poll_id: str) -> str:
    """Hash identity -> option index: one ballot per attendee."""
    return poll_key(presentation_id, poll_id) + ':ballots'


def tallies_key(presentation_id: str, poll_id: str) -> str:
    """Hash option index -> votes, kept in step with the ballots by each vote."""
    return poll_key(presentation_id, poll_id) + ':tallies'


def reactions_key(presentation_id: str, bucket: int) -> str:
    """Hash emoji -> count of the reactions in one short window."""
    return _of_presentation(presentation_id, 'reactions', bucket)


def change_message(presentation_id: str, kind: str, detail: str = '') -> str:
    """Return the CHANGES_CHANNEL message saying what changed.

    A bare presentation id (what room-state writes publish) means `state`.
    """
    return ' '.join(p for p in (presentation_id, kind, detail) if p)


# Shared by every audience write.
# KEYS[1] presentation, KEYS[2] rate counter, KEYS[3] audience versions
# ARGV[1] counter TTL ('0' = not counted), ARGV[2] limit, ARGV[3] now (ms),
# ARGV[4] data TTL, ARGV[5] channel, ARGV[6] message, ARGV[7] kind
_AUDIENCE_PRELUDE = """
local function guard()
  if ARGV[1] ~= '0' then
    local n = redis.call('INCR', KEYS[2])
    if n == 1 then redis.call('EXPIRE', KEYS[2], ARGV[1]) end
    if n > tonumber(ARGV[2]) then return 'rate' end
  end
  if redis.call('EXISTS', KEYS[1]) == 0 then return 'no-presentation' end
  if redis.call('HEXISTS', KEYS[1], 'ended_at') == 1 then return 'ended' end
  return false
end
-- A version that starts at the clock, not at 1: after Redis lost it, the new
-- one is still above every version a page saw, and streams only move forward.
local function bump()
  local v = redis.call('HINCRBY', KEYS[3], ARGV[7], 1)
  if v == 1 then
    v = tonumber(ARGV[3])
    redis.call('HSET', KEYS[3], ARGV[7], ARGV[3])
  end
  redis.call('EXPIRE', KEYS[3], ARGV[4])
  redis.call('PUBLISH', ARGV[5], ARGV[6])
  return v
end
local bad = guard()
if bad then return {bad} end
"""

# KEYS[4] questions index, KEYS[5] question, KEYS[6] names
# ARGV[8] id, ARGV[9] text, ARGV[10] identity, ARGV[11] anonymous, ARGV[12] cap
_ASK = (
    _AUDIENCE_PRELUDE
    + """
if redis.call('ZCARD', KEYS[4]) >= tonumber(ARGV[12]) then return {'full'} end
local state = 'approved'
if redis.call('HGET', KEYS[1], 'moderated') == '1' then state = 'pending' end
local name = redis.call('HGET', KEYS[6], ARGV[10]) or ''
redis.call('HSET', KEYS[5], 'id', ARGV[8], 'text', ARGV[9], 'identity', ARGV[10],
  'name', name, 'anonymous', ARGV[11], 'state', state, 'asked_at', ARGV[3],
  'updated_at', ARGV[3])
redis.call('EXPIRE', KEYS[5], ARGV[4])
redis.call('ZADD', KEYS[4], ARGV[3], ARGV[8])
redis.call('EXPIRE', KEYS[4], ARGV[4])
bump()
return {'ok', state, name}
"""
)

# KEYS[4] question, KEYS[5] voters; ARGV[8] identity, ARGV[9] '1' vote, '0' unvote
_VOTE = (
    _AUDIENCE_PRELUDE
    + """
local state = redis.call('HGET', KEYS[4], 'state')
if not state or state == 'pending' then return {'no-question'} end
if state == 'dismissed' then return {'dismissed'} end
local changed
if ARGV[9] == '1' then
  changed = redis.call('SADD', KEYS[5], ARGV[8])
else
  changed = redis.call('SREM', KEYS[5], ARGV[8])
end
if changed == 1 then
  redis.call('EXPIRE', KEYS[5], ARGV[4])
  bump()
end
return {'ok', redis.call('SCARD', KEYS[5])}
"""
)

# KEYS[4] hands; ARGV[8] raise | lower | clear, ARGV[9] identity
_HAND = (
    _AUDIENCE_PRELUDE
    + """
local changed
if ARGV[8] == 'raise' then
  changed = redis.call('ZADD', KEYS[4], 'NX', ARGV[3], ARGV[9])
  redis.call('EXPIRE', KEYS[4], ARGV[4])
elseif ARGV[8] == 'lower' then
  changed = redis.call('ZREM', KEYS[4], ARGV[9])
else
  changed = redis.call('DEL', KEYS[4])
end
if changed > 0 then bump() end
return {'ok', changed}
"""
)

# KEYS[4] this window's counts; ARGV[8] emoji, ARGV[9] counts TTL.
# Published once per window, not per reaction: web services read the window
# when it closes, so a storm costs them one read per window.
_REACT = (
    _AUDIENCE_PRELUDE
    + """
local fresh = redis.call('EXISTS', KEYS[4]) == 0
redis.call('HINCRBY', KEYS[4], ARGV[8], 1)
if fresh then
  redis.call('EXPIRE', KEYS[4], ARGV[9])
  redis.call('PUBLISH', ARGV[5], ARGV[6])
end
return {'ok'}
"""
)

# KEYS[4] polls index, KEYS[5] poll; ARGV[8] id, ARGV[9] question,
# ARGV[10] options (JSON), ARGV[11] option count, ARGV[12] visibility, ARGV[13] cap
_CREATE_POLL = (
    _AUDIENCE_PRELUDE
    + """
if redis.call('ZCARD', KEYS[4]) >= tonumber(ARGV[13]) then return {'full'} end
redis.call('HSET', KEYS[5], 'id', ARGV[8], 'question', ARGV[9], 'options', ARGV[10],
  'option_count', ARGV[11], 'visibility', ARGV[12], 'state', 'draft',
  'created_at', ARGV[3])
redis.call('EXPIRE', KEYS[5], ARGV[4])
redis.call('ZADD', KEYS[4], ARGV[3], ARGV[8])
redis.call('EXPIRE', KEYS[4], ARGV[4])
bump()
return {'ok'}
"""
)

# KEYS[4] poll, KEYS[5] ballots, KEYS[6] tallies; ARGV[8] identity, ARGV[9] option
_POLL_VOTE = (
    _AUDIENCE_PRELUDE
    + """
local poll = redis.call('HMGET', KEYS[4], 'state', 'option_count', 'visibility')
if not poll[1] then return {'no-poll'} end
if poll[1] ~= 'open' then return {'not-open', poll[1]} end
if tonumber(ARGV[9]) >= tonumber(poll[2]) then return {'option', poll[2]} end
local old = redis.call('HGET', KEYS[5], ARGV[8])
if old ~= ARGV[9] then
  redis.call('HSET', KEYS[5], ARGV[8], ARGV[9])
  redis.call('HINCRBY', KEYS[6], ARGV[9], 1)
  if old then redis.call('HINCRBY', KEYS[6], old, -1) end
  redis.call('EXPIRE', KEYS[5], ARGV[4])
  redis.call('EXPIRE', KEYS[6], ARGV[4])
  bump()
end
return {'ok', redis.call('HGETALL', KEYS[6]), poll[3], poll[2]}
"""
)

# Writes whose outcome a pure function decided (podium.audience): apply them if
# the records still hold what it decided from (compare-and-set, as apply_event).
# KEYS[4] record; ARGV[8] record's updated_at as read, ARGV[9] presentation's
# field as read, ARGV[10] that field's name, ARGV[11] its new value ('\0' =
# unchanged), ARGV[12..] record field, value pairs
_CHANGE = (
    _AUDIENCE_PRELUDE
    + """
if redis.call('EXISTS', KEYS[4]) == 0 then return {'missing'} end
if (redis.call('HGET', KEYS[4], 'updated_at') or '') ~= ARGV[8]
   or (redis.call('HGET', KEYS[1], ARGV[10]) or '') ~= ARGV[9] then
  return {'conflict'}
end
if #ARGV >= 12 then
  redis.call('HSET', KEYS[4], unpack(ARGV, 12))
end
if ARGV[11] ~= '\\0' then redis.call('HSET', KEYS[1], ARGV[10], ARGV[11]) end
bump()
return {'ok'}
"""
)

# A stage change decided by a pure transition (podium.stage) on what was read:
# written only if no other stage write came in between, told by the stage
# version being still the one read (compare-and-set, as _CHANGE).
# KEYS[4] stage; ARGV[8] stage version as read ('' = none), ARGV[9..] the
# whole new stage as slot, seat JSON pairs
_STAGE = (
    _AUDIENCE_PRELUDE
    + """
if (redis.call('HGET', KEYS[3], ARGV[7]) or '') ~= ARGV[8] then return {'conflict'} end
redis.call('DEL', KEYS[4])
if #ARGV >= 9 then
  redis.call('HSET', KEYS[4], unpack(ARGV, 9))
  redis.call('EXPIRE', KEYS[4], ARGV[4])
end
return {'ok', bump()}
"""
)

# ARGV[8] '1' moderated, '0' not
_SET_MODERATED = (
    _AUDIENCE_PRELUDE
    + """
if redis.call('HGET', KEYS[1], 'moderated') ~= ARGV[8] then
  redis.call('HSET', KEYS[1], 'moderated', ARGV[8])
  bump()
end
return {'ok'}
"""
)

# The presentation's audience data in one consistent snapshot, for the kinds
# asked for. KEYS[1] versions, [2] presentation, [3] questions index,
# [4] hands, [5] names, [6] polls index, [7] stage; ARGV[1] question key prefix,
# ARGV[2] poll key prefix, ARGV[3..] kinds
_READ_AUDIENCE = """
local want = {}
for i = 3, #ARGV do want[ARGV[i]] = true end
local questions, hands, names, polls, seats = {}, {}, {}, {}, {}
if want.questions then
  for i, id in ipairs(redis.call('ZRANGE', KEYS[3], 0, -1)) do
    local key = ARGV[1] .. id
    questions[i] = {redis.call('HGETALL', key), redis.call('SCARD', key .. ':voters')}
  end
end
if want.hands then
  hands = redis.call('ZRANGE', KEYS[4], 0, -1, 'WITHSCORES')
  for i = 1, #hands, 2 do
    names[#names + 1] = redis.call('HGET', KEYS[5], hands[i]) or ''
  end
end
if want.polls then
  for i, id in ipairs(redis.call('ZRANGE', KEYS[6], 0, -1)) do
    local key = ARGV[2] .. id
    polls[i] = {redis.call('HGETALL', key), redis.call('HGETALL', key .. ':tallies')}
  end
end
if want.stage then seats = redis.call('HGETALL', KEYS[7]) end
return {
  redis.call('HGETALL', KEYS[1]),
  redis.call('HMGET', KEYS[2], 'id', 'moderated', 'answering_now', 'ended_at'),
  questions, hands, names, polls, seats,
}
"""


@dataclass(frozen=True)
class AudienceOutcome:
    """What an audience write did: `status` 'ok' or why not, and its result."""

    status: str  # ok | rate | no-presentation | ended | full | no-question | ...
    result: tuple = ()
    retry_after: int = 0  # with 'rate': seconds until the counting window ends


@dataclass(frozen=True)
class AudienceSnapshot:
    """A presentation's audience data as stored (podium.audience shapes it)."""

    versions: dict[str, int]
    exists: bool
    moderated: bool
    answering_now: str
    ended: bool
    questions: list[dict]  # podium.audience.question_record, identities included
    hands: dict[str, int]  # identity -> first raised (ms)
    names: dict[str, str]  # of the identities with a raised hand
    polls: list[dict]  # podium.audience.poll_record
    stage: dict = field(default_factory=stage.empty)  # podium.stage state


def _pairs(flat: list) -> dict:
    return dict(zip(flat[::2], flat[1::2], strict=True))


def _stage_state(seats: dict[str, str]) -> dict:
    return {'slots': {slot: json.loads(seat) for slot, seat in seats.items()}}


STAGE_ATTEMPTS = 5  # concurrent stage writes are rare: the presenter and N people


@dataclass(frozen=True)
class StageOutcome:
    """What a stage change did: `status` 'ok' or why not, the stage after it,
    its version, and what the transition returned beside the state (a slot)."""

    status: str  # ok | no-presentation | ended | conflict
    state: dict
    version: int
    result: object = None


@dataclass(frozen=True)
class _AudienceCall:
    """One audience write script's keys and args, and how to read its answer."""

    keys: list[str]
    args: list
    retry_after: int

    def outcome(self, raw: list) -> AudienceOutcome:
        status, *result = raw
        return AudienceOutcome(
            status, tuple(result), self.retry_after if status == 'rate' else 0
        )


def _audience_call(
    presentation_id: str,
    kind: str,
    now: float,
    counted: tuple[str, str, int, int] | None,
    keys: list[str],
    args: list,
    message: str | None,
) -> _AudienceCall:
    """Keys and args of an audience write (the sync and the async stores share it)."""
    if counted:
        scope, identity, window, limit = counted
        index, retry_after = _window(window, now)
        counter = rate_limit_key(scope, identity, index)
        counter_ttl = window + 1  # never expires before its window ends
    else:
        counter, counter_ttl, limit, retry_after = rate_limit_key('-', '-', 0), 0, 0, 0
    return _AudienceCall(
        keys=[
            presentation_key(presentation_id),
            counter,
            audience_versions_key(presentation_id),
            *keys,
        ],
        args=[
            counter_ttl,
            limit,
            int(now * 1000),
            AUDIENCE_TTL,
            CHANGES_CHANNEL,
            message or change_message(presentation_id, kind),
            kind,
            *args,
        ],
        retry_after=retry_after,
    )


def _ask_call(presentation_id, question_id, text, identity, anonymous, max_questions):
    keys = [
        questions_key(presentation_id),
        question_key(presentation_id, question_id),
        names_key(presentation_id),
    ]
    return keys, [question_id, text, identity, '1' if anonymous else '0', max_questions]


def _vote_call(presentation_id, question_id, identity, voted):
    keys = [
        question_key(presentation_id, question_id),
        voters_key(presentation_id, question_id),
    ]
    return keys, [identity, '1' if voted else '0']


def _react_call(presentation_id, emoji, bucket):
    return (
        [reactions_key(presentation_id, bucket)],
        [emoji, REACTION_BUCKET_TTL],
        (change_message(presentation_id, 'reactions', str(bucket))),
    )


class AudienceStore:
    """The audience data of presentations, beside (and sharing) a `Store`."""

    def __init__(self, store: Store):
        self._store = store
        self._redis = client = store.client
        self._ask = client.register_script(_ASK)
        self._vote = client.register_script(_VOTE)
        self._hand = client.register_script(_HAND)
        self._react = client.register_script(_REACT)
        self._create_poll = client.register_script(_CREATE_POLL)
        self._poll_vote = client.register_script(_POLL_VOTE)
        self._change = client.register_script(_CHANGE)
        self._read_audience = client.register_script(_READ_AUDIENCE)
        self._set_moderated = client.register_script(_SET_MODERATED)
        self._stage = client.register_script(_STAGE)

    @property
    def base(self) -> Store:
        """The presentations and room state this audience data belongs to."""
        return self._store

    def read_names(self, presentation_id: str) -> dict[str, str]:
        """Return identity -> display name of everyone who gave one."""
        return self._redis.hgetall(names_key(ids.checked(presentation_id)))

    def _audience_write(
        self,
        script,
        presentation_id: str,
        kind: str,
        now: float,
        counted: tuple[str, str, int, int] | None,
        keys: list[str],
        args: list,
        message: str | None = None,
        retry_safe: bool = True,
    ) -> AudienceOutcome:
        """Run one audience write script; `counted` is (scope, identity, window,
        limit) to count the caller against, or None (the presenter).

        `retry_safe` False: the write must not run twice (see `HOT_RETRY`).
        """
        call = _audience_call(presentation_id, kind, now, counted, keys, args, message)
        raw = script(
            keys=call.keys,
            args=call.args,
            client=self._hot() if retry_safe else self._redis,
        )
        return call.outcome(raw)

    def _hot(self) -> redis.Redis:
        return self._store._hot()

    # Names ------------------------------------------------------------------------

    def set_display_name(self, presentation_id: str, identity: str, name: str) -> None:
        """Remember the name an attendee gave when joining."""
        key = names_key(presentation_id)
        with self._redis.pipeline(transaction=True) as pipe:
            pipe.hset(key, identity, name)
            pipe.expire(key, AUDIENCE_TTL)
            pipe.execute()

    # Writes -----------------------------------------------------------------------

    def ask_question(
        self,
        presentation_id: str,
        question_id: str,
        *,
        text: str,
        identity: str,
        anonymous: bool,
        now: float,
        counted: tuple[str, str, int, int] | None,
        max_questions: int,
    ) -> AudienceOutcome:
        """Store a question; result (state, name as stored)."""
        keys, args = _ask_call(
            presentation_id, question_id, text, identity, anonymous, max_questions
        )
        return self._audience_write(
            self._ask, presentation_id, 'questions', now, counted, keys, args
        )

    def vote_question(
        self,
        presentation_id: str,
        question_id: str,
        identity: str,
        voted: bool,
        *,
        now: float,
        counted: tuple[str, str, int, int] | None,
    ) -> AudienceOutcome:
        """Add or remove one upvote (idempotent); result (votes,)."""
        keys, args = _vote_call(presentation_id, question_id, identity, voted)
        return self._audience_write(
            self._vote, presentation_id, 'questions', now, counted, keys, args
        )

    def change_hand(
        self,
        presentation_id: str,
        operation: str,
        identity: str = '',
        *,
        now: float,
        counted: tuple[str, str, int, int] | None,
    ) -> AudienceOutcome:
        """Raise or lower a hand, or lower all ('raise' | 'lower' | 'clear')."""
        return self._audience_write(
            self._hand,
            presentation_id,
            'hands',
            now,
            counted,
            [hands_key(presentation_id)],
            [operation, identity],
        )

    def react(
        self,
        presentation_id: str,
        emoji: str,
        bucket: int,
        *,
        now: float,
        counted: tuple[str, str, int, int] | None,
    ) -> AudienceOutcome:
        """Count one reaction in the window `bucket`."""
        keys, args, message = _react_call(presentation_id, emoji, bucket)
        return self._audience_write(
            self._react,
            presentation_id,
            'reactions',
            now,
            counted,
            keys,
            args,
            message=message,
            retry_safe=False,  # HINCRBY: a second run would count it twice
        )

    def reaction_counts(self, presentation_id: str, bucket: int) -> dict[str, int]:
        raw = self._redis.hgetall(reactions_key(presentation_id, bucket))
        return {emoji: int(count) for emoji, count in raw.items()}

    def create_poll(
        self,
        presentation_id: str,
        poll_id: str,
        *,
        question: str,
        options: list[str],
        visibility: str,
        now: float,
        max_polls: int,
    ) -> AudienceOutcome:
        return self._audience_write(
            self._create_poll,
            presentation_id,
            'polls',
            now,
            None,
            [polls_key(presentation_id), poll_key(presentation_id, poll_id)],
            [
                poll_id,
                question,
                _dump(options),
                len(options),
                visibility,
                max_polls,
            ],
        )

    def vote_poll(
        self,
        presentation_id: str,
        poll_id: str,
        identity: str,
        option: int,
        *,
        now: float,
        counted: tuple[str, str, int, int] | None,
    ) -> AudienceOutcome:
        """Cast or change a ballot; result (tallies as flat pairs, visibility,
        option count)."""
        return self._audience_write(
            self._poll_vote,
            presentation_id,
            'polls',
            now,
            counted,
            [
                poll_key(presentation_id, poll_id),
                ballots_key(presentation_id, poll_id),
                tallies_key(presentation_id, poll_id),
            ],
            [identity, option],
        )

    def change_record(
        self,
        presentation_id: str,
        kind: str,
        record_key: str,
        read_updated_at: str,
        field: str,
        read_value: str,
        new_value: str | None,
        fields: dict[str, str],
        *,
        now: float,
    ) -> AudienceOutcome:
        """Write a presenter's decided change if nothing changed since it was read.

        `record_key` is a question's or a poll's key (see `question_key`,
        `poll_key`); `field` a presentation field the change may set too.
        Status 'conflict' means: read again and decide again.
        """
        pairs = [item for pair in fields.items() for item in pair]
        return self._audience_write(
            self._change,
            presentation_id,
            kind,
            now,
            None,
            [record_key],
            [
                read_updated_at,
                read_value,
                field,
                '\0' if new_value is None else new_value,
                *pairs,
            ],
        )

    def set_moderated(
        self, presentation_id: str, moderated: bool, *, now: float
    ) -> AudienceOutcome:
        """Switch moderated mode (new questions wait for the presenter's approval)."""
        return self._audience_write(
            self._set_moderated,
            presentation_id,
            'questions',
            now,
            None,
            [],
            ['1' if moderated else '0'],
        )

    def get_record(self, key: str) -> dict[str, str]:
        """Return a question's or poll's stored hash ({} if none)."""
        return self._redis.hgetall(key)

    # Reads ------------------------------------------------------------------------

    def read_audience(
        self, presentation_id: str, kinds: Iterable[str]
    ) -> AudienceSnapshot:
        """Return the kinds' data and every audience version, in one snapshot."""
        versions, presentation, questions, hands, names, polls, seats = (
            self._read_audience(
                keys=[
                    audience_versions_key(presentation_id),
                    presentation_key(presentation_id),
                    questions_key(presentation_id),
                    hands_key(presentation_id),
                    names_key(presentation_id),
                    polls_key(presentation_id),
                    stage_key(presentation_id),
                ],
                args=[
                    question_key(presentation_id, ''),
                    poll_key(presentation_id, ''),
                    *kinds,
                ],
            )
        )
        raised = _pairs(hands)
        return AudienceSnapshot(
            versions={k: int(v) for k, v in _pairs(versions).items()},
            exists=presentation[0] is not None,
            moderated=presentation[1] == '1',
            answering_now=presentation[2] or '',
            ended=bool(presentation[3]),
            questions=[
                audience.question_record(_pairs(flat), int(votes))
                for flat, votes in questions
                if flat
            ],
            hands={identity: int(float(at)) for identity, at in raised.items()},
            names={
                identity: name
                for identity, name in zip(raised, names, strict=True)
                if name
            },
            polls=[
                audience.poll_record(_pairs(flat), _pairs(tallies))
                for flat, tallies in polls
                if flat
            ],
            stage=_stage_state(_pairs(seats)),
        )

    def voted_questions(
        self, presentation_id: str, identity: str, question_ids: list[str]
    ) -> set[str]:
        """Return which of the questions `identity` has upvoted."""
        if not question_ids:
            return set()
        with self._redis.pipeline(transaction=False) as pipe:
            for qid in question_ids:
                pipe.sismember(voters_key(presentation_id, qid), identity)
            found = pipe.execute()
        return {qid for qid, yes in zip(question_ids, found, strict=True) if yes}

    def ballots_of(
        self, presentation_id: str, identity: str, poll_ids: list[str]
    ) -> dict[str, int]:
        """Return the option `identity` chose in each of the polls it voted in."""
        if not poll_ids:
            return {}
        with self._redis.pipeline(transaction=False) as pipe:
            for poll_id in poll_ids:
                pipe.hget(ballots_key(presentation_id, poll_id), identity)
            found = pipe.execute()
        return {
            poll_id: int(option)
            for poll_id, option in zip(poll_ids, found, strict=True)
            if option is not None
        }

    # Stage ------------------------------------------------------------------------

    def read_stage(self, presentation_id: str) -> tuple[dict, int]:
        """Return the stage state (podium.stage) and its version."""
        with self._redis.pipeline(transaction=True) as pipe:
            pipe.hgetall(stage_key(presentation_id))
            pipe.hget(audience_versions_key(presentation_id), audience.STAGE)
            seats, version = pipe.execute()
        return _stage_state(seats), int(version or 0)

    def change_stage(
        self,
        presentation_id: str,
        transition: Callable[[dict], tuple[dict, object]],
        *,
        now: float,
    ) -> StageOutcome:
        """Apply `transition` (state -> (new state, result)) to the stored stage.

        The transition runs on what was read and its result is written only if
        the stage did not move on meanwhile; otherwise it runs again on the new
        state. A podium.stage.StageError it raises goes to the caller. A
        transition that changes nothing writes nothing and publishes nothing.
        """
        for _ in range(STAGE_ATTEMPTS):
            state, version = self.read_stage(presentation_id)
            new_state, result = transition(state)
            if new_state == state:
                return StageOutcome('ok', state, version, result)
            pairs = [
                item
                for slot, seat in sorted(new_state['slots'].items())
                for item in (slot, json.dumps(seat, separators=(',', ':')))
            ]
            outcome = self._audience_write(
                self._stage,
                presentation_id,
                audience.STAGE,
                now,
                None,
                [stage_key(presentation_id)],
                [str(version) if version else '', *pairs],
            )
            if outcome.status != 'conflict':
                written = int(outcome.result[0]) if outcome.status == 'ok' else version
                return StageOutcome(outcome.status, new_state, written, result)
        return StageOutcome('conflict', state, version)


def async_client(url: str):
    """Return a redis.asyncio client on `url` with a bounded, blocking pool.

    Beyond ASYNC_POOL_CONNECTIONS requests in flight, a request waits for a
    connection (Redis runs one command at a time anyway) instead of failing.
    """
    import redis.asyncio

    pool = redis.asyncio.BlockingConnectionPool.from_url(
        url,
        decode_responses=True,
        max_connections=ASYNC_POOL_CONNECTIONS,
        timeout=ASYNC_POOL_WAIT,
    )
    return redis.asyncio.Redis(connection_pool=pool)


class _AsyncRedisUser:
    """What the event-loop stores share: their client, its pool's close and ping."""

    @property
    def client(self):
        return self._redis

    async def close(self) -> None:
        await self._redis.aclose()

    async def ping(self) -> bool:
        return bool(await self._redis.ping())


class AsyncTokenStore(_AsyncRedisUser):
    """The token service's hot path on redis.asyncio, for its event-loop worker.

    The same script, keys and values as `Store.count_and_read_presentation`,
    `Store.count_request` and `AudienceStore.set_display_name`.
    """

    def __init__(self, client):
        self._redis = client
        self._count_and_read = client.register_script(_COUNT_AND_READ_PRESENTATION)

    @classmethod
    def from_url(cls, url: str) -> AsyncTokenStore:
        return cls(async_client(url))

    async def count_request(
        self, scope: str, client: str, window: int, now: float
    ) -> tuple[int, int]:
        """As `Store.count_request`."""
        index, retry_after = _window(window, now)
        key = rate_limit_key(scope, client, index)
        async with self._redis.pipeline(transaction=True) as pipe:
            pipe.incr(key)
            pipe.expire(key, window + 1)
            count, _ = await pipe.execute()
        return int(count), retry_after

    async def count_and_read_presentation(
        self,
        presentation_id: str | None,
        counted: tuple[str, str] | None,
        window: int,
        now: float,
    ) -> PresentationReads:
        """As `Store.count_and_read_presentation`: one round trip."""
        if presentation_id is None:
            count, retry_after = (
                await self.count_request(*counted, window, now)
                if counted
                else (None, 0)
            )
            return PresentationReads(count, retry_after, None, None)
        keys, args, retry_after = _count_and_read_call(
            presentation_id, counted, window, now
        )
        raw = await self._count_and_read(keys=keys, args=args)
        return _presentation_reads(raw, retry_after)

    async def set_display_name(
        self, presentation_id: str, identity: str, name: str
    ) -> None:
        """As `AudienceStore.set_display_name`."""
        key = names_key(presentation_id)
        async with self._redis.pipeline(transaction=True) as pipe:
            pipe.hset(key, identity, name)
            pipe.expire(key, AUDIENCE_TTL)
            await pipe.execute()


class AsyncRoomState(_AsyncRedisUser):
    """`Store.apply_event` on redis.asyncio, for an event-loop webhooks worker.

    The same compare-and-set script, keys and values as the sync Store (both go
    through `_MergeTarget`), on one event loop's connection pool. The guesses
    it remembers are per process, like the sync Store's.
    """

    def __init__(self, client):
        self._redis = client
        self._apply_if_unchanged = client.register_script(_APPLY_IF_UNCHANGED)
        self._last_seen = _LastSeen()

    @classmethod
    def from_url(cls, url: str) -> AsyncRoomState:
        """Return room state on the Redis at `url`, through a bounded pool.

        A join storm puts hundreds of callbacks in flight at once: beyond
        ASYNC_POOL_CONNECTIONS they wait for a connection (Redis runs one
        command at a time anyway) instead of failing with a 503.
        """
        return cls(async_client(url))

    async def apply_event(self, event: RoomEvent) -> bool:
        """Merge one callback into the stored state atomically; True if it changed."""
        target = _merge_target(event)
        if target is None:
            return False
        raw = self._last_seen.get(target.key)
        guessed = True
        while True:
            new = target.merged(raw, event)
            if new is None:
                if not guessed:
                    return False
                # As in Store.apply_event: "already known" only from a real read.
                raw, guessed = await self._redis.get(target.key), False
                self._last_seen.remember(target.key, raw)
                continue
            keys, args = target.compare_and_set(event, raw, new)
            applied, *current = await self._apply_if_unchanged(keys=keys, args=args)
            if applied:
                self._last_seen.remember(target.key, args[1])
                return True
            raw, guessed = (current[0] if current else None), False
            self._last_seen.remember(target.key, raw)


class InlineRoomState:
    """`AsyncRoomState`'s interface over a sync `Store`, called inline.

    For an app given only a sync Store (tests on fakeredis, scripts): each call
    blocks the event loop for one Redis round trip. Deployed workers get an
    `AsyncRoomState` instead.
    """

    def __init__(self, store: Store):
        self._store = store

    async def apply_event(self, event: RoomEvent) -> bool:
        return self._store.apply_event(event)

    async def ping(self) -> bool:
        return bool(self._store.client.ping())

    async def close(self) -> None:
        """Nothing to close: the Store belongs to whoever made it."""


class AsyncAudienceWrites:
    """The audience's hot writes (ask, upvote, react) on redis.asyncio.

    The same scripts, keys and values as `AudienceStore`'s (both build their
    calls with `_audience_call`), on the token worker's event-loop pool: a vote
    is one EVALSHA awaited on the loop, no thread.
    """

    def __init__(self, client):
        self._ask = client.register_script(_ASK)
        self._vote = client.register_script(_VOTE)
        self._react = client.register_script(_REACT)

    async def _write(self, script, call: _AudienceCall) -> AudienceOutcome:
        return call.outcome(await script(keys=call.keys, args=call.args))

    async def ask_question(
        self,
        presentation_id,
        question_id,
        *,
        text,
        identity,
        anonymous,
        now,
        counted,
        max_questions,
    ) -> AudienceOutcome:
        """As `AudienceStore.ask_question`."""
        keys, args = _ask_call(
            presentation_id, question_id, text, identity, anonymous, max_questions
        )
        call = _audience_call(
            presentation_id, 'questions', now, counted, keys, args, None
        )
        return await self._write(self._ask, call)

    async def vote_question(
        self, presentation_id, question_id, identity, voted, *, now, counted
    ) -> AudienceOutcome:
        """As `AudienceStore.vote_question`."""
        keys, args = _vote_call(presentation_id, question_id, identity, voted)
        call = _audience_call(
            presentation_id, 'questions', now, counted, keys, args, None
        )
        return await self._write(self._vote, call)

    async def react(
        self, presentation_id, emoji, bucket, *, now, counted
    ) -> AudienceOutcome:
        """As `AudienceStore.react`."""
        keys, args, message = _react_call(presentation_id, emoji, bucket)
        call = _audience_call(
            presentation_id, 'reactions', now, counted, keys, args, message
        )
        return await self._write(self._react, call)


class InlineAudienceWrites:
    """`AsyncAudienceWrites`'s interface over a sync `AudienceStore`, inline.

    For an app given only a sync Store (tests on fakeredis); deployed workers
    get an `AsyncAudienceWrites`.
    """

    def __init__(self, audience: AudienceStore):
        self._audience = audience

    async def ask_question(self, *args, **kwargs) -> AudienceOutcome:
        return self._audience.ask_question(*args, **kwargs)

    async def vote_question(self, *args, **kwargs) -> AudienceOutcome:
        return self._audience.vote_question(*args, **kwargs)

    async def react(self, *args, **kwargs) -> AudienceOutcome:
        return self._audience.react(*args, **kwargs)


class SyncTokenStore:
    """`AsyncTokenStore`'s interface over a sync `Store`, called inline.

    For an app given only a sync Store (tests on fakeredis, scripts); deployed
    workers get an `AsyncTokenStore`.
    """

    def __init__(self, store: Store):
        self._store = store
        self._audience = AudienceStore(store)

    async def count_and_read_presentation(self, *args) -> PresentationReads:
        return self._store.count_and_read_presentation(*args)

    async def set_display_name(self, *args) -> None:
        self._audience.set_display_name(*args)

    async def ping(self) -> bool:
        return bool(self._store.client.ping())

    async def close(self) -> None:
        """Nothing to close: the Store belongs to whoever made it."""
