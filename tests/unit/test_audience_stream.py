"""Audience data on the presentation's event stream: typed events, resumable."""

from __future__ import annotations

import asyncio
import json

import fakeredis
import fakeredis.aioredis
import pytest

from podium import audience
from podium.store import AudienceStore, Store
from web_service.changes import ChangeHub, parse_message
from web_service.live import PresentationEvents, parse_event_id, public_sections

WAIT = 5.0
NOW = 1_700_000_000.0


@pytest.fixture
def server():
    return fakeredis.FakeServer()


@pytest.fixture
def aud(server) -> AudienceStore:
    store = Store(fakeredis.FakeRedis(server=server, decode_responses=True))
    store.create_presentation({'id': 'p1', 'title': 'Talk', 'created_at': '1'})
    return AudienceStore(store)


def readers(aud):
    async def read_view(presentation_id):
        return aud.base.read_view(presentation_id)

    async def read_audience(presentation_id, kinds):
        return public_sections(aud.read_audience(presentation_id, kinds), kinds)

    async def read_reactions(presentation_id, bucket):
        return aud.reaction_counts(presentation_id, bucket)

    return read_view, read_audience, read_reactions


def parse(event) -> dict:
    fields = {}
    for line in event.serialize().decode().splitlines():
        name, _, value = line.partition(': ')
        fields[name] = value
    return fields


def busy_talk(aud):
    """Questions (one pending), two raised hands, an open poll with a vote."""
    aud.set_display_name('p1', 'attendee-a', 'Ann')
    for qid, identity in [('q1', 'attendee-a'), ('q2', 'attendee-b')]:
        aud.ask_question(
            'p1',
            qid,
            text=f'Question {qid}',
            identity=identity,
            anonymous=False,
            now=NOW,
            counted=None,
            max_questions=500,
        )
    aud.vote_question('p1', 'q2', 'attendee-a', True, now=NOW, counted=None)
    aud.set_moderated('p1', True, now=NOW)
    aud.ask_question(
        'p1',
        'q3',
        text='Pending!',
        identity='attendee-b',
        anonymous=False,
        now=NOW,
        counted=None,
        max_questions=500,
    )
    aud.change_hand('p1', 'raise', 'attendee-b', now=NOW + 1, counted=None)
    aud.change_hand('p1', 'raise', 'attendee-a', now=NOW + 2, counted=None)
    aud.create_poll(
        'p1',
        'P',
        question='Tabs?',
        options=['Tabs', 'Spaces'],
        visibility='after_vote',
        now=NOW,
        max_polls=50,
    )
    aud.change_record(
        'p1',
        'polls',
        'podium:presentation:p1:poll:P',
        '',
        'id',
        'p1',
        None,
        {'state': 'open', 'updated_at': '1'},
        now=NOW,
    )
    aud.vote_poll('p1', 'P', 'attendee-a', 1, now=NOW, counted=None)


async def take(stream, count):
    return [parse(await asyncio.wait_for(anext(stream), WAIT)) for _ in range(count)]


def test_a_new_stream_gets_current_questions_hands_and_polls(aud):
    busy_talk(aud)
    read_view, read_audience, _ = readers(aud)

    async def scenario():
        hub = ChangeHub(read_view, read_audience=read_audience)
        events = PresentationEvents(read_view, hub, read_audience=read_audience)
        stream = events.stream('p1', '')
        state, questions, hands, polls, on_stage = await take(stream, 5)
        await stream.aclose()
        return state, questions, hands, polls, on_stage

    state, questions, hands, polls, on_stage = asyncio.run(scenario())
    assert [e['event'] for e in (state, questions, hands, polls, on_stage)] == [
        'state',
        'questions',
        'hands',
        'polls',
        'stage',
    ]
    assert state['retry'] == '2000' and 'retry' not in questions
    data = json.loads(questions['data'])
    assert [q['id'] for q in data['questions']] == ['q2', 'q1']  # votes, then age
    assert data['questions'][0]['votes'] == 1
    assert data['questions'][1]['author'] == 'Ann'
    assert data['pending'] == 1 and data['moderated'] is True
    assert 'Pending!' not in questions['data']  # never on the public stream
    assert 'attendee-' not in questions['data']  # nor who asked
    queue = json.loads(hands['data'])['queue']
    assert [(h['identity'], h['name']) for h in queue] == [
        ('attendee-b', None),
        ('attendee-a', 'Ann'),
    ]
    (poll,) = json.loads(polls['data'])['polls']
    assert poll['votes'] is None and poll['total'] == 1  # results after voting
    assert json.loads(on_stage['data']) == {'version': 0, 'speakers': []}
    versions = parse_event_id(on_stage['id'])
    assert versions == {
        'state': 0,
        'questions': json.loads(questions['data'])['version'],
        'hands': json.loads(hands['data'])['version'],
        'polls': json.loads(polls['data'])['version'],
        'stage': 0,
    }


