"""Recording and composition callbacks merge to the same record in any order."""

from __future__ import annotations

from datetime import UTC, datetime

import pytest
from hypothesis import given
from hypothesis import strategies as st

from podium.recording_state import (
    merge_media,
    parse_media_event,
    recording_on,
)
from podium.room_state import InvalidEvent

ROOM = 'RM' + 'a' * 32
START_MS = 1_714_564_800_000


def stamp(ms: int) -> str:
    moment = datetime.fromtimestamp(ms / 1000, UTC)
    return moment.strftime('%Y-%m-%dT%H:%M:%S.') + f'{ms % 1000:03d}Z'


def composition_log(sid: str, fails: bool) -> list[dict]:
    events = [('composition-enqueued', {}), ('composition-started', {})]
    events += [
        ('composition-progress', {'PercentageDone': str(p)}) for p in (10, 50, 90)
    ]
    if fails:
        events.append(
            ('composition-failed', {'ErrorMessage': 'ffmpeg was stopped by SIGKILL'})
        )
    else:
        events.append(('composition-available', {'Duration': '20', 'Size': '4000'}))
    return [
        {
            'StatusCallbackEvent': name,
            'RoomSid': ROOM,
            'CompositionSid': sid,
            'Timestamp': stamp(START_MS + 1000 * i),
            **extra,
        }
        for i, (name, extra) in enumerate(events)
    ]


def recording_log(sid: str, track: str, ends: str) -> list[dict]:
    base = {'RoomSid': ROOM, 'RecordingSid': sid, 'TrackName': track, 'Type': 'video'}
    end = {'StatusCallbackEvent': ends, 'Timestamp': stamp(START_MS + 20_000)}
    if ends == 'recording-completed':
        end |= {'Duration': '20', 'Size': '9000'}
    else:
        end |= {'ErrorMessage': 'no media reached the recorder'}
    return [
        {
            **base,
            'StatusCallbackEvent': 'recording-started',
            'Timestamp': stamp(START_MS),
        },
        {**base, **end},
    ]


def fold(forms: list[dict]) -> dict:
    records: dict[str, dict] = {}
    for form in forms:
        event = parse_media_event(form)
        records[event.sid] = merge_media(records.get(event.sid), event)
    return records


@st.composite
def delivery(draw):
    """An in-order log, and a shuffled copy with duplicates."""
    log = composition_log('CJ' + '1' * 32, draw(st.booleans()))
    log += recording_log('RT' + '1' * 32, 'camera', 'recording-completed')
    log += recording_log(
        'RT' + '2' * 32,
        'screen',
        draw(st.sampled_from(['recording-completed', 'recording-failed'])),
    )
    extra = draw(st.lists(st.sampled_from(log), max_size=6))
    return log, draw(st.permutations(log + extra))


@given(delivery())
def test_any_order_and_duplicates_converge(case):
    in_order, shuffled = case
    assert fold(shuffled) == fold(in_order)


def test_the_merged_records_say_what_pages_show():
    records = fold(
        composition_log('CJ' + '1' * 32, fails=False)
        + recording_log('RT' + '1' * 32, 'camera', 'recording-completed')
    )
    composition = records['CJ' + '1' * 32]
    assert composition['status'] == 'available' and composition['percent'] == 100
    assert composition['duration'] == 20 and composition['size'] == 4000
    recording = records['RT' + '1' * 32]
    assert recording['status'] == 'completed' and recording['track_name'] == 'camera'
    assert not recording_on(list(records.values()))
    started = fold(recording_log('RT' + '3' * 32, 'mic', 'recording-completed')[:1])
    assert recording_on(list(started.values()))
    failed = fold(composition_log('CJ' + '2' * 32, fails=True))['CJ' + '2' * 32]
    assert failed['status'] == 'failed' and 'SIGKILL' in failed['error']
    assert failed['percent'] == 90


def test_progress_mid_way_shows_the_highest_percentage_heard():
    log = composition_log('CJ' + '1' * 32, fails=False)[:5]
    assert fold(list(reversed(log)))['CJ' + '1' * 32]['percent'] == 90


@pytest.mark.parametrize(
    'form',
    [
        {'StatusCallbackEvent': 'composition-progress', 'RoomSid': ROOM,
         'Timestamp': stamp(START_MS)},
        {'StatusCallbackEvent': 'composition-progress', 'RoomSid': ROOM,
         'CompositionSid': 'CJ1', 'Timestamp': stamp(START_MS),
         'PercentageDone': '250'},
        {'StatusCallbackEvent': 'recording-started', 'RoomSid': ROOM,
         'RecordingSid': 'RT1', 'Timestamp': 'yesterday'},
    ],
)  # fmt: skip
def test_bad_callbacks_say_what_is_wrong(form):
    with pytest.raises(InvalidEvent):
        parse_media_event(form)


def test_other_events_are_not_media_events():
    assert parse_media_event({'StatusCallbackEvent': 'room-created'}) is None
