"""Read a callback's form-encoded body, once, within a size limit.

Falcon 4 no longer parses form bodies into `req.params`, and the signature must be
checked over exactly the fields that are then applied, so the body is read and
parsed here and handed on to the signature check and the responder as one value.
"""

from __future__ import annotations

from urllib.parse import parse_qs

import falcon
import falcon.asgi

FORM_MEDIA_TYPE = 'application/x-www-form-urlencoded'
# Twilio's callbacks are well under 2 KiB; anything near this is not a callback.
MAX_BODY_BYTES = 64 * 1024
MAX_FIELDS = 100

Form = dict[str, list[str]]


def media_type(req: falcon.Request) -> str:
    """Return the request's media type without parameters such as charset."""
    return (req.content_type or '').split(';', 1)[0].strip().lower()


async def read_body(req: falcon.asgi.Request, limit: int) -> bytes:
    """Return the request body, or raise 413 if it is longer than `limit` bytes."""
    too_large = falcon.HTTPContentTooLarge(
        title='Request body too large',
        description=f'A room status callback is at most {limit} bytes.',
    )
    # bounded_stream never reads past Content-Length (nothing at all without one), so
    # the header decides; the bounded read keeps that true whatever the server does.
    if req.content_length is not None and req.content_length > limit:
        raise too_large
    body = await req.bounded_stream.read(limit + 1)
    if len(body) > limit:
        raise too_large
    return body


def parse_form(body: bytes) -> Form:
    """Parse a form-encoded body into every value of every field, or raise 400."""
    try:
        text = body.decode('utf-8')
        return parse_qs(
            text,
            keep_blank_values=True,
            encoding='utf-8',
            errors='strict',
            max_num_fields=MAX_FIELDS,
        )
    except (UnicodeDecodeError, ValueError) as ex:
        raise falcon.HTTPBadRequest(
            title='Malformed form body',
            description=f'The body is not valid UTF-8 form encoding: {ex}',
        ) from None


def single_values(form: Form) -> dict[str, str]:
    """Return one value per field, or raise 400 if a field appears more than once."""
    repeated = sorted(name for name, values in form.items() if len(values) > 1)
    if repeated:
        raise falcon.HTTPBadRequest(
            title='Repeated form field',
            description='Each field must appear once; repeated: ' + ', '.join(repeated),
        )
    return {name: values[0] for name, values in form.items()}


async def read_form(req: falcon.asgi.Request, resp, resource, params) -> None:
    """Falcon hook: put the parsed body in `params['form']` (415, 413 or 400 otherwise).

    The resource sets `max_body` to its size limit.
    """
    if media_type(req) != FORM_MEDIA_TYPE:
        raise falcon.HTTPUnsupportedMediaType(
            title='Unsupported media type',
            description=f'Room status callbacks are sent as {FORM_MEDIA_TYPE}.',
        )
    params['form'] = parse_form(
        await read_body(req, getattr(resource, 'max_body', MAX_BODY_BYTES))
    )
