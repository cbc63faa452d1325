"""AsyncRoomState (redis.asyncio) stores exactly what the sync Store stores.

Both go through the same merge target and compare-and-set script; these tests
replay one callback log through each, on separate fakeredis servers, and compare
every key, and check the async path's conflict handling on a shared server.
"""

from __future__ import annotations

import asyncio

import fakeredis

from podium.store import AsyncRoomState, Store, participant_key
from tests.unit.test_store import PRESENTATION, ROOM, attendee, event, presenter, seed

LOG = [
    event('room-created'),
    presenter('participant-connected', ts=2),
    presenter('track-added', ts=3, track_sid='MT0', track_kind='video'),
    attendee('participant-connected', 'PA1', ts=4),
    attendee('participant-connected', 'PA2', ts=5),
    attendee('participant-connected', 'PA1', ts=4),  # a duplicate
    attendee('participant-disconnected', 'PA2', ts=6),
    presenter('track-disabled', ts=7, track_sid='MT0', track_kind='video'),
]


def _snapshot(client) -> dict:
    """Every key's type and value (sets sorted), TTLs left out."""
    found = {}
    for key in sorted(client.keys('*')):
        kind = client.type(key)
        if kind == 'string':
            found[key] = client.get(key)
        elif kind == 'set':
            found[key] = sorted(client.smembers(key))
        elif kind == 'hash':
            found[key] = client.hgetall(key)
    return found


def _pair() -> tuple[Store, AsyncRoomState]:
    server = fakeredis.FakeServer()
    sync = Store(fakeredis.FakeRedis(server=server, decode_responses=True))
    seed(sync)
    return sync, AsyncRoomState(
        fakeredis.FakeAsyncRedis(server=server, decode_responses=True)
    )


def test_async_apply_event_writes_what_the_sync_store_writes():
    sync_only, _ = _pair()
    sync_results = [sync_only.apply_event(e) for e in LOG]
    seeded, async_state = _pair()

    async def replay() -> list[bool]:
        return [await async_state.apply_event(e) for e in LOG]

    async_results = asyncio.run(replay())
    assert async_results == sync_results
    assert async_results.count(False) == 1  # the duplicate, answered from Redis
    assert _snapshot(seeded.client) == _snapshot(sync_only.client)
    assert seeded.read_view(PRESENTATION) == sync_only.read_view(PRESENTATION)


def test_async_apply_event_merges_into_what_another_worker_wrote():
    sync, async_state = _pair()

    async def scenario() -> None:
        assert await async_state.apply_event(attendee('participant-connected', 'PA1'))
        # Another worker writes behind this process's remembered guess.
        assert sync.apply_event(attendee('participant-disconnected', 'PA1', ts=9))
        added = attendee('track-added', 'PA1', ts=5, track_sid='MT1')
        assert await async_state.apply_event(added)
        assert not await async_state.apply_event(added)

    asyncio.run(scenario())
    record = sync.client.get(participant_key(ROOM, 'PA1'))
    assert '"MT1"' in record
    assert sync.read_view(PRESENTATION)['attendees']['count'] == 0


def test_async_apply_event_never_skips_a_callback_the_store_lost():
    sync, async_state = _pair()
    joined = attendee('participant-connected', 'PA1')

    async def scenario() -> None:
        assert await async_state.apply_event(joined)
        sync.client.delete(participant_key(ROOM, 'PA1'))
        assert await async_state.apply_event(joined)
        assert not await async_state.apply_event(joined)

    asyncio.run(scenario())
    assert sync.client.get(participant_key(ROOM, 'PA1')) is not None
