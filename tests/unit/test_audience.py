"""Audience interaction as pure functions, and why concurrent writes converge."""

from __future__ import annotations

import pytest
from hypothesis import given
from hypothesis import strategies as st

from podium import audience
from podium.audience import InvalidInput

NOW = 1_700_000_000_000


def question(**fields) -> dict:
    return {'id': 'q1', 'state': audience.APPROVED, **fields}


# Text ---------------------------------------------------------------------------


def test_text_is_stripped():
    assert audience.clean_text('  Why?  ', 'text', 500) == 'Why?'


@pytest.mark.parametrize(
    ('value', 'says'),
    [
        (None, 'must be a string'),
        (42, 'must be a string'),
        ('', 'must not be empty'),
        ('   \t ', 'must not be empty'),
        ('x' * 501, 'at most 500 characters long (it has 501)'),
        ('two\nlines', 'control characters (found U+000A)'),
        ('nul\x00', 'U+0000'),
        ('del\x7f', 'U+007F'),
        ('c1\x85inside', 'U+0085'),
        ('lone \ud800 surrogate', 'lone surrogate'),
    ],
)
def test_bad_text_is_refused_with_a_reason(value, says):
    with pytest.raises(InvalidInput, match=r'"text"') as caught:
        audience.clean_text(value, 'text', 500)
    assert says in str(caught.value)
    assert caught.value.field == 'text'


def test_length_counts_characters_not_bytes():
    assert audience.clean_text('🎉' * 500, 'text', 500) == '🎉' * 500


@pytest.mark.parametrize(
    'options', [['one'], ['a'] * 7, 'a,b', [1, 2], ['a', 'a'], ['a', ' ']]
)
def test_bad_poll_options_are_refused(options):
    with pytest.raises(InvalidInput):
        audience.clean_options(options)


def test_poll_options_are_cleaned():
    assert audience.clean_options([' Yes ', 'No']) == ['Yes', 'No']


# Questions ----------------------------------------------------------------------


def test_answering_now_approves_a_pending_question():
    change = audience.change_question(
        question(state=audience.PENDING), '', state=None, answering=True, now_ms=NOW
    )
    assert change.fields == {
        'state': 'approved',
        'approved_at': str(NOW),
        'updated_at': str(NOW),
    }
    assert change.answering_now == 'q1'


def test_answering_or_dismissing_ends_answering_now():
    for state in (audience.ANSWERED, audience.DISMISSED):
        change = audience.change_question(
            question(), 'q1', state=state, answering=None, now_ms=NOW
        )
        assert change.fields['state'] == state
        assert change.answering_now == ''


def test_answering_now_moves_to_another_question():
    change = audience.change_question(
        question(), 'q0', state=None, answering=True, now_ms=NOW
    )
    assert change.fields == {}
    assert change.answering_now == 'q1'


def test_unsetting_answering_now_of_another_question_changes_nothing():
    change = audience.change_question(
        question(), 'q0', state=None, answering=False, now_ms=NOW
    )
    assert change == audience.QuestionChange({}, None)


def test_a_repeated_state_changes_nothing():
    change = audience.change_question(
        question(), '', state=audience.APPROVED, answering=None, now_ms=NOW
    )
    assert change == audience.QuestionChange({}, None)


def test_a_dismissed_question_is_not_answered_now():
    with pytest.raises(InvalidInput, match='dismissed'):
        audience.change_question(
            question(state=audience.DISMISSED),
            '',
            state=None,
            answering=True,
            now_ms=NOW,
        )


def test_unknown_question_state_is_refused():
    with pytest.raises(InvalidInput, match='approved, answered, dismissed'):
        audience.change_question(
            question(), '', state='pending', answering=None, now_ms=NOW
        )


def record(qid, votes, asked_at, state=audience.APPROVED, identity='attendee-x'):
    return {
        'id': qid,
        'text': qid,
        'author': None,
        'identity': identity,
        'state': state,
        'votes': votes,
        'asked_at': asked_at,
        'answered_at': None,
    }


def test_public_questions_sorted_by_votes_then_age_without_hidden_ones():
    records = [
        record('old', 1, 1),
        record('top', 5, 3),
        record('new', 1, 2),
        record('waiting', 9, 0, state=audience.PENDING),
        record('gone', 9, 0, state=audience.DISMISSED),
        record('done', 0, 0, state=audience.ANSWERED),
    ]
    view = audience.questions_view(records, 'waiting', True, 7)
    assert [q['id'] for q in view['questions']] == ['top', 'old', 'new', 'done']
    assert view['pending'] == 1
    assert view['answering_now'] is None  # not a visible question
    assert view['version'] == 7 and view['moderated'] is True
    assert all('identity' not in q for q in view['questions'])


