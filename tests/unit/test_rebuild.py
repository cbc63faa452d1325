"""podium.rebuild: room state back from the Rooms API, converging with callbacks."""

from __future__ import annotations

import itertools
from datetime import UTC, datetime
from types import SimpleNamespace

import fakeredis
import pytest
from twilio.base.exceptions import TwilioRestException

from podium import room_state
from podium.rebuild import LOCK_TTL_MS, Rebuilder, StateWatcher
from podium.room_state import RoomEvent
from podium.store import STATE_EPOCH_KEY, Store, room_key

T0 = datetime(2024, 5, 1, 12, 0, 0, tzinfo=UTC)
T0_MS = int(T0.timestamp() * 1000)
NOW = T0.timestamp() + 60  # the rebuild reads a minute into the talk
ROOM = 'RM' + 'a' * 32
NAME = 'podium-talk1'
PRESENTER = 'PA' + '1' * 32
ALICE = 'PA' + '2' * 32
BOB = 'PA' + '3' * 32
CAMERA = 'MT' + '1' * 32


def at(seconds: float) -> datetime:
    return datetime.fromtimestamp(T0.timestamp() + seconds, UTC)


def not_found() -> TwilioRestException:
    return TwilioRestException(404, 'https://video.example/v1', 'not found', 20404)


class FakeRoomsApi:
    """The shape of twilio-python's Video v1 rooms API that the rebuild uses."""

    def __init__(self):
        self.rooms: dict[str, SimpleNamespace] = {}
        self.participants: dict[str, SimpleNamespace] = {}
        self.tracks: dict[str, list[SimpleNamespace]] = {}
        self.calls = 0
        self.video = SimpleNamespace(v1=SimpleNamespace(rooms=self._rooms_list()))

    def room(self, sid=ROOM, name=NAME, created=0.0, status='in-progress', ended=None):
        self.rooms[sid] = SimpleNamespace(
            sid=sid,
            unique_name=name,
            status=status,
            date_created=at(created),
            end_time=None if ended is None else at(ended),
        )

    def join(self, sid, identity, when, room=ROOM):
        self.participants[sid] = SimpleNamespace(
            sid=sid,
            room_sid=room,
            identity=identity,
            status='connected',
            start_time=at(when),
            date_created=at(when),
            end_time=None,
        )

    def leave(self, sid, when):
        self.participants[sid].status = 'disconnected'
        self.participants[sid].end_time = at(when)
        self.tracks.pop(sid, None)

    def publish(self, participant, sid, kind, name, when, enabled=True):
        self.tracks.setdefault(participant, []).append(
            SimpleNamespace(
                sid=sid, kind=kind, name=name, enabled=enabled, date_created=at(when)
            )
        )

    def _rooms_list(self):
        api = self

        class Rooms:
            def list(self, status=None):
                api.calls += 1
                return [r for r in api.rooms.values() if r.status == status]

            def __call__(self, sid):
                return api._room_context(sid)

        return Rooms()

    def _room_context(self, room_sid):
        api = self

        def fetch():
            api.calls += 1
            if room_sid not in api.rooms:
                raise not_found()
            return api.rooms[room_sid]

        class Participants:
            def list(self, status=None):
                api.calls += 1
                return [
                    p
                    for p in api.participants.values()
                    if p.room_sid == room_sid and p.status == status
                ]

            def __call__(self, sid):
                def fetch_participant():
                    api.calls += 1
                    if sid not in api.participants:
                        raise not_found()
                    return api.participants[sid]

                return SimpleNamespace(
                    fetch=fetch_participant,
                    published_tracks=SimpleNamespace(
                        list=lambda: list(api.tracks.get(sid, []))
                    ),
                )

        return SimpleNamespace(fetch=fetch, participants=Participants())


@pytest.fixture
def api():
    fake = FakeRoomsApi()
    fake.room()
    fake.join(PRESENTER, 'presenter', 1)
    fake.publish(PRESENTER, CAMERA, 'video', 'camera', 2)
    fake.join(ALICE, 'attendee-a1', 3)
    fake.join(BOB, 'attendee-b2', 4)
    return fake


def rebuilder(store, api) -> Rebuilder:
    return Rebuilder(store, api, clock=lambda: NOW)


