"""What every fuzzed response must satisfy, whichever service answered it."""

from __future__ import annotations

import os

from schemathesis.checks import not_a_server_error
from schemathesis.specs.openapi.checks import (
    content_type_conformance,
    response_headers_conformance,
    response_schema_conformance,
    status_code_conformance,
)

# Examples per operation: enough to find crashes, small enough for < 60 s in all.
# PODIUM_FUZZ_EXAMPLES=1000 runs a deeper search.
FUZZ_EXAMPLES = int(os.environ.get('PODIUM_FUZZ_EXAMPLES') or 60)

CHECKS = [
    not_a_server_error,
    status_code_conformance,
    content_type_conformance,
    response_headers_conformance,
    response_schema_conformance,
]


def check_response(case, response, *, error_shape: str) -> None:
    """Run schemathesis's checks, then insist every 4xx explains itself in JSON.

    `error_shape` is 'problem' (Falcon's {title, description}) or 'twilio'
    ({code, message, more_info, status}).
    """
    case.validate_response(response, checks=CHECKS)
    assert response.status_code < 500, response.text
    if response.status_code < 400:
        return
    body = response.json()
    if error_shape == 'twilio':
        assert set(body) >= {'code', 'message', 'more_info', 'status'}, body
        assert body['status'] == response.status_code
        assert isinstance(body['code'], int) and body['message'], body
    else:
        assert isinstance(body.get('title'), str) and body['title'], body
        assert isinstance(body.get('description'), str) and body['description'], body
