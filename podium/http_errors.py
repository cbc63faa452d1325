"""Error bodies every Podium service sends: always JSON, always explained.

Falcon's default serializer answers `Accept: text/html` with an empty body and
leaves its own routing errors (404, 405) without a description. Callers, and
the people reading their logs, get `{"title", "description"}` instead.
"""

from __future__ import annotations

import json

import falcon

# What to say when the raising code gave no description (Falcon's own errors).
DEFAULT_DESCRIPTIONS = {
    400: 'The request is malformed.',
    404: 'There is nothing at this path. Check the URL.',
    413: 'The request body is too large.',
    415: 'The request body has a media type this endpoint does not accept.',
}


def error_body(req: falcon.Request, exception: falcon.HTTPError) -> dict:
    """Return the JSON error body of `exception`, with a description always set."""
    body = exception.to_dict()
    status = exception.status_code
    if not body.get('description'):
        if status == 405:
            allowed = (exception.headers or {}).get('Allow', '')
            body['description'] = (
                f'{req.method} is not allowed on {req.path}; allowed: {allowed}.'
            )
        else:
            body['description'] = DEFAULT_DESCRIPTIONS.get(
                status, 'The request could not be served; see the title.'
            )
    return body


def serialize_error(
    req: falcon.Request, resp: falcon.Response, exception: falcon.HTTPError
) -> None:
    """Falcon error serializer: a JSON body whatever the request's Accept says."""
    resp.content_type = falcon.MEDIA_JSON
    resp.data = json.dumps(error_body(req, exception)).encode()