def callback(name, seconds, **fields) -> RoomEvent:
    return RoomEvent(
        name, room_sid=ROOM, room_name=NAME, timestamp=T0_MS + int(seconds * 1000),
        **fields,
    )  # fmt: skip


def records(store) -> dict:
    """Every room-state record in the store (not versions or presentations)."""
    client = store.client
    return {
        key: client.get(key)
        if client.type(key) == 'string'
        else sorted(client.smembers(key))
        for key in client.keys(room_key('*'))
    }


def test_rebuilds_a_lost_presentation_from_the_rooms_api(store, api):
    pubsub = store.client.pubsub()
    pubsub.subscribe('podium:changes')

    report = rebuilder(store, api).rebuild()

    view = store.read_view('talk1')
    assert view['title'] == ''  # lost with Redis; pages show "Untitled presentation"
    assert view['status'] == 'live'
    assert view['room'] == {'sid': ROOM, 'status': 'in-progress'}
    assert view['presenter']['connected'] is True
    assert [(t['sid'], t['kind'], t['name']) for t in view['presenter']['tracks']] == [
        (CAMERA, 'video', 'camera')
    ]
    assert view['attendees']['count'] == 2
    # Above any version a page saw before the loss: open streams move on to it.
    assert view['version'] > int(NOW * 1000)
    assert (report.rooms, report.presentations_restored, report.participants) == (
        1,
        1,
        3,
    )
    pubsub.get_message(timeout=0.1)  # the subscribe confirmation
    message = pubsub.get_message(timeout=0.1)
    assert message is not None and message['data'] == 'talk1'


def test_rebuilding_twice_changes_nothing(store, api):
    rebuilder(store, api).rebuild()
    before = records(store), store.read_view('talk1')

    report = rebuilder(store, api).rebuild()

    assert report.changes == 0
    assert (records(store), store.read_view('talk1')) == before


def test_keeps_a_title_and_points_to_the_open_room(store, api):
    store.create_presentation({'id': 'talk1', 'title': 'Kept', 'room_name': NAME})
    rebuilder(store, api).rebuild()
    view = store.read_view('talk1')
    assert view['title'] == 'Kept'
    assert view['room']['sid'] == ROOM
    assert view['attendees']['count'] == 2


def test_ignores_rooms_that_are_not_podiums(store, api):
    api.room(sid='RM' + 'b' * 32, name='someone-else')
    assert rebuilder(store, api).rebuild().rooms == 1


# Convergence: the rebuild is one more source of events for the same merges. ------

# What the callbacks say (millisecond timestamps), with Bob leaving after the read.
CALLBACKS = [
    callback('room-created', 0.2),
    callback('participant-connected', 1.3, participant_sid=PRESENTER,
             identity='presenter'),
    callback('track-added', 2.4, participant_sid=PRESENTER, identity='presenter',
             track_sid=CAMERA, track_kind='video', track_name='camera'),
    callback('participant-connected', 3.5, participant_sid=ALICE,
             identity='attendee-a1'),
    callback('participant-connected', 4.6, participant_sid=BOB,
             identity='attendee-b2'),
    callback('track-disabled', 70, participant_sid=PRESENTER, identity='presenter',
             track_sid=CAMERA, track_kind='video', track_name='camera'),
    callback('participant-disconnected', 71, participant_sid=BOB,
             identity='attendee-b2'),
]  # fmt: skip


@pytest.mark.parametrize('position', range(len(CALLBACKS) + 1))
def test_rebuild_converges_with_callbacks_in_any_position(api, position):
    def run(split: int):
        store = Store(
            fakeredis.FakeRedis(server=fakeredis.FakeServer(), decode_responses=True)
        )
        for event in CALLBACKS[:split]:
            store.apply_event(event)
        rebuilder(store, api).rebuild()
        for event in CALLBACKS[split:]:
            store.apply_event(event)
        view = store.read_view('talk1')
        return records(store), {k: v for k, v in view.items() if k != 'version'}

    everything_first = run(len(CALLBACKS))
    assert run(position) == everything_first
    _, view = everything_first
    assert view['attendees']['count'] == 1  # Bob left after the read
    assert view['presenter']['tracks'][0]['enabled'] is False  # disabled after it


