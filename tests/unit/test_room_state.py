"""Pure merges of room status callbacks: no Redis, no HTTP."""

from __future__ import annotations

from functools import reduce

import pytest

from podium.room_state import (
    InvalidEvent,
    RoomEvent,
    merge_participant,
    merge_room,
    parse_event,
    parse_timestamp,
    participant_connected,
    presentation_id_for,
    presentation_view,
    published_tracks,
    room_name_for,
)

ROOM = 'RM1'
PRESENTATION = {'id': 'abc', 'title': 'Talk'}


def event(name: str, ts: int, **fields) -> RoomEvent:
    return RoomEvent(
        name=name, room_sid=ROOM, room_name='podium-abc', timestamp=ts, **fields
    )


def presenter_event(name: str, ts: int, sid: str = 'PA1', **fields) -> RoomEvent:
    return event(name, ts, participant_sid=sid, identity='presenter', **fields)


def track_event(name: str, ts: int, track: str = 'MT1', kind: str = 'video', **fields):
    return presenter_event(name, ts, track_sid=track, track_kind=kind, **fields)


def merged(events, merge=merge_participant, start=None) -> dict:
    return reduce(merge, events, start)


# Rooms -----------------------------------------------------------------------


def test_room_created_then_ended():
    room = merged([event('room-created', 10), event('room-ended', 90)], merge_room)
    assert room == {'sid': ROOM, 'name': 'podium-abc', 'created_at': 10, 'ended_at': 90}


def test_room_merges_keep_earliest_times_in_any_order():
    events = [
        event('room-ended', 90),
        event('room-created', 10),
        event('room-ended', 95),
    ]
    assert merged(events, merge_room) == merged(sorted(events, key=str), merge_room)
    assert merged(events, merge_room)['ended_at'] == 90


def test_room_ended_first_still_ends_the_room():
    room = merged([event('room-ended', 90), event('room-created', 10)], merge_room)
    assert room['ended_at'] == 90
    assert room['created_at'] == 10


# Participants ----------------------------------------------------------------


def test_connected_then_disconnected():
    record = merged([presenter_event('participant-connected', 1)])
    assert participant_connected(record)
    record = merge_participant(record, presenter_event('participant-disconnected', 5))
    assert not participant_connected(record)
    assert (record['connected_at'], record['disconnected_at']) == (1, 5)


def test_disconnected_stays_disconnected_when_connected_arrives_later():
    record = merged(
        [
            presenter_event('participant-disconnected', 5),
            presenter_event('participant-connected', 1),
        ]
    )
    assert not participant_connected(record)
    assert record['connected_at'] == 1


def test_duplicates_change_nothing():
    once = merged([presenter_event('participant-connected', 1)])
    twice = merge_participant(once, presenter_event('participant-connected', 1))
    assert twice == once


def test_merge_does_not_mutate_its_input():
    record = merged([track_event('track-added', 2)])
    snapshot = {**record, 'tracks': {k: dict(v) for k, v in record['tracks'].items()}}
    merge_participant(record, track_event('track-removed', 3))
    merge_participant(record, presenter_event('participant-disconnected', 3))
    assert record == snapshot


# Tracks ----------------------------------------------------------------------


def test_track_added_then_removed():
    record = merged(
        [
            presenter_event('participant-connected', 1),
            track_event('track-added', 2, track_name='screen'),
        ]
    )
    assert [t['sid'] for t in published_tracks(record)] == ['MT1']
    assert record['tracks']['MT1']['name'] == 'screen'
    record = merge_participant(record, track_event('track-removed', 3))
    assert published_tracks(record) == []


def test_track_removed_before_added_stays_removed():
    record = merged([track_event('track-removed', 3), track_event('track-added', 2)])
    assert published_tracks(record) == []
    assert record['tracks']['MT1']['added_at'] == 2


def test_published_tracks_are_in_a_stable_order():
    events = [
        track_event('track-added', 2, track='MT2', kind='video', track_name='camera'),
        track_event('track-added', 3, track='MT1', kind='video', track_name='screen'),
        track_event('track-added', 4, track='MT3', kind='audio', track_name='mic'),
    ]
    names = [t['name'] for t in published_tracks(merged(events))]
    assert names == ['mic', 'camera', 'screen']
    assert published_tracks(merged(reversed(events))) == published_tracks(
        merged(events)
    )


