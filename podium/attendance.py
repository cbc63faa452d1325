"""The attendance report, as pure functions of merged participant records.

The webhooks service merges participant-connected/-disconnected callbacks into
one record per ParticipantSid (podium.room_state), so the records are the same
whatever order and duplicates the callbacks came in; everything here derives
from those records only, never from arrival order. The presenter is not
audience. An attendee who reloads the page connects again under a new
ParticipantSid with the same identity: counts and watch time are per identity.
"""

from __future__ import annotations

import statistics
from collections.abc import Iterable, Mapping

from podium import room_state

ATTENDANCE_FIELDS = (
    'sid',
    'identity',
    'room_sid',
    'connected_at',
    'disconnected_at',
    'duration',
)
# Watch-time distribution: (label, from seconds, up to seconds or None).
WATCH_BUCKETS = (
    ('under 1 min', 0, 60),
    ('1–5 min', 60, 300),
    ('5–15 min', 300, 900),
    ('15–30 min', 900, 1800),
    ('30–60 min', 1800, 3600),
    ('over 1 h', 3600, None),
)


def attendance_record(participant: Mapping) -> dict:
    """Return what the report keeps of a merged participant record."""
    return {k: participant.get(k) for k in ATTENDANCE_FIELDS}


def connection_interval(record: Mapping, close_ms: int) -> tuple[int, int] | None:
    """Return one connection's [start, end) in ms, or None if it cannot be placed.

    A connection still open ends at `close_ms` (the end of the talk, or now). A
    disconnect whose connect never arrived is placed by its ParticipantDuration.
    """
    start, end = record.get('connected_at'), record.get('disconnected_at')
    duration = record.get('duration')
    if start is None:
        if end is None or duration is None:
            return None
        start = end - duration * 1000
    # Callbacks of the room's end arrive after the presenter ended the talk:
    # nobody watched past that.
    end = close_ms if end is None else min(end, close_ms)
    return start, max(start, end)


def audience_intervals(
    records: Iterable[Mapping], close_ms: int
) -> dict[str, list[tuple[int, int]]]:
    """Return each attendee identity's connection intervals (presenter excluded)."""
    by_identity: dict[str, list[tuple[int, int]]] = {}
    for record in records:
        if room_state.is_presenter(record['identity']):
            continue
        interval = connection_interval(record, close_ms)
        if interval is not None:
            by_identity.setdefault(record['identity'], []).append(interval)
    return by_identity


def union_seconds(intervals: list[tuple[int, int]]) -> float:
    """Return the length of the union of intervals, in seconds."""
    total, reach = 0, None
    for start, end in sorted(intervals):
        if reach is None or start > reach:
            total += end - start
            reach = end
        elif end > reach:
            total += end - reach
            reach = end
    return total / 1000


def audience_series(by_identity: Mapping[str, list[tuple[int, int]]]) -> list[dict]:
    """Return the audience over time: `{at, count}` at every change of the count.

    Counts identities, so a reload's brief second connection is not a second
    attendee. At one instant disconnects come before connects.
    """
    changes = sorted(
        (at, step, identity)
        for identity, intervals in by_identity.items()
        for start, end in intervals
        if end > start
        for at, step in ((start, 1), (end, -1))
    )
    open_connections: dict[str, int] = {}
    series: list[dict] = []
    index = 0
    while index < len(changes):
        at = changes[index][0]
        while index < len(changes) and changes[index][0] == at:
            _, step, identity = changes[index]
            open_connections[identity] = open_connections.get(identity, 0) + step
            if not open_connections[identity]:
                del open_connections[identity]
            index += 1
        count = len(open_connections)
        if not series or series[-1]['count'] != count:
            series.append({'at': at, 'count': count})
    return series


def peak(series: list[dict]) -> dict:
    """Return the largest audience and when it was first reached."""
    best = max(series, key=lambda p: p['count'], default=None)
    if best is None or best['count'] == 0:
        return {'count': 0, 'at': None}
    first = next(p for p in series if p['count'] == best['count'])
    return {'count': first['count'], 'at': first['at']}


def watch_distribution(seconds: list[float]) -> list[dict]:
    rows = []
    for label, low, high in WATCH_BUCKETS:
        count = sum(1 for s in seconds if s >= low and (high is None or s < high))
        rows.append(
            {
                'label': label,
                'min_seconds': low,
                'max_seconds': high,
                'attendees': count,
            }
        )
    return rows


def talk_start(records: Iterable[Mapping]) -> int | None:
    """Return when the talk started: the presenter's first connection, else anyone's."""
    records = list(records)
    for candidates in (
        [r for r in records if room_state.is_presenter(r['identity'])],
        records,
    ):
        starts = [
            r['connected_at'] for r in candidates if r.get('connected_at') is not None
        ]
        if starts:
            return min(starts)
    return None


def attendance_report(
    records: Iterable[Mapping],
    *,
    ended_at: int | None,
    now_ms: int,
    names: Mapping[str, str] | None = None,
) -> dict:
    """Return the report of one presentation from its attendance records.

    `ended_at` is when the presenter ended the talk (None while it runs: open
    connections then count up to `now_ms`).
    """
    records = list(records)
    names = names or {}
    close_ms = ended_at if ended_at is not None else now_ms
    started_at = talk_start(records)
    by_identity = audience_intervals(records, close_ms)
    series = audience_series(by_identity)
    watch = {i: union_seconds(v) for i, v in by_identity.items()}
    seconds = sorted(watch.values())
    attendees = [
        {
            'identity': identity,
            'name': names.get(identity, ''),
            'first_connected_at': min(s for s, _ in intervals),
            'last_disconnected_at': max(e for _, e in intervals),
            'connections': len(intervals),
            'watch_seconds': round(watch[identity], 3),
        }
        for identity, intervals in sorted(by_identity.items())
    ]
    return {
        'status': 'ended' if ended_at is not None else 'live',
        'started_at': started_at,
        'ended_at': ended_at,
        'duration_seconds': (
            round(max(0, close_ms - started_at) / 1000, 3)
            if started_at is not None
            else 0
        ),
        'unique_attendees': len(by_identity),
        'peak': peak(series),
        'watch_time': {
            'median_seconds': (
                round(statistics.median(seconds), 3) if seconds else None
            ),
            'total_seconds': round(sum(seconds), 3),
            'distribution': watch_distribution(seconds),
        },
        'series': series,
        'attendees': attendees,
    }
