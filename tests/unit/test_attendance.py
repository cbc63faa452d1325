"""The attendance report: pure, order-proof, and stored beside the presentation.

The property: for a generated callback log (attendees who join, leave, reload
under the same identity), any delivery order with duplicates gives the same
peak and unique counts as walking the in-order log by hand.
"""

from __future__ import annotations

import fakeredis
from hypothesis import HealthCheck, given, settings
from hypothesis import strategies as st

from podium import attendance
from podium.room_state import InvalidEvent, RoomEvent, merge_participant, parse_event
from podium.store import PRESENTATION_TTL, Store, attendance_key

PRESENTATION = 'att'
ROOM = 'RM' + 'a' * 32
START_MS = 1_714_564_800_000


def ev(name: str, sid: str, identity: str, ts: int, duration=None) -> RoomEvent:
    return RoomEvent(
        name=name,
        room_sid=ROOM,
        room_name='podium-' + PRESENTATION,
        timestamp=ts,
        participant_sid=sid,
        identity=identity,
        participant_duration=duration,
    )


@st.composite
def callback_logs(draw) -> list[RoomEvent]:
    """Return an in-order log with strictly increasing Timestamps.

    Each attendee has 1-3 connections (reloads); a reload may connect again
    before the old connection's disconnect, as a browser tab does.
    """
    steps: list[tuple[str, str, str]] = [('participant-connected', 'PA0', 'presenter')]
    open_sids: dict[str, list[str]] = {}
    people = draw(st.integers(1, 5))
    actions = draw(
        st.lists(st.tuples(st.integers(0, people - 1), st.booleans()), max_size=30)
    )
    counter = 1
    for who, connect in actions:
        identity = f'attendee-{who:08x}'
        mine = open_sids.setdefault(identity, [])
        if connect and len(mine) < 2:
            sid = f'PA{counter:032x}'
            counter += 1
            mine.append(sid)
            steps.append(('participant-connected', sid, identity))
        elif mine:
            steps.append(('participant-disconnected', mine.pop(0), identity))
    if draw(st.booleans()):  # the talk ends: everyone is disconnected
        for identity, sids in open_sids.items():
            steps += [('participant-disconnected', sid, identity) for sid in sids]
        steps.append(('participant-disconnected', 'PA0', 'presenter'))
    gaps = draw(
        st.lists(st.integers(1, 90_000), min_size=len(steps), max_size=len(steps))
    )
    log, now, connected_at = [], START_MS, {}
    for (name, sid, identity), gap in zip(steps, gaps, strict=True):
        now += gap
        duration = None
        if name == 'participant-connected':
            connected_at[sid] = now
        else:
            duration = (now - connected_at[sid]) // 1000
        log.append(ev(name, sid, identity, now, duration))
    return log


def by_hand(log: list[RoomEvent]) -> tuple[int, int]:
    """Walk the in-order log: (peak of identities connected at once, unique)."""
    open_by_identity: dict[str, int] = {}
    best, seen = 0, set()
    for event in log:
        if event.identity == 'presenter':
            continue
        step = 1 if event.name == 'participant-connected' else -1
        open_by_identity[event.identity] = (
            open_by_identity.get(event.identity, 0) + step
        )
        if step == 1:
            seen.add(event.identity)
        best = max(best, sum(1 for n in open_by_identity.values() if n > 0))
    return best, len(seen)


def merged(events: list[RoomEvent]) -> list[dict]:
    records: dict[str, dict] = {}
    for event in events:
        records[event.participant_sid] = merge_participant(
            records.get(event.participant_sid), event
        )
    return [attendance.attendance_record(r) for r in records.values()]


@st.composite
def deliveries(draw):
    log = draw(callback_logs())
    again = draw(st.lists(st.sampled_from(log), max_size=8))
    return log, draw(st.permutations(log + again))


@settings(max_examples=150, deadline=None, suppress_health_check=[HealthCheck.too_slow])
@given(deliveries())
def test_peak_and_unique_do_not_depend_on_delivery(delivery):
    log, arrived = delivery
    now = log[-1].timestamp + 1000
    report = attendance.attendance_report(merged(arrived), ended_at=None, now_ms=now)
    in_order = attendance.attendance_report(merged(log), ended_at=None, now_ms=now)
    assert report == in_order
    assert (report['peak']['count'], report['unique_attendees']) == by_hand(log)


