"""Store: keys, TTLs, atomic merges and views, on fakeredis and a real redis-server."""

from __future__ import annotations

import threading
from concurrent.futures import ThreadPoolExecutor

from podium.room_state import RoomEvent
from podium.store import (
    CHANGES_CHANNEL,
    PRESENTATION_TTL,
    ROOM_STATE_TTL,
    Store,
    attendees_key,
    participant_key,
    presentation_key,
    presenters_key,
    room_key,
    version_key,
)

PRESENTATION = 'abc'
ROOM = 'RM1'


def event(name: str, ts: int = 1, room: str = ROOM, **fields) -> RoomEvent:
    return RoomEvent(
        name=name,
        room_sid=room,
        room_name='podium-' + PRESENTATION,
        timestamp=ts,
        **fields,
    )


def attendee(name: str, sid: str, ts: int = 1, **fields) -> RoomEvent:
    return event(
        name, ts, participant_sid=sid, identity='attendee-' + sid.lower(), **fields
    )


def presenter(name: str, sid: str = 'PA0', ts: int = 1, **fields) -> RoomEvent:
    return event(name, ts, participant_sid=sid, identity='presenter', **fields)


def seed(store: Store, room: str | None = ROOM) -> None:
    assert store.create_presentation({'id': PRESENTATION, 'title': 'Talk'})
    if room:
        store.set_room(PRESENTATION, room, 0)


# Presentations -----------------------------------------------------------------


def test_create_presentation_refuses_a_taken_id(store):
    assert store.create_presentation({'id': 'p1', 'title': 'First'})
    assert not store.create_presentation({'id': 'p1', 'title': 'Second'})
    assert store.get_presentation('p1') == {'id': 'p1', 'title': 'First'}
    ttl = store.client.ttl(presentation_key('p1'))
    assert 0 < ttl <= PRESENTATION_TTL


def test_unknown_presentation(store):
    assert store.get_presentation('nope') is None
    assert store.read_view('nope') is None


def test_end_presentation_once(store):
    seed(store)
    version = store.read_view(PRESENTATION)['version']
    assert store.end_presentation(PRESENTATION, 1234)
    assert not store.end_presentation(PRESENTATION, 5678)
    assert store.get_presentation(PRESENTATION)['ended_at'] == '1234'
    view = store.read_view(PRESENTATION)
    assert view['status'] == 'ended'
    assert view['version'] > version


def test_set_room_bumps_the_version_only_when_the_room_changes(store):
    seed(store, room=None)
    assert store.read_view(PRESENTATION)['room'] == {
        'sid': None,
        'status': 'in-progress',
    }
    store.set_room(PRESENTATION, ROOM, 1)
    version = store.read_view(PRESENTATION)['version']
    store.set_room(PRESENTATION, ROOM, 2)
    assert store.read_view(PRESENTATION)['version'] == version
    assert store.get_presentation(PRESENTATION)['room_checked_at'] == '2'
    store.set_room(PRESENTATION, 'RM2', 3)
    assert store.read_view(PRESENTATION)['version'] == version + 1
    assert store.read_view(PRESENTATION)['room']['sid'] == 'RM2'


# Room state ----------------------------------------------------------------------


def test_apply_event_reports_changes_and_ignores_duplicates(store):
    seed(store)
    assert store.apply_event(attendee('participant-connected', 'PA1'))
    version = store.read_view(PRESENTATION)['version']
    assert not store.apply_event(attendee('participant-connected', 'PA1'))
    assert store.read_view(PRESENTATION)['version'] == version


def test_apply_event_ignores_rooms_that_are_not_ours(store):
    foreign = RoomEvent(
        name='room-created', room_sid=ROOM, room_name='standup', timestamp=1
    )
    assert not store.apply_event(foreign)
    assert store.client.keys('*') == []


def test_room_state_keys_expire(store):
    seed(store)
    store.apply_event(event('room-created'))
    store.apply_event(presenter('participant-connected'))
    store.apply_event(attendee('participant-connected', 'PA1'))
    for key in (
        room_key(ROOM),
        participant_key(ROOM, 'PA0'),
        presenters_key(ROOM),
        attendees_key(ROOM),
    ):
        assert 0 < store.client.ttl(key) <= ROOM_STATE_TTL, key
    assert 0 < store.client.ttl(version_key(PRESENTATION)) <= PRESENTATION_TTL


