"""Fuzz the web service against its own OpenAPI document with schemathesis.

In process (ASGI) on fakeredis. The event stream would never end, so the fuzzed
app ends each stream after its first event (`stream_limit=1`): the fuzzer still
reaches the stream with any Last-Event-ID header and last_event_id parameter.
"""

from __future__ import annotations

import asyncio
import json

import fakeredis
import falcon.testing
import pytest
import schemathesis
from hypothesis import HealthCheck, settings

from podium.config import WebConfig
from podium.store import Store
from tests.conftest import TEST_ENV
from tests.openapi_fuzz import (
    CRAFTED_IDS,
    DOT_SEGMENT_IDS,
    FUZZ_EXAMPLES,
    check_response,
    crafted_id_cases,
    flatmap_path_parameters,
    id_operation_count,
)
from web_service.app import create_app
from web_service.changes import ChangeHub
from web_service.openapi import OPENAPI_PATH

CONFIG = WebConfig.from_env(TEST_ENV)
PAGE_PATHS = (
    '/',
    '/presentations/{presentation_id}',
    '/presentations/{presentation_id}/present',
)


def fuzz_app(*, room: bool = False, **options):
    store = Store(fakeredis.FakeRedis(decode_responses=True))
    # The document's example id, so examples reach past 404.
    store.create_presentation({'id': 'demo-talk', 'title': 'Demo', 'created_at': '1'})
    if room:
        # Its version and rooms keys exist too, which crafted ids such as
        # 'demo-talk:version' would name if ids reached the store unchecked.
        store.set_room('demo-talk', 'RM' + 'a' * 32, 0)

    async def read_view(presentation_id):
        return store.read_view(presentation_id)

    return create_app(CONFIG, store=store, changes=ChangeHub(read_view), **options)


FUZZ = settings(
    max_examples=FUZZ_EXAMPLES, deadline=None, suppress_health_check=list(HealthCheck)
)

# Loaded at import: schemathesis's lazy `from_fixture` does not run on pytest 9.
schema = schemathesis.openapi.from_asgi(
    OPENAPI_PATH, fuzz_app(room=True, stream_limit=1)
)


def check_page(case, response) -> None:
    """Pages: schemathesis's checks, and 404s are the friendly HTML page."""
    case.validate_response(response)
    assert response.status_code < 500, response.text
    if response.status_code == 404:
        assert response.headers['content-type'][0].startswith('text/html')
        assert 'Not found' in response.text
    elif response.status_code >= 400:
        check_response(case, response, error_shape='problem')


@schema.hooks.apply(flatmap_path_parameters)
@schema.exclude(path=list(PAGE_PATHS)).parametrize()
@FUZZ
def test_live_state_and_static_files_conform_and_never_fail(case):
    check_response(case, case.call(), error_shape='problem')


@schema.hooks.apply(flatmap_path_parameters)
@schema.include(path=list(PAGE_PATHS)).parametrize()
@FUZZ
def test_pages_conform_and_never_fail(case):
    check_page(case, case.call())


def test_crafted_ids_are_404s_on_every_operation():
    cases = crafted_id_cases(schema)
    assert len(cases) == id_operation_count(schema) * len(CRAFTED_IDS)
    assert id_operation_count(schema) >= 4
    for case in cases:
        response = case.call()
        if case.path.startswith('/live/'):
            check_response(case, response, error_shape='problem')
        else:
            check_page(case, response)
        if case.path_parameters['presentation_id'] not in DOT_SEGMENT_IDS:
            assert response.status_code == 404, (case.path_parameters, response.text)


# Direct checks ----------------------------------------------------------------------


@pytest.fixture
def client() -> falcon.testing.TestClient:
    return falcon.testing.TestClient(fuzz_app(stream_limit=1))


def assert_explained(result, status: int) -> None:
    assert result.status_code == status, result.text
    assert result.headers['content-type'].startswith('application/json')
    assert result.json['title'] and result.json['description'], result.json


def events(result) -> list[dict]:
    """Return the fields of each event of a finished SSE response."""
    parsed = []
    for block in result.text.split('\n\n'):
        fields = dict(line.partition(': ')[::2] for line in block.splitlines() if line)
        if fields:
            parsed.append(fields)
    return parsed


