"""Reading JSON request bodies with errors a caller can act on."""

from __future__ import annotations

import re

import falcon

MAX_BODY_BYTES = 4096  # our bodies are a title, a name or a key
CONTROL_CHARS = re.compile(r'[\x00-\x1f\x7f]')


def read_json_object(req: falcon.Request, *, max_bytes: int = MAX_BODY_BYTES) -> dict:
    """Return the request's JSON object body, or raise 400/413/415."""
    _check_json_request(req, max_bytes)
    try:
        body = req.get_media()
    except falcon.MediaNotFoundError:
        body = None
    except falcon.MediaMalformedError as ex:
        raise _malformed(ex) from None
    return _require_object(body)


async def read_json_object_async(req, *, max_bytes: int = MAX_BODY_BYTES) -> dict:
    """`read_json_object` for an ASGI request (a coroutine resource)."""
    _check_json_request(req, max_bytes)
    try:
        body = await req.get_media()
    except falcon.MediaNotFoundError:
        body = None
    except falcon.MediaMalformedError as ex:
        raise _malformed(ex) from None
    return _require_object(body)


def _check_json_request(req, max_bytes: int) -> None:
    if req.content_type and req.content_type.split(';')[0].strip().lower() != (
        'application/json'
    ):
        raise falcon.HTTPUnsupportedMediaType(
            title='Send JSON',
            description='The request body must be JSON with Content-Type: '
            'application/json.',
        )
    if req.content_length and req.content_length > max_bytes:
        raise falcon.HTTPContentTooLarge(
            title='Request body too large',
            description=f'The request body must be at most {max_bytes} bytes.',
        )


def _malformed(ex: falcon.MediaMalformedError) -> falcon.HTTPBadRequest:
    if isinstance(ex.__cause__, UnicodeDecodeError):
        return falcon.HTTPBadRequest(
            title='Invalid UTF-8',
            description='The request body must be JSON encoded as UTF-8.',
        )
    return falcon.HTTPBadRequest(
        title='Invalid JSON', description='The request body is not valid JSON.'
    )


def _require_object(body) -> dict:
    if not isinstance(body, dict):
        raise falcon.HTTPBadRequest(
            title='Invalid request',
            description='The request body must be a JSON object such as '
            '{"title": "My talk"}.',
        )
    return body


def text_field(body: dict, name: str, *, max_length: int, required: bool) -> str | None:
    """Return a stripped one-line text field, None if optional and absent or blank."""
    value = body.get(name)
    if value is None and not required:
        return None
    if not isinstance(value, str):
        raise falcon.HTTPBadRequest(
            title=f'Invalid {name}',
            description=f'"{name}" is required and must be a string.'
            if required
            else f'"{name}" must be a string.',
        )
    value = value.strip()
    if not value:
        if not required:
            return None
        raise falcon.HTTPBadRequest(
            title=f'Invalid {name}', description=f'"{name}" must not be empty.'
        )
    if len(value) > max_length:
        raise falcon.HTTPBadRequest(
            title=f'Invalid {name}',
            description=f'"{name}" must be at most {max_length} characters long.',
        )
    if CONTROL_CHARS.search(value):
        raise falcon.HTTPBadRequest(
            title=f'Invalid {name}',
            description=f'"{name}" must be a single line without control characters.',
        )
    return value
