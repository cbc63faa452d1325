"""Every error from token_service and webhooks is JSON with a title and description."""

from __future__ import annotations

import falcon.testing
import pytest

from tests.unit.test_token_service import FakeClock, FakeRooms
from token_service.app import create_app as token_app
from token_service.bodies import MAX_BODY_BYTES
from webhooks.app import create_app as webhooks_app


@pytest.fixture(params=['token', 'webhooks'])
def client(request, config, webhooks_config, store):
    if request.param == 'token':
        app = token_app(config, store=store, rooms=FakeRooms(), clock=FakeClock())
    else:
        app = webhooks_app(webhooks_config, store=store)
    return falcon.testing.TestClient(app)


@pytest.mark.parametrize(
    ('method', 'path', 'status'),
    [
        ('GET', '/nowhere', 404),
        ('DELETE', '/api/healthz', 405),
        ('DELETE', '/webhooks/healthz', 405),
    ],
)
def test_framework_errors_explain_themselves_whatever_accept_says(
    client, method, path, status
):
    for accept in ('text/html', 'application/xml', '*/*'):
        result = client.simulate_request(method, path, headers={'Accept': accept})
        if result.status_code == 404 and status == 405:
            continue  # the other service's path
        assert result.status_code == status
        assert result.headers['Content-Type'].startswith('application/json')
        assert result.json['title']
        assert result.json['description']


def test_json_bodies_over_the_cap_are_413(config, store):
    client = falcon.testing.TestClient(
        token_app(config, store=store, rooms=FakeRooms(), clock=FakeClock())
    )
    result = client.simulate_post(
        '/api/presentations', json={'title': 'x' * MAX_BODY_BYTES}
    )
    assert result.status_code == 413
    assert str(MAX_BODY_BYTES) in result.json['description']
