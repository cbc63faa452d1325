"""The audience part of podium.store, on fakeredis (its Lua scripts included)."""

from __future__ import annotations

import fakeredis
import pytest
from hypothesis import given, settings
from hypothesis import strategies as st

from podium import stage
from podium import store as keys
from podium.store import CHANGES_CHANNEL, AudienceStore, Store
from tests.unit.test_audience import interleavings

NOW = 1_700_000_000.0


def new_audience() -> AudienceStore:
    store = Store(
        fakeredis.FakeRedis(server=fakeredis.FakeServer(), decode_responses=True)
    )
    store.create_presentation({'id': 'p1', 'title': 'T', 'created_at': '1'})
    return AudienceStore(store)


@pytest.fixture
def aud() -> AudienceStore:
    return new_audience()


def published(pubsub) -> list[str]:
    """Return what was published so far (the subscription's reply comes first)."""
    messages = []
    for _ in range(20):
        message = pubsub.get_message(timeout=0.01)
        if message is not None:
            messages.append(message['data'])
    return messages


def ask(aud, qid='q1', identity='attendee-1', **kw):
    kw.setdefault('text', 'Why?')
    kw.setdefault('anonymous', False)
    kw.setdefault('now', NOW)
    kw.setdefault('counted', None)
    kw.setdefault('max_questions', 500)
    return aud.ask_question('p1', qid, identity=identity, **kw)


def vote(aud, identity, voted=True, qid='q1', counted=None):
    return aud.vote_question('p1', qid, identity, voted, now=NOW, counted=counted)


def test_a_question_is_stored_with_the_askers_name(aud):
    aud.set_display_name('p1', 'attendee-1', 'Ann')
    assert ask(aud).result == ('approved', 'Ann')
    (question,) = aud.read_audience('p1', ['questions']).questions
    assert question['author'] == 'Ann' and question['identity'] == 'attendee-1'
    assert question['asked_at'] == int(NOW * 1000)


def test_anonymous_questions_have_no_author(aud):
    aud.set_display_name('p1', 'attendee-1', 'Ann')
    ask(aud, anonymous=True)
    (question,) = aud.read_audience('p1', ['questions']).questions
    assert question['author'] is None and question['anonymous'] is True


def test_moderated_questions_start_pending(aud):
    aud._redis.hset(keys.presentation_key('p1'), 'moderated', '1')
    assert ask(aud).result[0] == 'pending'
    assert vote(aud, 'attendee-2').status == 'no-question'  # invisible to attendees


def test_ten_thousand_votes_from_one_identity_count_once(real_store):
    # On the real redis-server: fakeredis's Lua takes ~1.5 ms a call.
    real_store.create_presentation({'id': 'p1', 'title': 'T', 'created_at': '1'})
    aud = AudienceStore(real_store)
    ask(aud)
    before = aud.read_audience('p1', []).versions['questions']
    for _ in range(10_000):
        assert vote(aud, 'attendee-2').result == (1,)
    snapshot = aud.read_audience('p1', ['questions'])
    assert snapshot.questions[0]['votes'] == 1
    assert snapshot.versions['questions'] == before + 1  # only the first changed


def test_votes_for_missing_or_dismissed_questions_change_nothing(aud):
    ask(aud)
    assert vote(aud, 'attendee-2', qid='nope').status == 'no-question'
    aud._redis.hset(keys.question_key('p1', 'q1'), 'state', 'dismissed')
    assert vote(aud, 'attendee-2').status == 'dismissed'
    assert not aud._redis.exists(keys.voters_key('p1', 'q1'))


def test_writes_to_an_ended_or_unknown_presentation_are_refused(aud):
    aud._store.end_presentation('p1', 1)
    assert ask(aud).status == 'ended'
    assert (
        aud.ask_question(
            'nope',
            'q',
            text='x',
            identity='a',
            anonymous=False,
            now=NOW,
            counted=None,
            max_questions=5,
        ).status
        == 'no-presentation'
    )
    assert not aud._redis.exists(keys.questions_key('p1'))


def test_the_rate_limit_counts_per_identity_and_refuses_over_it(aud):
    counted = ('questions', 'attendee-1', 60, 2)
    assert ask(aud, 'a', counted=counted).status == 'ok'
    assert ask(aud, 'b', counted=counted).status == 'ok'
    refused = ask(aud, 'c', counted=counted)
    assert refused.status == 'rate' and 1 <= refused.retry_after <= 60
    other = ('questions', 'attendee-2', 60, 2)
    assert ask(aud, 'd', identity='attendee-2', counted=other).status == 'ok'
    ids = [q['id'] for q in aud.read_audience('p1', ['questions']).questions]
    assert sorted(ids) == ['a', 'b', 'd']


def test_a_full_presentation_takes_no_more_questions(aud):
    ask(aud, 'a', max_questions=1)
    assert ask(aud, 'b', max_questions=1).status == 'full'


