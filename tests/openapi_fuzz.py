"""What every fuzzed response must satisfy, whichever service answered it."""

from __future__ import annotations

import os

from hypothesis import strategies as st
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

# Ids no generator is likely to hit: a key suffix of the fuzzed apps' live
# presentation ('demo-talk:version' once answered 500, Redis WRONGTYPE), dot
# segments, over-long and non-ASCII ids, separators Redis or URLs care about.
CRAFTED_IDS = (
    'x:y',
    'demo-talk:version',
    'demo-talk:rooms',
    'demo-talk:',
    '..',
    '.',
    'demo-talk/..',
    'x' * 65,
    'x' * 5000,
    'caf\u00e9',
    '\u65e5\u672c\u8a9e',
    '\U0001f600',
    'demo talk',
    'demo*',
    'a\x00b',
    '%2e%2e',
)


def flatmap_path_parameters(context, path_parameters):
    """Schemathesis hook: also try each crafted id as the `presentation_id`.

    Apply with `@schema.hooks.apply(flatmap_path_parameters)`; half of the cases
    keep the generated id, the other half take a crafted one.
    """
    if not path_parameters or 'presentation_id' not in path_parameters:
        return st.just(path_parameters)
    crafted = st.sampled_from(CRAFTED_IDS).map(
        lambda bad: {**path_parameters, 'presentation_id': bad}
    )
    return st.one_of(st.just(path_parameters), crafted)


# URL clients resolve these dot segments before sending ('/presentations/..' is '/').
DOT_SEGMENT_IDS = frozenset({'..', '.', 'demo-talk/..'})


HTTP_METHODS = ('get', 'put', 'post', 'delete', 'patch', 'head', 'options')


def id_operation_count(schema) -> int:
    """Return how many operations of the raw document take a presentation id."""
    return sum(
        method in HTTP_METHODS
        for path, item in schema.raw_schema['paths'].items()
        if '{presentation_id}' in path
        for method in item
    )


def crafted_id_cases(schema):
    """Return one case per operation taking a `presentation_id` and crafted id.

    Every crafted id, on every such operation, whatever hypothesis draws.
    """
    cases = []
    for result in schema.get_all_operations():
        operation = result.ok()
        names = [p.name for p in operation.path_parameters]
        if 'presentation_id' not in names:
            continue
        # Other path parameters (question, poll, identity) get well-formed
        # values, so that only the presentation id is crafted.
        others = {name: 'attendee-0' if name == 'identity' else 'q1' for name in names}
        for bad in CRAFTED_IDS:
            cases.append(
                operation.Case(path_parameters={**others, 'presentation_id': bad})
            )
    return cases


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