@pytest.mark.parametrize(
    ('events', 'enabled'),
    [
        ([('track-disabled', 5), ('track-enabled', 6)], True),
        ([('track-enabled', 6), ('track-disabled', 5)], True),
        ([('track-enabled', 5), ('track-disabled', 6)], False),
        ([('track-disabled', 6), ('track-enabled', 5)], False),
        ([('track-enabled', 5), ('track-disabled', 5)], False),  # a tie: disabled wins
        ([('track-disabled', 5), ('track-enabled', 5)], False),
        ([('track-added', 1)], True),
        ([('track-disabled', 3), ('track-added', 1)], False),
    ],
)
def test_enable_and_disable_last_writer_wins_by_timestamp(events, enabled):
    record = merged(track_event(name, ts) for name, ts in events)
    assert record['tracks']['MT1']['enabled'] is enabled


def test_track_name_is_kept_when_later_events_carry_none():
    record = merged(
        [
            track_event('track-added', 2, track_name='screen'),
            track_event('track-disabled', 3),
        ]
    )
    assert record['tracks']['MT1']['name'] == 'screen'


# What pages show -------------------------------------------------------------


def room(ended: bool = False) -> dict:
    return merged(
        [event('room-created', 0)] + ([event('room-ended', 99)] if ended else []),
        merge_room,
    )


def test_view_waiting_without_presenter():
    view = presentation_view(PRESENTATION, room(), [], 3, 7)
    assert view == {
        'id': 'abc',
        'title': 'Talk',
        'status': 'waiting',
        'version': 7,
        'room': {'sid': ROOM, 'status': 'in-progress'},
        'presenter': {'connected': False, 'tracks': []},
        'attendees': {'count': 3},
        'broadcast': {'on': False, 'playlist': 'podium-abc/index.m3u8'},
        'recording': {'requested': False, 'status': 'off', 'percent': 0},
    }


def test_view_without_room_uses_the_presentation_room_sid():
    view = presentation_view({**PRESENTATION, 'room_sid': 'RM9'}, None, [], 0, 0)
    assert view['room'] == {'sid': 'RM9', 'status': 'in-progress'}
    assert presentation_view(PRESENTATION, None, [], 0, 0)['room']['sid'] is None


def test_view_live_with_presenter_tracks():
    presenter = merged(
        [
            presenter_event('participant-connected', 1),
            track_event('track-added', 2, track_name='screen'),
            track_event('track-disabled', 3),
            track_event('track-added', 2, track='MT2', kind='audio', track_name='mic'),
        ]
    )
    view = presentation_view(PRESENTATION, room(), [presenter], 2, 1)
    assert view['status'] == 'live'
    assert view['presenter'] == {
        'connected': True,
        'tracks': [
            {'sid': 'MT2', 'kind': 'audio', 'name': 'mic', 'enabled': True},
            {'sid': 'MT1', 'kind': 'video', 'name': 'screen', 'enabled': False},
        ],
    }
    assert view['attendees']['count'] == 2


def test_view_waiting_after_presenter_disconnects():
    presenter = merged(
        [
            presenter_event('participant-connected', 1),
            presenter_event('participant-disconnected', 4),
        ]
    )
    view = presentation_view(PRESENTATION, room(), [presenter], 0, 1)
    assert view['status'] == 'waiting'
    assert view['presenter']['connected'] is False


def test_view_newest_presenter_connection_counts():
    old = merged(
        [
            presenter_event('participant-connected', 1, sid='PA1'),
            track_event('track-added', 2, track='MT1'),
        ]
    )
    new = merged([presenter_event('participant-connected', 5, sid='PA2')])
    for order in ([old, new], [new, old]):
        view = presentation_view(PRESENTATION, room(), order, 0, 1)
        assert view['status'] == 'live'
        assert view['presenter']['tracks'] == []


def test_view_ended_presentation():
    presenter = merged([presenter_event('participant-connected', 1)])
    view = presentation_view(
        {**PRESENTATION, 'ended_at': '100'}, room(), [presenter], 4, 2
    )
    assert view['status'] == 'ended'
    assert view['attendees']['count'] == 0


