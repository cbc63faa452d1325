"""Fuzz the webhooks service against its own OpenAPI document with schemathesis.

Twice: as generated (nearly every callback fails the signature check), and with
each generated form signed correctly, so the fuzzer reaches the event parser and
the store behind the check.
"""

from __future__ import annotations

import fakeredis
import falcon.testing
import schemathesis
from hypothesis import HealthCheck, settings

from podium.config import WEBHOOK_PATH, WebhooksConfig
from podium.store import Store
from tests.conftest import TEST_ENV
from tests.openapi_fuzz import FUZZ_EXAMPLES, check_response
from tests.unit.test_publish_guard import FakeRoomsClient
from tests.unit.test_signatures import twilio_signature
from webhooks.app import create_app
from webhooks.openapi import OPENAPI_PATH

CONFIG = WebhooksConfig.from_env(TEST_ENV)


def fuzz_app():
    store = Store(fakeredis.FakeRedis(decode_responses=True))
    store.create_presentation({'id': 'demo-talk', 'title': 'Demo'})
    # Signed callbacks of attendees' tracks make it remove them: not over the network.
    return create_app(
        CONFIG, store=store, client_factory=lambda config: FakeRoomsClient()
    )


FUZZ = settings(
    max_examples=FUZZ_EXAMPLES, deadline=None, suppress_health_check=list(HealthCheck)
)

# Loaded at import: schemathesis's lazy `from_fixture` does not run on pytest 9.
schema = schemathesis.openapi.from_asgi(OPENAPI_PATH, fuzz_app())


@schema.parametrize()
@FUZZ
def test_webhooks_conform_and_never_fail(case):
    check_response(case, case.call(), error_shape='problem')


@schema.include(path=WEBHOOK_PATH).parametrize()
@FUZZ
def test_signed_callbacks_never_fail(case):
    if isinstance(case.body, dict) and all(
        isinstance(v, str) for v in case.body.values()
    ):
        case.headers = {
            **(case.headers or {}),
            'X-Twilio-Signature': twilio_signature(
                CONFIG.auth_token, CONFIG.status_callback_url, case.body
            ),
        }
    check_response(case, case.call(), error_shape='problem')


def test_the_document_is_served_and_lists_every_route():
    client = falcon.testing.TestClient(fuzz_app())
    paths = client.simulate_get(OPENAPI_PATH).json['paths']
    assert set(paths) == {
        WEBHOOK_PATH,
        '/webhooks/healthz',
        '/webhooks/livez',
        '/webhooks/readyz',
        OPENAPI_PATH,
    }