def test_every_change_publishes_its_kind_and_versions_start_at_the_clock(aud):
    pubsub = aud._redis.pubsub(ignore_subscribe_messages=True)
    pubsub.subscribe(CHANGES_CHANNEL)
    ask(aud)
    aud.change_hand('p1', 'raise', 'attendee-1', now=NOW, counted=None)
    aud.change_hand('p1', 'raise', 'attendee-1', now=NOW + 1, counted=None)  # no-op
    messages = published(pubsub)
    assert messages == ['p1 questions', 'p1 hands']
    versions = aud.read_audience('p1', []).versions
    assert versions == {'questions': int(NOW * 1000), 'hands': int(NOW * 1000)}
    ttl = aud._redis.ttl(keys.question_key('p1', 'q1'))
    assert keys.PRESENTATION_TTL - 5 < ttl <= keys.PRESENTATION_TTL


def test_hands_queue_by_first_raise(aud):
    aud.set_display_name('p1', 'attendee-2', 'Bo')
    aud.change_hand('p1', 'raise', 'attendee-2', now=NOW + 2, counted=None)
    aud.change_hand('p1', 'raise', 'attendee-1', now=NOW + 1, counted=None)
    aud.change_hand('p1', 'raise', 'attendee-2', now=NOW + 9, counted=None)
    snapshot = aud.read_audience('p1', ['hands'])
    assert snapshot.hands == {
        'attendee-1': int((NOW + 1) * 1000),
        'attendee-2': int((NOW + 2) * 1000),
    }
    assert snapshot.names == {'attendee-2': 'Bo'}
    aud.change_hand('p1', 'lower', 'attendee-1', now=NOW, counted=None)
    assert list(aud.read_audience('p1', ['hands']).hands) == ['attendee-2']
    assert aud.change_hand('p1', 'clear', now=NOW, counted=None).result == (1,)
    assert aud.read_audience('p1', ['hands']).hands == {}


def test_reactions_count_per_window_and_publish_once_per_window(aud):
    pubsub = aud._redis.pubsub(ignore_subscribe_messages=True)
    pubsub.subscribe(CHANGES_CHANNEL)
    for emoji in ['👍', '👍', '🎉']:
        aud.react('p1', emoji, 7, now=NOW, counted=None)
    aud.react('p1', '👍', 8, now=NOW, counted=None)
    assert aud.reaction_counts('p1', 7) == {'👍': 2, '🎉': 1}
    messages = published(pubsub)
    assert messages == ['p1 reactions 7', 'p1 reactions 8']
    assert 0 < aud._redis.ttl(keys.reactions_key('p1', 7)) <= 10


def open_poll(aud, options=('a', 'b', 'c')):
    aud.create_poll(
        'p1',
        'P',
        question='Q?',
        options=list(options),
        visibility='after_vote',
        now=NOW,
        max_polls=50,
    )
    return aud.change_record(
        'p1',
        'polls',
        keys.poll_key('p1', 'P'),
        '',
        'answering_now',
        '',
        None,
        {'state': 'open', 'updated_at': '1'},
        now=NOW,
    )


def poll_vote(aud, identity, option):
    return aud.vote_poll('p1', 'P', identity, option, now=NOW, counted=None)


def test_poll_votes_change_and_tallies_follow(aud):
    assert poll_vote(aud, 'attendee-1', 0).status == 'no-poll'
    aud.create_poll(
        'p1',
        'P',
        question='Q?',
        options=['a', 'b'],
        visibility='after_vote',
        now=NOW,
        max_polls=50,
    )
    assert poll_vote(aud, 'attendee-1', 0).status == 'not-open'
    assert open_poll(aud, options=('a', 'b')).status == 'ok'
    poll_vote(aud, 'attendee-1', 0)
    poll_vote(aud, 'attendee-2', 0)
    poll_vote(aud, 'attendee-1', 1)
    assert poll_vote(aud, 'attendee-1', 2).result == ('2',)
    (poll,) = aud.read_audience('p1', ['polls']).polls
    assert poll['votes'] == [1, 1] and poll['total'] == 2
    assert aud.ballots_of('p1', 'attendee-1', ['P']) == {'P': 1}


def test_a_decided_change_is_refused_if_the_record_moved_on(aud):
    ask(aud)
    key = keys.question_key('p1', 'q1')
    stale = aud.change_record(
        'p1',
        'questions',
        key,
        'not-what-is-stored',
        'answering_now',
        '',
        'q1',
        {'state': 'answered'},
        now=NOW,
    )
    assert stale.status == 'conflict'
    assert aud._redis.hget(key, 'state') == 'approved'
    read = aud.get_record(key)['updated_at']
    done = aud.change_record(
        'p1',
        'questions',
        key,
        read,
        'answering_now',
        '',
        'q1',
        {'state': 'answered'},
        now=NOW,
    )
    assert done.status == 'ok'
    assert aud.read_audience('p1', []).answering_now == 'q1'


# Convergence through Redis: the stored operations commute -----------------------


