"""ChangeHub: one Redis subscription per process, fanned out to the watchers."""

from __future__ import annotations

import asyncio

import fakeredis
import fakeredis.aioredis
import pytest
import redis

from podium.store import Store, version_key
from web_service.app import _pubsub_client_factory
from web_service.changes import ChangeHub

WAIT = 5.0


@pytest.fixture
def server() -> fakeredis.FakeServer:
    return fakeredis.FakeServer()


@pytest.fixture
def store(server) -> Store:
    store = Store(fakeredis.FakeRedis(server=server, decode_responses=True))
    store.create_presentation({'id': 'p1', 'title': 'Talk', 'created_at': '1'})
    return store


def reader(store):
    async def read_view(presentation_id):
        return store.read_view(presentation_id)

    return read_view


async def next_view(watch, predicate) -> dict:
    """Return the first view the watch gets that satisfies `predicate`."""
    async with asyncio.timeout(WAIT):
        while True:
            update = await watch.next(WAIT)
            view = update and update.state
            if view is not None and predicate(view):
                return view


def test_a_burst_of_changes_costs_one_read_for_all_watchers(store):
    async def scenario():
        hub = ChangeHub(reader(store), coalesce=0.01)
        async with hub.watch('p1') as a, hub.watch('p1') as b, hub.watch('p1') as c:
            for _ in range(100):
                hub.notify('p1')
            views = [
                (await asyncio.wait_for(w.next(WAIT), WAIT)).state for w in (a, b, c)
            ]
        assert hub.reads == 1
        assert views[0] is views[1] is views[2]

    asyncio.run(scenario())


def test_presentations_nobody_watches_are_not_read(store):
    async def scenario():
        hub = ChangeHub(reader(store), coalesce=0)
        hub.notify('p1')
        async with hub.watch('p2') as other:
            hub.notify('p2')
            assert await other.next(0.05) is None  # p2 does not exist
        assert hub.reads == 1

    asyncio.run(scenario())


def test_a_slow_watcher_gets_only_the_newest_view(store):
    async def scenario():
        hub = ChangeHub(reader(store), coalesce=0)
        async with hub.watch('p1') as watch:
            watch.offer({'version': 1})
            watch.offer({'version': 2})
            assert (await watch.next(WAIT)).state == {'version': 2}
            assert await watch.next(0.01) is None

    asyncio.run(scenario())


def test_changes_published_in_redis_reach_the_watchers(server, store):
    async def scenario():
        hub = ChangeHub(
            reader(store),
            subscriber=lambda: fakeredis.aioredis.FakeRedis(server=server),
            coalesce=0,
        )
        try:
            async with hub.watch('p1') as watch:
                await asyncio.wait_for(hub.subscribed.wait(), WAIT)
                store.end_presentation('p1', ended_at=1000)  # publishes 'p1'
                view = await next_view(watch, lambda v: v['status'] == 'ended')
                assert view['version'] == 1
        finally:
            await hub.stop()

    asyncio.run(scenario())


class Unreachable:
    """A Redis client whose server is down."""

    def pubsub(self, **kwargs):
        raise redis.ConnectionError('Connection refused')

    async def aclose(self):
        pass


def test_the_hub_resubscribes_and_catches_up_after_redis_comes_back(server, store):
    made = []

    def subscriber():
        made.append(1)
        if len(made) < 3:
            return Unreachable()
        return fakeredis.aioredis.FakeRedis(server=server)

    async def scenario():
        hub = ChangeHub(
            reader(store), subscriber=subscriber, coalesce=0, min_backoff=0.001
        )
        try:
            async with hub.watch('p1') as watch:
                # Changed while nobody listened: no message will ever say so.
                store.end_presentation('p1', ended_at=1000)
                view = await next_view(watch, lambda v: v['status'] == 'ended')
                assert view['version'] == 1
                assert len(made) == 3
        finally:
            await hub.stop()

    asyncio.run(scenario())


def test_the_hub_survives_losing_its_redis_connection(redis_server, real_store):
    """Redis drops the subscriber's connection: the hub resubscribes and catches up."""
    real_store.create_presentation({'id': 'p1', 'title': 'Talk', 'created_at': '1'})

    async def scenario():
        hub = ChangeHub(
            reader(real_store),
            subscriber=_pubsub_client_factory(redis_server),
            coalesce=0,
            min_backoff=0.01,
        )
        try:
            async with hub.watch('p1') as watch:
                await asyncio.wait_for(hub.subscribed.wait(), WAIT)
                await next_view(watch, lambda v: v['version'] == 0)  # the catch-up read
                killed = real_store.client.client_kill_filter(_type='pubsub')
                assert killed == 1
                # A change nobody announces: the hub must read it when resubscribed.
                real_store.client.incr(version_key('p1'))
                view = await next_view(watch, lambda v: v['version'] == 1)
                assert view['status'] == 'waiting'
        finally:
            await hub.stop()

    asyncio.run(scenario())