def test_connected_attendees(store):
    seed(store)
    for sid in ('PA1', 'PA2', 'PA3'):
        store.apply_event(attendee('participant-connected', sid))
    store.apply_event(attendee('participant-disconnected', 'PA2', ts=5))
    store.apply_event(presenter('participant-connected'))
    assert [r['sid'] for r in store.connected_attendees(ROOM)] == ['PA1', 'PA3']
    assert store.read_view(PRESENTATION)['attendees']['count'] == 2


def test_view_follows_the_presentation_current_room(store):
    seed(store)
    store.apply_event(presenter('participant-connected'))
    store.apply_event(attendee('participant-connected', 'PA1'))
    assert store.read_view(PRESENTATION)['status'] == 'live'
    # The room ended and a new one was created: the old room's people do not count.
    store.set_room(PRESENTATION, 'RM2', 10)
    view = store.read_view(PRESENTATION)
    assert view['status'] == 'waiting'
    assert view['attendees']['count'] == 0
    assert view['room'] == {'sid': 'RM2', 'status': 'in-progress'}
    store.apply_event(attendee('participant-connected', 'PA7', room='RM2'))
    assert store.read_view(PRESENTATION)['attendees']['count'] == 1


def test_apply_event_publishes_the_presentation_id(store):
    seed(store)
    pubsub = store.client.pubsub()
    pubsub.subscribe(CHANGES_CHANNEL)
    assert pubsub.get_message(timeout=1)['type'] == 'subscribe'
    store.apply_event(presenter('participant-connected'))
    assert pubsub.get_message(timeout=1)['data'] == PRESENTATION
    store.apply_event(presenter('participant-connected'))  # a duplicate: no news
    assert pubsub.get_message(timeout=0.05) is None
    pubsub.close()


# On a real redis-server, from many threads ------------------------------------------


def run_concurrently(events: list[RoomEvent], store: Store, threads: int = 8) -> None:
    start = threading.Barrier(threads)

    def work(chunk: list[RoomEvent]) -> None:
        start.wait()
        for item in chunk:
            store.apply_event(item)

    with ThreadPoolExecutor(threads) as pool:
        for future in [pool.submit(work, events[i::threads]) for i in range(threads)]:
            future.result()


def test_concurrent_connections_are_all_counted(real_store):
    seed(real_store)
    version = real_store.read_view(PRESENTATION)['version']
    events = [attendee('participant-connected', f'PA{i:04d}') for i in range(200)]
    # Every callback twice, as Twilio may: duplicates must not count twice.
    run_concurrently(events + events, real_store)
    view = real_store.read_view(PRESENTATION)
    assert view['attendees']['count'] == 200
    assert view['version'] == version + 200


def test_concurrent_track_events_on_one_participant_all_land(real_store):
    # Every event rewrites the same participant record: WATCH must retry, not lose one.
    seed(real_store)
    events = [presenter('participant-connected')]
    events += [
        presenter('track-added', ts=10 + i, track_sid=f'MT{i:03d}', track_kind='video')
        for i in range(64)
    ]
    events += [
        presenter(
            'track-disabled', ts=100 + i, track_sid=f'MT{i:03d}', track_kind='video'
        )
        for i in range(0, 64, 2)
    ]
    run_concurrently(events, real_store)
    tracks = real_store.read_view(PRESENTATION)['presenter']['tracks']
    assert len(tracks) == 64
    assert sum(not t['enabled'] for t in tracks) == 32


def test_concurrent_connect_and_disconnect_end_disconnected(real_store):
    seed(real_store)
    events = []
    for i in range(100):
        sid = f'PA{i:04d}'
        events += [
            attendee('participant-disconnected', sid, ts=5),
            attendee('participant-connected', sid, ts=1),
        ]
    run_concurrently(events, real_store)
    assert real_store.read_view(PRESENTATION)['attendees']['count'] == 0
    assert real_store.client.scard(attendees_key(ROOM)) == 0


def test_concurrent_mixed_history_matches_sequential(real_store, store):
    seed(real_store)
    seed(store)
    events = [event('room-created')]
    for i in range(40):
        sid = f'PA{i:04d}'
        events.append(attendee('participant-connected', sid, ts=10 + i))
        if i % 3 == 0:
            events.append(attendee('participant-disconnected', sid, ts=100 + i))
    for item in events:
        store.apply_event(item)
    run_concurrently(list(reversed(events)), real_store)
    real, expected = real_store.read_view(PRESENTATION), store.read_view(PRESENTATION)
    real.pop('version')
    expected.pop('version')
    assert real == expected
    assert real['attendees']['count'] == 40 - 14