@settings(max_examples=40, deadline=None)
@given(interleavings(st.booleans()))
def test_stored_votes_converge_in_any_interleaving(case):
    per_identity, order = case
    aud = new_audience()
    ask(aud)
    for identity, voted in order:
        vote(aud, identity, voted)
    expected = sorted(i for i, ops in per_identity.items() if ops and ops[-1])
    assert sorted(aud._redis.smembers(keys.voters_key('p1', 'q1'))) == expected
    assert aud.read_audience('p1', ['questions']).questions[0]['votes'] == len(expected)


@settings(max_examples=40, deadline=None)
@given(interleavings(st.integers(0, 2)))
def test_stored_poll_tallies_converge_in_any_interleaving(case):
    per_identity, order = case
    aud = new_audience()
    open_poll(aud)
    for identity, option in order:
        poll_vote(aud, identity, option)
    last = [ops[-1] for ops in per_identity.values() if ops]
    (poll,) = aud.read_audience('p1', ['polls']).polls
    assert poll['votes'] == [last.count(k) for k in range(3)]


@settings(max_examples=40, deadline=None)
@given(interleavings(st.tuples(st.booleans(), st.integers(0, 1000))))
def test_stored_hand_queue_converges_in_any_interleaving(case):
    per_identity, order = case
    aud = new_audience()
    for identity, (raised, at) in order:
        operation = 'raise' if raised else 'lower'
        aud.change_hand('p1', operation, identity, now=NOW + at, counted=None)
    expected = {}
    for identity, ops in per_identity.items():
        first = None
        for raised, at in ops:
            first = None if not raised else first if first is not None else at
        if first is not None:
            expected[identity] = int((NOW + first) * 1000)
    assert aud.read_audience('p1', ['hands']).hands == expected


# Stage ----------------------------------------------------------------------


def invite(aud, identity='attendee-1', name='Ann', slots=3):
    return aud.change_stage(
        'p1',
        lambda state: stage.invite(
            state, identity, name, slots=slots, at_ms=int(NOW * 1000)
        ),
        now=NOW,
    )


def test_the_stage_is_stored_versioned_and_published(aud):
    pubsub = aud._redis.pubsub()
    pubsub.subscribe(CHANGES_CHANNEL)
    first = invite(aud)
    assert first.status == 'ok' and first.result == '1'
    assert first.version == int(NOW * 1000)  # starts at the clock, like hands
    second = invite(aud, 'attendee-2', 'Bob')
    assert second.result == '2' and second.version == first.version + 1
    state, version = aud.read_stage('p1')
    assert version == second.version
    assert [seat['identity'] for seat in state['slots'].values()] == [
        'attendee-1',
        'attendee-2',
    ]
    assert published(pubsub)[1:] == ['p1 stage', 'p1 stage']
    assert aud._redis.ttl(keys.stage_key('p1')) > keys.AUDIENCE_TTL - 5
    snapshot = aud.read_audience('p1', ['stage'])
    assert snapshot.stage == state and snapshot.versions['stage'] == version
    pubsub.close()


def test_a_stage_change_that_changes_nothing_writes_nothing(aud):
    invite(aud)
    _, before = aud.read_stage('p1')
    outcome = aud.change_stage(
        'p1', lambda state: (stage.leave(state, 'attendee-9'), None), now=NOW
    )
    assert outcome.status == 'ok' and outcome.version == before
    assert aud.read_stage('p1')[1] == before


def test_freeing_the_last_slot_empties_the_stage(aud):
    invite(aud)
    aud.change_stage(
        'p1', lambda state: (stage.leave(state, 'attendee-1'), None), now=NOW
    )
    assert aud.read_stage('p1')[0] == stage.empty()
    assert not aud._redis.exists(keys.stage_key('p1'))


def test_a_full_stage_refuses_and_the_refusal_reaches_the_caller(aud):
    for n in range(3):
        invite(aud, f'attendee-{n}')
    with pytest.raises(stage.StageError) as refused:
        invite(aud, 'attendee-9')
    assert refused.value.status == 409


def test_a_stage_write_that_lost_a_race_runs_again_on_the_new_state(aud):
    raced = []

    def transition(state):
        if not raced:  # another writer takes slot 1 between our read and write
            raced.append(True)
            invite(aud, 'attendee-2', 'Bob')
        return stage.invite(state, 'attendee-1', 'Ann', slots=3, at_ms=0)

    outcome = aud.change_stage('p1', transition, now=NOW)
    assert outcome.status == 'ok' and outcome.result == '2'
    state, _ = aud.read_stage('p1')
    assert {slot: seat['identity'] for slot, seat in state['slots'].items()} == {
        '1': 'attendee-2',
        '2': 'attendee-1',
    }


def test_the_stage_of_an_ended_presentation_does_not_change(aud):
    aud.base.end_presentation('p1', 5)
    assert invite(aud).status == 'ended'
    assert aud.read_stage('p1') == (stage.empty(), 0)