def test_room_ended_zeroes_the_count_and_the_presenter():
    presenter = merged([presenter_event('participant-connected', 1)])
    view = presentation_view(PRESENTATION, room(ended=True), [presenter], 4, 2)
    assert view['room']['status'] == 'completed'
    assert view['attendees']['count'] == 0
    assert view['presenter'] == {'connected': False, 'tracks': []}
    assert view['status'] == 'waiting'


# Names and parsing -------------------------------------------------------------


def test_room_names():
    assert room_name_for('abc') == 'podium-abc'
    assert presentation_id_for('podium-abc') == 'abc'
    assert presentation_id_for('podium-') is None
    assert presentation_id_for('other-abc') is None


@pytest.mark.parametrize(
    ('text', 'millis'),
    [
        ('2024-05-01T12:00:00.000Z', 1714564800000),
        ('2024-05-01T12:00:00Z', 1714564800000),
        ('2024-05-01T12:00:00.123Z', 1714564800123),
        ('2024-05-01T14:00:00+02:00', 1714564800000),
        ('2024-05-01T12:00:00', 1714564800000),
    ],
)
def test_parse_timestamp(text, millis):
    assert parse_timestamp(text) == millis


def form(**fields: str) -> dict[str, str]:
    base = {
        'StatusCallbackEvent': 'track-added',
        'RoomSid': ROOM,
        'RoomName': 'podium-abc',
        'Timestamp': '2024-05-01T12:00:00.000Z',
        'ParticipantSid': 'PA1',
        'ParticipantIdentity': 'presenter',
        'TrackSid': 'MT1',
        'TrackKind': 'video',
        'TrackName': 'screen',
    }
    base.update(fields)
    return {k: v for k, v in base.items() if v is not None}


def test_parse_track_event():
    assert parse_event(form()) == RoomEvent(
        name='track-added',
        room_sid=ROOM,
        room_name='podium-abc',
        timestamp=1714564800000,
        participant_sid='PA1',
        identity='presenter',
        track_sid='MT1',
        track_kind='video',
        track_name='screen',
    )


def test_parse_room_event_ignores_participant_fields():
    parsed = parse_event(form(StatusCallbackEvent='room-ended'))
    assert parsed.is_room_event
    assert parsed.participant_sid == ''


def test_track_name_is_optional():
    assert parse_event(form(TrackName=None)).track_name == ''


@pytest.mark.parametrize(
    'name', ['recording-started', 'recording-completed', 'new-thing']
)
def test_untracked_events_parse_to_none_whatever_their_fields(name):
    assert parse_event(form(StatusCallbackEvent=name)) is None
    assert parse_event({'StatusCallbackEvent': name}) is None


@pytest.mark.parametrize(
    ('fields', 'message'),
    [
        ({'StatusCallbackEvent': None}, 'StatusCallbackEvent is missing'),
        ({'RoomSid': None}, 'RoomSid is missing'),
        ({'RoomName': ''}, 'RoomName is missing'),
        ({'Timestamp': 'soon'}, 'Timestamp'),
        ({'Timestamp': '2024-13-01T00:00:00Z'}, 'Timestamp'),
        ({'ParticipantSid': None}, 'ParticipantSid is missing'),
        ({'ParticipantIdentity': None}, 'ParticipantIdentity is missing'),
        ({'TrackSid': None}, 'TrackSid is missing'),
        ({'TrackKind': 'Video'}, 'TrackKind must be one of'),
        ({'TrackKind': None}, 'TrackKind is missing'),
        ({'TrackName': 'x' * 257}, 'TrackName is longer than 256'),
    ],
)
def test_parse_event_errors(fields, message):
    with pytest.raises(InvalidEvent, match=message):
        parse_event(form(**fields))


def test_parse_event_rejects_repeated_fields():
    with pytest.raises(InvalidEvent, match='RoomSid must appear once'):
        parse_event({**form(), 'RoomSid': ['RM1', 'RM2']})


def test_the_view_says_whether_the_talk_is_broadcast_and_where():
    on = {**PRESENTATION, 'broadcast': '1'}
    view = presentation_view(on, room(), [], 0, 1)
    assert view['broadcast'] == {'on': True, 'playlist': 'podium-abc/index.m3u8'}
    ended = presentation_view({**on, 'ended_at': '5'}, room(), [], 0, 1)
    assert ended['broadcast']['on'] is False
    off = presentation_view({**PRESENTATION, 'broadcast': '0'}, room(), [], 0, 1)
    assert off['broadcast']['on'] is False
