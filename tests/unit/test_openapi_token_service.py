"""Fuzz the token service against its own OpenAPI document with schemathesis."""

from __future__ import annotations

import fakeredis
import falcon.testing
import schemathesis
from hypothesis import HealthCheck, settings

from podium.config import TokenServiceConfig
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
from tests.unit.test_token_service import FakeClock, FakeRooms
from token_service.app import create_app
from token_service.openapi import OPENAPI_PATH
from token_service.rate_limits import RateLimitSettings


def fuzz_app():
    store = Store(fakeredis.FakeRedis(decode_responses=True))
    # The document's example id names a live presentation, so examples get past 404.
    store.create_presentation(
        {
            'id': 'demo-talk',
            'title': 'Demo',
            'room_name': 'podium-demo-talk',
            'created_at': '0',
        }
    )
    # Its version and rooms keys exist too, which crafted ids such as
    # 'demo-talk:version' would name if ids reached the store unchecked.
    store.set_room('demo-talk', 'RM' + 'a' * 32, 0)
    return create_app(
        TokenServiceConfig.from_env(TEST_ENV),
        store=store,
        rooms=FakeRooms(),
        clock=FakeClock(),
        # The fuzzer's many requests come from one address; rate limits have their
        # own tests.
        rate_limits=RateLimitSettings(
            presentations_per_minute=0,
            tokens_per_minute=0,
            subscribe_rules_per_minute=0,
            subscribe_rules_per_presentation_per_second=0,
        ),
    )


# Loaded at import: schemathesis's lazy `from_fixture` does not run on pytest 9.
schema = schemathesis.openapi.from_asgi(OPENAPI_PATH, fuzz_app())


@schema.hooks.apply(flatmap_path_parameters)
@schema.parametrize()
@settings(
    max_examples=FUZZ_EXAMPLES,
    deadline=None,
    suppress_health_check=list(HealthCheck),
)
def test_token_service_conforms_and_never_fails(case):
    check_response(case, case.call(), error_shape='problem')


def test_crafted_ids_are_explained_404s_on_every_operation():
    cases = crafted_id_cases(schema)
    assert len(cases) == id_operation_count(schema) * len(CRAFTED_IDS)
    assert id_operation_count(schema) >= 3
    for case in cases:
        response = case.call()
        check_response(case, response, error_shape='problem')
        if case.path_parameters['presentation_id'] not in DOT_SEGMENT_IDS:
            assert response.status_code == 404, (case.path_parameters, response.text)


def test_the_document_is_served_and_lists_every_route():
    client = falcon.testing.TestClient(fuzz_app())
    paths = client.simulate_get(OPENAPI_PATH).json['paths']
    assert set(paths) == {
        '/api/presentations',
        '/api/presentations/{presentation_id}/tokens',
        '/api/presentations/{presentation_id}/subscribe-rules',
        '/api/presentations/{presentation_id}/broadcast',
        '/api/presentations/{presentation_id}/broadcast/overflow',
        '/api/presentations/{presentation_id}/stage',
        '/api/presentations/{presentation_id}/stage/accept',
        '/api/presentations/{presentation_id}/stage/decline',
        '/api/presentations/{presentation_id}/stage/leave',
        '/api/presentations/{presentation_id}/stage/{slot}',
        '/api/presentations/{presentation_id}/stage/{slot}/mute',
        '/api/presentations/{presentation_id}/report',
        '/api/presentations/{presentation_id}/report.csv',
        '/api/presentations/{presentation_id}/recording',
        '/api/presentations/{presentation_id}/recording/composition',
        '/api/presentations/{presentation_id}/recording/media',
        '/api/presentations/{presentation_id}/end',
        '/api/healthz',
        '/api/livez',
        '/api/readyz',
        OPENAPI_PATH,
        *(
            f'/api/presentations/{{presentation_id}}/{path}'
            for path in [
                'questions',
                'questions/{question_id}',
                'questions/{question_id}/vote',
                'reactions',
                'hand',
                'hands',
                'hands/{identity}',
                'polls',
                'polls/{poll_id}',
                'polls/{poll_id}/vote',
                'settings',
                'questions.csv',
                'questions.json',
                'polls.csv',
                'polls.json',
            ]
        ),
    }
