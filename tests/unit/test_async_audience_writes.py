"""AsyncAudienceWrites (redis.asyncio) stores and answers what AudienceStore does.

The token worker awaits asks, upvotes and reactions on its event loop; these
tests replay one sequence of writes through each store, on separate fakeredis
servers, and compare every outcome and every key.
"""

from __future__ import annotations

import asyncio

import fakeredis

from podium.store import AsyncAudienceWrites, AudienceStore, Store
from tests.unit.test_async_room_state import _snapshot
from tests.unit.test_store import PRESENTATION, seed

NOW = 1_700_000_000.0
LIMITED = ('votes', 'PA1', 60, 3)  # at most 3 a minute: the 4th is refused


def _writes(now: float = NOW):
    """(method, args, kwargs) of a talk's first minute, refusals included."""
    ask = {
        'identity': 'PA1',
        'anonymous': False,
        'now': now,
        'counted': None,
        'max_questions': 2,
    }
    return [
        ('ask_question', (PRESENTATION, 'q1'), {'text': 'Why?', **ask}),
        (
            'ask_question',
            (PRESENTATION, 'q2'),
            {**ask, 'text': 'How?', 'anonymous': True},
        ),
        ('ask_question', (PRESENTATION, 'q3'), {**ask, 'text': 'Full?'}),  # cap
        ('ask_question', ('nosuch', 'q1'), {'text': 'Lost?', **ask}),
        *[
            (
                'vote_question',
                (PRESENTATION, 'q1', 'PA1', voted),
                {'now': now, 'counted': LIMITED},
            )
            for voted in (True, True, False, True)  # idempotent, then rate
        ],
        (
            'vote_question',
            (PRESENTATION, 'q9', 'PA2', True),
            {'now': now, 'counted': None},
        ),  # no such question
        *[
            ('react', (PRESENTATION, emoji, 42), {'now': now, 'counted': None})
            for emoji in ('👏', '👏', '❤️')
        ],
    ]


def _pair() -> tuple[AudienceStore, AsyncAudienceWrites, Store]:
    sync_store = Store(fakeredis.FakeRedis(decode_responses=True))
    seed(sync_store)
    async_server = fakeredis.FakeServer()
    async_base = Store(fakeredis.FakeRedis(server=async_server, decode_responses=True))
    seed(async_base)
    writes = AsyncAudienceWrites(
        fakeredis.FakeAsyncRedis(server=async_server, decode_responses=True)
    )
    return AudienceStore(sync_store), writes, async_base


def test_async_writes_answer_and_store_what_the_sync_store_does():
    sync, writes, async_base = _pair()
    sync_outcomes = [getattr(sync, name)(*a, **kw) for name, a, kw in _writes()]

    async def replay():
        return [await getattr(writes, name)(*a, **kw) for name, a, kw in _writes()]

    async_outcomes = asyncio.run(replay())
    assert async_outcomes == sync_outcomes
    statuses = [outcome.status for outcome in async_outcomes]
    assert statuses == [
        'ok',
        'ok',
        'full',
        'no-presentation',
        'ok',
        'ok',
        'ok',
        'rate',
        'no-question',
        'ok',
        'ok',
        'ok',
    ]
    assert _snapshot(async_base.client) == _snapshot(sync.base.client)
    assert sync.reaction_counts(PRESENTATION, 42) == {'👏': 2, '❤️': 1}


def test_a_refused_vote_says_when_to_retry_like_the_sync_store():
    _, writes, _ = _pair()
    now = NOW + 10
    vote = ((PRESENTATION, 'q1', 'PA1', True), {'now': now, 'counted': LIMITED})

    async def four_votes():
        await writes.ask_question(PRESENTATION, 'q1', **_writes()[0][2])
        return [await writes.vote_question(*vote[0], **vote[1]) for _ in range(4)]

    *allowed, refused = asyncio.run(four_votes())
    assert [outcome.status for outcome in allowed] == ['ok'] * 3
    assert refused.status == 'rate'
    # Windows are aligned on the minute: retry when this one ends.
    assert refused.retry_after == 60 - int(now) % 60