def test_report_figures_of_a_small_talk():
    s = 1000
    log = [
        ev('participant-connected', 'PA0', 'presenter', 0),
        ev('participant-connected', 'PA1', 'attendee-a', 10 * s),
        ev('participant-connected', 'PA2', 'attendee-b', 20 * s),
        ev('participant-disconnected', 'PA1', 'attendee-a', 70 * s, 60),
        # attendee-b reloads: a new connection before the old one's disconnect
        ev('participant-connected', 'PA3', 'attendee-b', 100 * s),
        ev('participant-disconnected', 'PA2', 'attendee-b', 101 * s, 81),
    ]
    report = attendance.attendance_report(merged(log), ended_at=400 * s, now_ms=10**9)
    assert report['status'] == 'ended'
    assert report['started_at'] == 0 and report['duration_seconds'] == 400
    assert report['unique_attendees'] == 2
    assert report['peak'] == {'count': 2, 'at': 20 * s}
    # a: 60 s; b: 20 s -> 400 s (open until the end) = 380 s
    assert report['watch_time']['median_seconds'] == (60 + 380) / 2
    buckets = {b['label']: b['attendees'] for b in report['watch_time']['distribution']}
    assert buckets['1–5 min'] == 1 and buckets['5–15 min'] == 1
    assert report['series'] == [
        {'at': 10 * s, 'count': 1},
        {'at': 20 * s, 'count': 2},
        {'at': 70 * s, 'count': 1},
        {'at': 400 * s, 'count': 0},
    ]
    b = next(a for a in report['attendees'] if a['identity'] == 'attendee-b')
    assert b['connections'] == 2 and b['watch_seconds'] == 380


def test_a_disconnect_without_its_connect_is_placed_by_participant_duration():
    records = merged([ev('participant-disconnected', 'PA1', 'attendee-a', 90_000, 30)])
    report = attendance.attendance_report(records, ended_at=None, now_ms=100_000)
    assert report['attendees'][0]['first_connected_at'] == 60_000
    assert report['attendees'][0]['watch_seconds'] == 30


def test_empty_talk_has_an_empty_report():
    report = attendance.attendance_report([], ended_at=None, now_ms=5)
    assert report['unique_attendees'] == 0
    assert report['peak'] == {'count': 0, 'at': None}
    assert report['watch_time']['median_seconds'] is None
    assert report['series'] == [] and report['duration_seconds'] == 0


def test_participant_duration_is_parsed_and_checked():
    form = {
        'StatusCallbackEvent': 'participant-disconnected',
        'RoomSid': ROOM,
        'RoomName': 'podium-' + PRESENTATION,
        'Timestamp': '2024-05-01T12:00:00.000Z',
        'ParticipantSid': 'PA1',
        'ParticipantIdentity': 'attendee-a',
        'ParticipantDuration': '42',
    }
    assert parse_event(form).participant_duration == 42
    assert parse_event({**form, 'ParticipantDuration': ''}).participant_duration is None
    try:
        parse_event({**form, 'ParticipantDuration': '-1'})
    except InvalidEvent as ex:
        assert 'ParticipantDuration' in str(ex)
    else:
        raise AssertionError('a negative ParticipantDuration was accepted')


def test_store_keeps_attendance_as_long_as_the_presentation():
    store = Store(
        fakeredis.FakeRedis(server=fakeredis.FakeServer(), decode_responses=True)
    )
    store.create_presentation({'id': PRESENTATION, 'title': 'Talk'})
    store.set_room(PRESENTATION, ROOM, 0)
    for event in [
        ev('participant-disconnected', 'PA1', 'attendee-a', 9000, 8),
        ev('participant-connected', 'PA1', 'attendee-a', 1000),
        ev('participant-connected', 'PA1', 'attendee-a', 1000),
    ]:
        store.apply_event(event)
    assert store.read_attendance(PRESENTATION) == [
        {
            'sid': 'PA1',
            'identity': 'attendee-a',
            'room_sid': ROOM,
            'connected_at': 1000,
            'disconnected_at': 9000,
            'duration': 8,
        }
    ]
    ttl = store.client.ttl(attendance_key(PRESENTATION))
    assert PRESENTATION_TTL - 5 < ttl <= PRESENTATION_TTL
