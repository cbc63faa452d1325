"""Liveness and readiness apart: a Redis outage fails readyz, never livez."""

from __future__ import annotations

import asyncio

import falcon.testing
import pytest
import redis
from prometheus_client import REGISTRY

from podium import health
from podium.config import WebConfig
from tests.unit.test_publish_guard import FakeRoomsClient
from tests.unit.test_token_service import FakeClock, FakeRooms
from token_service.app import create_app as token_app
from web_service.app import create_app as web_app
from webhooks.app import create_app as webhooks_app


class DownRedis:
    def ping(self):
        raise redis.ConnectionError('refused')


@pytest.fixture
def apps(config, webhooks_config, store):
    return {
        '/api': token_app(config, store=store, rooms=FakeRooms(), clock=FakeClock()),
        '/webhooks': webhooks_app(
            webhooks_config,
            store=store,
            watch=False,
            client_factory=lambda config: FakeRoomsClient(),
        ),
    }


@pytest.mark.parametrize('prefix', ['/api', '/webhooks'])
def test_ready_with_redis_and_alive_without(apps, store, prefix, monkeypatch):
    client = falcon.testing.TestClient(apps[prefix])
    ready = client.simulate_get(f'{prefix}/readyz')
    assert ready.status_code == 200
    assert ready.json == {'status': 'ready', 'checks': {'redis': 'ok'}}
    assert ready.headers['cache-control'] == 'no-store'
    # Redis goes away: not ready, still alive (no restart for a dependency's outage).
    monkeypatch.setattr(store, '_redis', DownRedis())
    service = 'token_service' if prefix == '/api' else 'webhooks'
    errors = REGISTRY.get_sample_value(
        'podium_redis_errors_total', {'service': service}
    )
    down = client.simulate_get(f'{prefix}/readyz')
    assert down.status_code == 503
    assert down.json == {'status': 'unavailable', 'checks': {'redis': 'unavailable'}}
    assert client.simulate_get(f'{prefix}/livez').json == {'status': 'alive'}
    after = REGISTRY.get_sample_value('podium_redis_errors_total', {'service': service})
    assert after == (errors or 0) + 1


def test_the_web_service_is_ready_only_with_redis(env, store, monkeypatch):
    app = web_app(WebConfig.from_env(env), store=store, environ=env)
    client = falcon.testing.TestClient(app)
    assert client.simulate_get('/live/readyz').status_code == 200
    monkeypatch.setattr(store, '_redis', DownRedis())
    assert client.simulate_get('/live/readyz').status_code == 503
    assert client.simulate_get('/live/livez').status_code == 200


def test_a_check_that_raises_counts_as_unavailable():
    def broken():
        raise RuntimeError('boom')

    assert health.run_checks({'a': lambda: True, 'b': broken}) == {
        'a': 'ok',
        'b': 'unavailable',
    }
    resource = health.AsyncReadiness({'x': lambda: False})

    class Resp:
        status = media = cache_control = None

    resp = Resp()
    asyncio.run(resource.on_get(None, resp))
    assert resp.status == falcon.HTTP_503
