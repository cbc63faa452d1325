"""Presentation state as JSON and as a Server-Sent Events stream."""

from __future__ import annotations

import asyncio
import json

import falcon.testing
import pytest

from web_service.app import create_app
from web_service.changes import ChangeHub
from web_service.live import Disconnect, PresentationEvents


@pytest.fixture
def config(web_config):
    """This module's service config stands in for the token service's."""
    return web_config


WAIT = 5.0  # seconds a test waits for something that should come at once


@pytest.fixture
def presentation(store) -> str:
    store.create_presentation({'id': 'p1', 'title': 'Talk', 'created_at': '1'})
    return 'p1'


def reader(store):
    async def read_view(presentation_id):
        return store.read_view(presentation_id)

    return read_view


def parse(event) -> dict:
    """Return the fields of one serialized SSE event."""
    fields = {}
    for line in event.serialize().decode().splitlines():
        name, _, value = line.partition(': ')
        fields[name] = value
    return fields


def test_state_json(config, store, presentation):
    client = falcon.testing.TestClient(create_app(config, store=store))
    result = client.simulate_get('/live/presentations/p1')
    assert result.status_code == 200
    assert result.headers['cache-control'] == 'no-store'
    assert result.json == store.read_view('p1')
    assert result.json['status'] == 'waiting'


@pytest.mark.parametrize(
    'path', ['/live/presentations/nope', '/live/presentations/nope/events']
)
def test_unknown_presentation_is_a_json_404(config, store, path):
    client = falcon.testing.TestClient(create_app(config, store=store))
    result = client.simulate_get(path)
    assert result.status_code == 404
    assert result.json['title'] == 'Presentation not found'


def test_stream_sends_the_view_then_each_change(store, presentation):
    async def scenario():
        hub = ChangeHub(reader(store), coalesce=0)
        stream = PresentationEvents(reader(store), hub).stream('p1', '')
        first = parse(await anext(stream))
        assert first['event'] == 'state'
        assert first['id'] == '0.0.0.0.0'  # state, questions, hands, polls, stage
        assert json.loads(first['data']) == store.read_view('p1')
        assert first['retry'] == '2000'

        store.end_presentation('p1', ended_at=1000)
        hub.notify('p1')
        pushed = parse(await asyncio.wait_for(anext(stream), WAIT))
        assert pushed['id'] == '1.0.0.0.0'
        assert json.loads(pushed['data'])['status'] == 'ended'
        await stream.aclose()
        assert hub.watching('p1') == 0

    asyncio.run(scenario())


def test_stream_does_not_resend_what_the_client_has(store, presentation):
    async def scenario():
        hub = ChangeHub(reader(store), coalesce=0)
        stream = PresentationEvents(reader(store), hub, keepalive=WAIT).stream(
            'p1', '0'
        )
        first = parse(await anext(stream))
        assert 'data' not in first  # only the reconnection delay
        # A notification without a new version sends nothing...
        hub.notify('p1')
        store.end_presentation('p1', ended_at=1000)
        hub.notify('p1')
        # ...and the next event is the change itself.
        pushed = parse(await asyncio.wait_for(anext(stream), WAIT))
        assert pushed['id'] == '1.0.0.0.0'
        await stream.aclose()

    asyncio.run(scenario())


def test_stream_resends_when_the_client_is_behind(store, presentation):
    async def scenario():
        store.end_presentation('p1', ended_at=1000)
        hub = ChangeHub(reader(store))
        stream = PresentationEvents(reader(store), hub).stream('p1', '0')
        first = parse(await anext(stream))
        assert first['id'] == '1.0.0.0.0'
        await stream.aclose()

    asyncio.run(scenario())


def test_stream_keeps_idle_connections_alive(store, presentation):
    async def scenario():
        hub = ChangeHub(reader(store))
        stream = PresentationEvents(reader(store), hub, keepalive=0.01).stream('p1', '')
        await anext(stream)
        keepalive = await asyncio.wait_for(anext(stream), WAIT)
        assert keepalive.serialize() == b': keep-alive\n\n'
        await stream.aclose()

    asyncio.run(scenario())


def test_events_endpoint_streams_over_http(config, store, presentation):
    async def scenario():
        hub = ChangeHub(reader(store), coalesce=0)
        app = create_app(config, store=store, changes=hub, keepalive=0.05)
        async with falcon.testing.ASGIConductor(app) as conductor:
            async with conductor.simulate_get_stream(
                '/live/presentations/p1/events'
            ) as result:
                assert result.status_code == 200
                assert result.headers['content-type'] == 'text/event-stream'
                assert result.headers['cache-control'] == 'no-store'
                assert result.headers['x-accel-buffering'] == 'no'
                body = await read_until(result, b'\n\n')
                assert body.startswith(b'event: state\nid: 0.0.0.0.0\n')
                store.end_presentation('p1', ended_at=1000)
                hub.notify('p1')
                body = await read_until(result, b'id: 1.0.0.0.0\n')
                assert b'"status":"ended"' in body

    asyncio.run(scenario())


def test_events_endpoint_honours_last_event_id(config, store, presentation):
    async def scenario():
        hub = ChangeHub(reader(store), coalesce=0)
        app = create_app(config, store=store, changes=hub, keepalive=0.05)
        async with falcon.testing.ASGIConductor(app) as conductor:
            async with conductor.simulate_get_stream(
                '/live/presentations/p1/events', headers={'Last-Event-ID': '0'}
            ) as result:
                body = await read_until(result, b': keep-alive\n\n')
                assert b'event: state' not in body

    asyncio.run(scenario())


async def read_until(result, marker: bytes) -> bytes:
    """Read a streamed result until `marker` arrives (or fail after WAIT seconds)."""
    body = b''
    async with asyncio.timeout(WAIT):
        while marker not in body:
            body += await result.stream.read()
            await asyncio.sleep(0.005)
    return body


def test_a_client_leaving_ends_its_stream_without_waiting_for_a_keepalive(
    config, store, presentation
):
    async def scenario():
        hub = ChangeHub(reader(store))
        # A keep-alive far beyond the test's timeout: only the disconnect can end it.
        app = create_app(config, store=store, changes=hub, keepalive=3600)
        async with falcon.testing.ASGIConductor(app) as conductor:
            async with asyncio.timeout(WAIT):
                async with conductor.simulate_get_stream(
                    '/live/presentations/p1/events'
                ) as result:
                    await read_until(result, b'\n\n')
                    assert hub.watching('p1') == 1
        assert hub.watching('p1') == 0

    asyncio.run(scenario())


def test_a_stream_whose_client_left_already_ends_after_its_first_event(
    store, presentation
):
    async def scenario():
        hub = ChangeHub(reader(store))
        disconnect = Disconnect()
        disconnect.fire()
        events = PresentationEvents(reader(store), hub, keepalive=3600)
        stream = events.stream('p1', '', disconnect)
        await anext(stream)
        with pytest.raises(StopAsyncIteration):
            await asyncio.wait_for(anext(stream), WAIT)
        assert hub.watching('p1') == 0

    asyncio.run(scenario())
