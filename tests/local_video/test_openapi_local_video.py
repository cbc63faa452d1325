"""Fuzz local_video's REST API against its own OpenAPI document with schemathesis.

In process (ASGI), without Janus, and with a callback sender that sends nothing:
the fuzzer invents StatusCallback URLs, and no test may reach another host.
"""

from __future__ import annotations

import base64

import falcon.testing
import schemathesis
from hypothesis import HealthCheck, settings

from local_video.app import build_service
from local_video.callbacks import CallbackSender
from local_video.config import from_env
from local_video.openapi import OPENAPI_PATH
from local_video.rest import MAX_BODY_BYTES
from tests.conftest import TEST_ENV
from tests.openapi_fuzz import FUZZ_EXAMPLES, check_response

CONFIG = from_env(TEST_ENV)
AUTH = (
    'Basic '
    + base64.b64encode(
        f'{CONFIG.api_key_sid}:{CONFIG.api_key_secret}'.encode()
    ).decode()
)


class SilentCallbacks(CallbackSender):
    """Builds callbacks like the real sender, never delivers them."""

    def __init__(self) -> None:
        super().__init__(CONFIG.account_sid, CONFIG.auth_token)
        self.sent: list[tuple[str, str]] = []

    def send(self, room, event: str, extra: dict[str, str]) -> None:
        self.sent.append((room.sid, event))


def fuzz_service():
    service = build_service(CONFIG, use_janus=False, callbacks=SilentCallbacks())
    # The document's example room name, so examples reach past 404.
    service.registry.create_room('demo-room')
    return service


FUZZ = settings(
    max_examples=FUZZ_EXAMPLES, deadline=None, suppress_health_check=list(HealthCheck)
)

# Loaded at import: schemathesis's lazy `from_fixture` does not run on pytest 9.
schema = schemathesis.openapi.from_asgi(OPENAPI_PATH, fuzz_service().app)


@schema.include(path_regex='^/v1/').parametrize()
@FUZZ
def test_rest_conforms_and_keeps_twilio_errors(case):
    check_response(
        case, case.call(headers={'Authorization': AUTH}), error_shape='twilio'
    )


@schema.include(path_regex='^/video/').parametrize()
@FUZZ
def test_health_and_document_conform(case):
    check_response(case, case.call(), error_shape='problem')


def client() -> falcon.testing.TestClient:
    return falcon.testing.TestClient(fuzz_service().app)


def test_framework_errors_on_v1_keep_twilio_shape():
    http = client()
    headers = {'Authorization': AUTH}
    missing = http.simulate_get('/v1/Nowhere', headers=headers)
    wrong_method = http.simulate_delete('/v1/Rooms', headers=headers)
    bad_json = http.simulate_post(
        '/v1/Rooms',
        body='{"UniqueName": ',
        headers={**headers, 'Content-Type': 'application/json'},
    )
    assert (missing.status_code, missing.json['code']) == (404, 20404)
    assert (wrong_method.status_code, wrong_method.json['code']) == (405, 20004)
    assert bad_json.status_code == 400
    for result in (missing, wrong_method, bad_json):
        assert set(result.json) == {'code', 'message', 'more_info', 'status'}
        assert result.json['status'] == result.status_code


def test_oversized_bodies_are_refused_with_413():
    body = 'UniqueName=' + 'x' * MAX_BODY_BYTES
    result = client().simulate_post(
        '/v1/Rooms',
        body=body,
        headers={
            'Authorization': AUTH,
            'Content-Type': 'application/x-www-form-urlencoded',
        },
    )
    assert result.status_code == 413
    assert result.json['code'] == 20413


def test_the_document_lists_every_http_route():
    paths = set(client().simulate_get(OPENAPI_PATH).json['paths'])
    assert paths == {
        '/v1/Rooms',
        '/v1/Rooms/{room}',
        '/v1/Rooms/{room}/Participants',
        '/v1/Rooms/{room}/Participants/{participant}',
        '/v1/Rooms/{room}/Participants/{participant}/PublishedTracks',
        '/v1/Rooms/{room}/Participants/{participant}/SubscribeRules',
        '/v1/Rooms/{room}/RecordingRules',
        '/v1/Recordings',
        '/v1/Recordings/{sid}',
        '/v1/Rooms/{room}/Recordings',
        '/v1/Rooms/{room}/Recordings/{sid}',
        '/v1/Compositions',
        '/v1/Compositions/{sid}',
        '/v1/Compositions/{sid}/Media',
        '/video/media/{sid}',
        '/video/healthz',
        '/video/livez',
        '/video/readyz',
        OPENAPI_PATH,
    }
