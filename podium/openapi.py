"""Building blocks of the OpenAPI 3 documents each service serves about itself.

Each service describes its own endpoints in its `openapi.py`, next to the code
and the limits it documents, and serves the result at `<prefix>/openapi.json`.
"""

from __future__ import annotations

import json

import falcon

OPENAPI_VERSION = '3.0.3'

# `podium.http_errors.serialize_error` writes this for every error.
ERROR_SCHEMA = {
    'type': 'object',
    'required': ['title', 'description'],
    'properties': {
        'title': {'type': 'string', 'minLength': 1},
        'description': {'type': 'string', 'minLength': 1},
    },
}

ERROR_DESCRIPTIONS = {
    400: 'The request is invalid; the body says which part and why.',
    401: 'Missing or invalid credentials.',
    403: 'Not allowed.',
    404: 'No such resource.',
    405: 'Method not allowed.',
    409: 'Conflicts with the current state.',
    410: 'Gone for good.',
    413: 'Request body too large.',
    415: 'Unsupported request media type.',
    429: 'Too many requests from this address; see Retry-After.',
    502: 'The video service failed or rejected us.',
    503: 'A dependency is unavailable; try again shortly.',
}

RETRY_AFTER = {
    'Retry-After': {
        'description': 'Seconds to wait before trying again.',
        'schema': {'type': 'integer', 'minimum': 1},
    }
}


def json_content(schema: dict) -> dict:
    return {'application/json': {'schema': schema}}


def errors(*statuses: int, schema: dict = ERROR_SCHEMA) -> dict:
    """Return `responses` entries for these error statuses."""
    responses = {}
    for status in statuses:
        response = {
            'description': ERROR_DESCRIPTIONS[status],
            'content': json_content({'$ref': '#/components/schemas/Error'}),
        }
        if status in (429, 503):
            response['headers'] = RETRY_AFTER
        responses[str(status)] = response
    return responses


def document(
    title: str, description: str, paths: dict, *, components: dict | None = None,
    error_schema: dict = ERROR_SCHEMA,
) -> dict:  # fmt: skip
    """Return a whole OpenAPI document."""
    components = dict(components or {})
    components['schemas'] = {'Error': error_schema, **components.get('schemas', {})}
    return {
        'openapi': OPENAPI_VERSION,
        'info': {'title': title, 'version': '1', 'description': description},
        'paths': paths,
        'components': components,
    }


def self_description(path: str) -> dict:
    """Return the path item of the document itself."""
    return {
        path: {
            'get': {
                'summary': 'This OpenAPI document',
                'operationId': 'openapi',
                'responses': {
                    '200': {
                        'description': 'The OpenAPI 3 description of this service.',
                        'content': json_content({'type': 'object'}),
                    }
                },
            }
        }
    }


class OpenApiResource:
    """`GET <prefix>/openapi.json` for a WSGI app."""

    def __init__(self, spec: dict):
        self._body = json.dumps(spec, indent=1).encode()

    def on_get(self, req: falcon.Request, resp: falcon.Response) -> None:
        resp.content_type = falcon.MEDIA_JSON
        resp.data = self._body


class AsyncOpenApiResource(OpenApiResource):
    """`GET <prefix>/openapi.json` for an ASGI app."""

    async def on_get(self, req, resp) -> None:  # type: ignore[override]
        super().on_get(req, resp)