def test_a_reconnection_gets_only_what_it_missed(aud):
    busy_talk(aud)
    read_view, read_audience, _ = readers(aud)

    async def scenario():
        hub = ChangeHub(read_view, read_audience=read_audience)
        events = PresentationEvents(
            read_view, hub, read_audience=read_audience, keepalive=0.01
        )
        stream = events.stream('p1', '')
        *_, last = await take(stream, 5)
        await stream.aclose()

        # Everything held: only the reconnection delay, then keep-alives.
        again = events.stream('p1', last['id'])
        first, second = await take(again, 2)
        assert first['retry'] == '2000' and 'event' not in first
        assert 'event' not in second  # a keep-alive comment
        await again.aclose()

        # Missed a vote while away: only the questions come again.
        aud.vote_question('p1', 'q1', 'attendee-c', True, now=NOW, counted=None)
        resumed = events.stream('p1', last['id'])
        (event,) = await take(resumed, 1)
        await resumed.aclose()
        return event

    event = asyncio.run(scenario())
    assert event['event'] == 'questions'
    assert [q['votes'] for q in json.loads(event['data'])['questions']] == [1, 1]


def test_changes_are_pushed_as_typed_events_coalesced(aud, server):
    busy_talk(aud)
    read_view, read_audience, _ = readers(aud)

    async def scenario():
        hub = ChangeHub(
            read_view,
            read_audience=read_audience,
            subscriber=lambda: fakeredis.aioredis.FakeRedis(server=server),
            audience_coalesce=0.05,
        )
        events = PresentationEvents(read_view, hub, read_audience=read_audience)
        try:
            stream = events.stream('p1', '')
            await take(stream, 5)
            await asyncio.wait_for(hub.subscribed.wait(), WAIT)
            reads = hub.reads
            for i in range(50):  # a vote storm: published by each Lua write
                aud.vote_question(
                    'p1', 'q1', f'attendee-{i}', True, now=NOW, counted=None
                )
            (event,) = await take(stream, 1)
            await stream.aclose()
            return event, hub.reads - reads
        finally:
            await hub.stop()

    event, reads = asyncio.run(scenario())
    assert event['event'] == 'questions'
    assert json.loads(event['data'])['questions'][0]['votes'] == 50
    assert reads <= 3  # coalesced, not one read per vote


def test_reactions_are_pushed_once_per_window_with_counts_and_no_id(aud):
    read_view, read_audience, read_reactions = readers(aud)
    clock_now = [NOW]
    bucket = audience.reaction_bucket(int(NOW * 1000))

    async def scenario():
        hub = ChangeHub(
            read_view,
            read_audience=read_audience,
            read_reactions=read_reactions,
            clock=lambda: clock_now[0],
        )
        events = PresentationEvents(read_view, hub, read_audience=read_audience)
        stream = events.stream('p1', '')
        await take(stream, 5)
        for i in range(300):  # 300 people react in one window
            aud.react('p1', '👏' if i % 3 else '🎉', bucket, now=NOW, counted=None)
            hub.notify('p1', 'reactions', str(bucket))  # as each message would
        (event,) = await take(stream, 1)
        await stream.aclose()
        return event

    event = asyncio.run(scenario())
    assert event['event'] == 'reactions'
    assert 'id' not in event  # a reconnection must not replay reactions
    assert json.loads(event['data']) == {'counts': {'🎉': 100, '👏': 200}}
    assert len(event['data'].encode()) < 60  # flat: counts, not one per person


def test_change_messages_name_what_changed():
    assert parse_message('p1') == ('p1', 'state', '')
    assert parse_message('p1 questions') == ('p1', 'questions', '')
    assert parse_message('p1 reactions 123') == ('p1', 'reactions', '123')


@pytest.mark.parametrize(
    ('raw', 'held'),
    [
        ('', {}),
        ('7', {'state': 7}),
        (
            '1.2.3.4.5',
            {'state': 1, 'questions': 2, 'hands': 3, 'polls': 4, 'stage': 5},
        ),
        ('1.2.3.4', {}),  # before the stage: everything is sent again
        ('1.2', {}),
        ('1.x.3.4', {}),
        ('-1', {}),
    ],
)
def test_event_ids(raw, held):
    assert parse_event_id(raw) == held