# Polls --------------------------------------------------------------------------


def poll(state, visibility=audience.AFTER_VOTE) -> dict:
    return {
        'id': 'P',
        'question': 'Q',
        'options': ['a', 'b'],
        'state': state,
        'visibility': visibility,
        'votes': [2, 1],
        'total': 3,
    }


def test_public_polls_show_tallies_only_once_closed_and_never_drafts():
    view = audience.polls_view(
        [poll(audience.DRAFT), poll(audience.OPEN), poll(audience.CLOSED)], 3
    )
    assert [(p['state'], p['votes']) for p in view['polls']] == [
        ('open', None),
        ('closed', [2, 1]),
    ]
    assert view['polls'][0]['total'] == 3


def test_results_visibility():
    assert audience.results_visible(poll(audience.OPEN), has_voted=True)
    assert not audience.results_visible(poll(audience.OPEN), has_voted=False)
    hidden = poll(audience.OPEN, audience.AFTER_CLOSE)
    assert not audience.results_visible(hidden, has_voted=True)
    assert audience.results_visible(
        poll(audience.CLOSED, audience.AFTER_CLOSE), has_voted=False
    )


def test_poll_transitions():
    assert audience.change_poll({'state': 'draft'}, 'open', NOW) == {
        'state': 'open',
        'opened_at': str(NOW),
        'updated_at': str(NOW),
    }
    assert audience.change_poll({'state': 'open'}, 'open', NOW) == {}
    with pytest.raises(InvalidInput):
        audience.change_poll({'state': 'open'}, 'draft', NOW)


@pytest.mark.parametrize('option', [-1, 2, True, '1', 1.0, None])
def test_bad_options_are_refused(option):
    with pytest.raises(InvalidInput, match='"option"'):
        audience.check_option(option, 2)


# Convergence: any interleaving of concurrent writes ends in the same state -------

IDENTITIES = st.sampled_from([f'attendee-{i}' for i in range(5)])


def interleavings(ops_strategy):
    """Per-identity sequences of operations, and one interleaving of them.

    One person's requests are sequential (a page waits for each answer), so an
    interleaving keeps each identity's order and mixes the identities freely.
    """

    @st.composite
    def build(draw):
        per_identity = draw(
            st.dictionaries(IDENTITIES, st.lists(ops_strategy, max_size=8))
        )
        queues = {k: list(v) for k, v in per_identity.items() if v}
        order = []
        while queues:
            identity = draw(st.sampled_from(sorted(queues)))
            order.append((identity, queues[identity].pop(0)))
            if not queues[identity]:
                del queues[identity]
        return per_identity, order

    return build()


@given(interleavings(st.booleans()))
def test_votes_converge_to_each_persons_last_word(case):
    per_identity, order = case
    voters = frozenset()
    for identity, voted in order:
        voters = audience.toggle_vote(voters, identity, voted)
    expected = {i for i, ops in per_identity.items() if ops and ops[-1]}
    assert voters == expected


@given(interleavings(st.integers(0, 3)))
def test_poll_tallies_converge(case):
    per_identity, order = case
    ballots: dict[str, int] = {}
    for identity, option in order:
        ballots = audience.cast_ballot(ballots, identity, option)
    last = {i: ops[-1] for i, ops in per_identity.items() if ops}
    assert ballots == last
    assert audience.tally(ballots, 4) == [
        sum(1 for o in last.values() if o == k) for k in range(4)
    ]


HAND_OPS = st.tuples(st.sampled_from(['raise', 'lower']), st.integers(0, 1000))


@given(interleavings(HAND_OPS))
def test_hand_queue_converges_to_first_raise_since_last_lowering(case):
    """Applied at the times they carry, the queue only depends on those times."""
    per_identity, order = case
    hands: dict[str, int] = {}
    for identity, (op, at) in order:
        if op == 'raise':
            hands = audience.raise_hand(hands, identity, at)
        else:
            hands = audience.lower_hand(hands, identity)
    expected = {}
    for identity, ops in per_identity.items():
        raised_at = None
        for op, at in ops:
            if op == 'lower':
                raised_at = None
            elif raised_at is None:
                raised_at = at
        if raised_at is not None:
            expected[identity] = raised_at
    assert hands == expected
    queue = audience.hand_queue(hands, {})
    assert [h['raised_at'] for h in queue] == sorted(expected.values())
