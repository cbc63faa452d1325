"""GET .../report and .../report.csv: the attendance report over HTTP, on fakeredis."""

from __future__ import annotations

import csv
import io

import falcon.testing
import pytest

from podium.room_state import RoomEvent
from tests.unit.test_audience_api import Talk, assert_error
from tests.unit.test_token_service import FakeClock, FakeRooms
from token_service.app import create_app
from token_service.rate_limits import RateLimitSettings

ROOM = 'RM' + 'r' * 32


@pytest.fixture
def clock():
    return FakeClock()


@pytest.fixture
def talk(config, store, clock):
    limits = RateLimitSettings(presentations_per_minute=0, tokens_per_minute=0)
    app = create_app(
        config, store=store, rooms=FakeRooms(), clock=clock, rate_limits=limits
    )
    return Talk(falcon.testing.TestClient(app))


def callback(talk, name, sid, identity, at_s, duration=None) -> RoomEvent:
    return RoomEvent(
        name=name,
        room_sid=ROOM,
        room_name='podium-' + talk.id,
        timestamp=int(at_s * 1000),
        participant_sid=sid,
        identity=identity,
        participant_duration=duration,
    )


def attend(talk, store, clock) -> tuple[str, str]:
    """Two attendees join by name; return their identities after callbacks."""
    ann, bob = talk.join('Ann'), talk.join('=Bob')
    talk.ask(ann, 'How long did we stay?')
    names = store.client.hgetall(f'podium:presentation:{talk.id}:names')
    a = next(i for i in names if names[i] == 'Ann')
    b = next(i for i in names if names[i] == '=Bob')
    t0 = clock.now
    for event in [
        callback(talk, 'participant-connected', 'PA0', 'presenter', t0),
        callback(talk, 'participant-connected', 'PA1', a, t0 + 10),
        callback(talk, 'participant-connected', 'PA2', b, t0 + 20),
        callback(talk, 'participant-disconnected', 'PA2', b, t0 + 80, 60),
        callback(talk, 'participant-disconnected', 'PA2', b, t0 + 80, 60),
    ]:
        store.apply_event(event)
    del ann, bob
    return a, b


def test_the_report_says_who_came_and_for_how_long(talk, store, clock):
    a, b = attend(talk, store, clock)
    t0 = clock.now
    clock.now += 200
    ended = talk.client.simulate_post(f'{talk.base}/end', json={'key': talk.key})
    assert ended.status_code == 200, ended.text
    clock.now += 1000  # read later: the report does not grow after the end
    result = talk.call('GET', 'report', talk.presenter)
    assert result.status_code == 200, result.text
    assert result.headers['cache-control'] == 'no-store'
    report = result.json
    assert report['status'] == 'ended'
    assert report['unique_attendees'] == 2
    assert report['peak'] == {'count': 2, 'at': int((t0 + 20) * 1000)}
    assert report['duration_seconds'] == 200
    watch = {r['identity']: r['watch_seconds'] for r in report['attendees']}
    assert watch == {a: 190, b: 60}
    assert report['watch_time']['median_seconds'] == 125
    assert report['questions']['total'] == 1
    assert report['questions']['top'][0]['author'] == 'Ann'
    assert report['polls'] == [] and report['recording'] is None

    exported = talk.call('GET', 'report.csv', talk.presenter)
    assert exported.status_code == 200
    assert exported.headers['content-type'] == 'text/csv; charset=utf-8'
    assert 'attachment' in exported.headers['content-disposition']
    rows = list(csv.DictReader(io.StringIO(exported.text.lstrip('\ufeff'))))
    by_name = {r['name']: r for r in rows}
    # A name a spreadsheet would run as a formula is quoted.
    assert set(by_name) == {'Ann', "'=Bob"}
    assert by_name['Ann']['watch_seconds'] == '190.0'
    assert by_name["'=Bob"]['connections'] == '1'


def test_a_live_talk_counts_open_connections_up_to_now(talk, store, clock):
    a, _ = attend(talk, store, clock)
    clock.now += 100
    report = talk.call('GET', 'report', talk.presenter).json
    assert report['status'] == 'live'
    assert {r['identity']: r['watch_seconds'] for r in report['attendees']}[a] == 90


def test_only_the_presenter_reads_the_report(talk):
    attendee = talk.join('Eve')
    for path in ('report', 'report.csv'):
        assert_error(talk.call('GET', path), 401, 'Presenter key')
        assert_error(talk.call('GET', path, attendee), 403, 'presenter')
        wrong = {'Authorization': 'Presenter ' + 'x' * 43}
        assert_error(talk.call('GET', path, wrong), 403, 'presenter')


def test_an_unknown_presentation_has_no_report(talk):
    result = talk.client.simulate_get(
        '/api/presentations/nosuchtalk/report', headers=talk.presenter
    )
    assert result.status_code in (403, 404)
    assert result.json['description']