def test_the_document_is_served_and_lists_every_route(client):
    document = client.simulate_get(OPENAPI_PATH)
    assert document.status_code == 200
    assert set(document.json['paths']) == {
        *PAGE_PATHS,
        '/live/healthz',
        '/live/livez',
        '/live/readyz',
        '/live/presentations/{presentation_id}',
        '/live/presentations/{presentation_id}/events',
        '/static/vendor/twilio-video.min.js',
        '/static/{path}',
        OPENAPI_PATH,
    }
    events_get = document.json['paths']['/live/presentations/{presentation_id}/events']
    assert set(events_get['get']['responses']['200']['content']) == {
        'text/event-stream'
    }


@pytest.mark.parametrize(
    'path',
    [
        '/',
        '/presentations/demo-talk',
        '/live/healthz',
        '/live/presentations/demo-talk',
        '/live/presentations/demo-talk/events',
        '/static/js/attendee.js',
        '/static/vendor/twilio-video.min.js',
        '/nowhere',
    ],
)
@pytest.mark.parametrize('method', ['GET', 'POST', 'PUT'])
def test_any_request_body_is_refused_with_413(client, path, method):
    result = client.simulate_request(method, path, body='x' * 100_000)
    assert_explained(result, 413)
    small = client.simulate_request(method, path, body='{}')
    assert_explained(small, 413)


def test_a_chunked_body_without_length_is_refused_too():
    async def scenario():
        async with falcon.testing.ASGIConductor(fuzz_app()) as conductor:
            return await conductor.simulate_get(
                '/live/healthz', headers={'Transfer-Encoding': 'chunked'}
            )

    assert_explained(asyncio.run(scenario()), 413)


@pytest.mark.parametrize(
    ('method', 'path'),
    [
        ('POST', '/'),
        ('DELETE', '/presentations/demo-talk'),
        ('PUT', '/live/presentations/demo-talk'),
        ('POST', '/live/presentations/demo-talk/events'),
        ('DELETE', '/static/js/attendee.js'),
        ('POST', '/static/vendor/twilio-video.min.js'),
    ],
)
def test_other_methods_are_explained_405s(client, method, path):
    assert_explained(client.simulate_request(method, path), 405)


@pytest.mark.parametrize(
    'path',
    [
        '/static/nope.js',
        '/static/js/',
        '/static/%2e%2e/app.py',
        '/static/js%2F..%2F..%2Fapp.py',
        '/live/nowhere',
        '/live/presentations/' + 'x' * 10_000,
        '/live/presentations/' + 'x' * 10_000 + '/events',
        '/live/presentations/%00/events',
    ],
)
def test_unknown_live_and_static_paths_are_explained_json_404s(client, path):
    assert_explained(client.simulate_get(path), 404)


@pytest.mark.parametrize(
    'path', ['/nowhere', '/presentations/nope', '/presentations/' + 'x' * 10_000]
)
def test_unknown_pages_are_the_html_404_page(client, path):
    result = client.simulate_get(path)
    assert result.status_code == 404
    assert result.headers['content-type'].startswith('text/html')


@pytest.mark.parametrize(
    'last_event_id',
    [
        'x' * 100_000,
        '0' * 5_000,
        '-1',
        '1e309',
        '0\u00e9\u00ff',
        ' 0 ',
        '',
    ],
)
def test_odd_last_event_ids_get_the_current_view(client, last_event_id):
    """Anything but the current version, however long or odd, means "send it"."""
    for result in (
        client.simulate_get(
            '/live/presentations/demo-talk/events',
            headers={'Last-Event-ID': last_event_id},
        ),
        client.simulate_get(
            '/live/presentations/demo-talk/events',
            params={'last_event_id': last_event_id},
        ),
    ):
        assert result.status_code == 200
        assert result.headers['content-type'].startswith('text/event-stream')
        first = events(result)[0]
        if last_event_id.strip() == '0':  # the state version the client has
            assert first['event'] != 'state', first  # audience data only
        else:
            assert first['event'] == 'state', first
            assert json.loads(first['data'])['version'] == 0


def test_the_current_version_as_last_event_id_sends_no_view_again(client):
    result = client.simulate_get(
        '/live/presentations/demo-talk/events', headers={'Last-Event-ID': '0'}
    )
    assert result.status_code == 200
    assert [e for e in events(result) if e.get('event') == 'state'] == []