def test_callbacks_in_any_order_around_a_rebuild(api):
    results = set()
    for order in itertools.islice(itertools.permutations(CALLBACKS[3:]), 24):
        store = Store(
            fakeredis.FakeRedis(server=fakeredis.FakeServer(), decode_responses=True)
        )
        store.apply_event(order[0])
        rebuilder(store, api).rebuild()
        for event in order[1:]:
            store.apply_event(event)
        results.add(str(sorted(records(store).items())))
    assert len(results) == 1


# What callbacks missed (webhooks down longer than the retries) --------------------


def test_finds_a_disconnect_whose_callback_was_lost(store, api):
    rebuilder(store, api).rebuild()
    api.leave(ALICE, 30)

    report = rebuilder(store, api).rebuild()

    assert report.disconnected == 1
    assert store.read_view('talk1')['attendees']['count'] == 1
    record = store.connected_attendees(ROOM)
    assert [r['sid'] for r in record] == [BOB]


def test_finds_a_room_end_whose_callback_was_lost(store, api):
    rebuilder(store, api).rebuild()
    api.rooms[ROOM].status = 'completed'
    api.rooms[ROOM].end_time = at(50)

    report = rebuilder(store, api).rebuild()

    assert report.rooms_ended == 1
    view = store.read_view('talk1')
    assert view['room']['status'] == 'completed'
    assert view['attendees']['count'] == 0


def test_finds_an_unpublish_whose_callback_was_lost(store, api):
    rebuilder(store, api).rebuild()
    api.tracks[PRESENTER] = []
    rebuilder(store, api).rebuild()
    assert store.read_view('talk1')['presenter']['tracks'] == []


def test_keeps_a_track_added_after_the_read(store, api):
    rebuilder(store, api).rebuild()
    late = 'MT' + '9' * 32
    store.apply_event(
        callback('track-added', 61, participant_sid=PRESENTER, identity='presenter',
                 track_sid=late, track_kind='audio', track_name='mic')
    )  # fmt: skip
    rebuilder(store, api).rebuild()  # its list predates the new track
    tracks = store.read_view('talk1')['presenter']['tracks']
    assert late in {t['sid'] for t in tracks}


# The watcher: when to rebuild, and only one at a time ------------------------------


class CountingRebuilder:
    def __init__(self, fail: bool = False):
        self.calls = 0
        self.fail = fail

    def rebuild(self):
        self.calls += 1
        if self.fail:
            raise RuntimeError('the Rooms API is down')


def watcher(store, rebuild, now=NOW) -> StateWatcher:
    return StateWatcher(store, rebuild, clock=lambda: now)


def test_rebuilds_when_the_epoch_is_missing_and_only_then(store):
    rebuild = CountingRebuilder()
    assert watcher(store, rebuild).check() is True
    assert store.state_epoch() is not None
    assert watcher(store, rebuild).check() is False
    store.client.flushall()  # Redis restarted empty
    assert watcher(store, rebuild).check() is True
    assert rebuild.calls == 2


def test_one_rebuild_at_a_time(store):
    rebuild = CountingRebuilder()
    assert store.acquire_rebuild_lock('other-worker', LOCK_TTL_MS)
    assert watcher(store, rebuild).check() is False
    assert rebuild.calls == 0
    store.release_rebuild_lock('other-worker')
    assert watcher(store, rebuild).check() is True


def test_a_failed_rebuild_is_retried(store):
    failing = CountingRebuilder(fail=True)
    with pytest.raises(RuntimeError):
        watcher(store, failing).check()
    assert store.client.get(STATE_EPOCH_KEY) is None  # so the next check retries
    assert store.acquire_rebuild_lock('next', LOCK_TTL_MS)  # and the lock is free


def test_start_rebuilds_unless_one_just_ran(store):
    rebuild = CountingRebuilder()
    assert watcher(store, rebuild).check(at_start=True) is True
    # Another worker of the same start: the rebuild a moment ago is enough.
    assert watcher(store, rebuild, NOW + 1).check(at_start=True) is False
    # A worker started (or recycled) much later checks again.
    assert watcher(store, rebuild, NOW + 3600).check(at_start=True) is True
    assert rebuild.calls == 2


def test_presentation_ids_come_from_room_names():
    assert room_state.presentation_id_for(NAME) == 'talk1'
