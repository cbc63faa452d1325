"""Twilio's error codes and the JSON error body its REST API returns."""

from __future__ import annotations

import json

import falcon

ROOM_EXISTS = 53113
ROOM_TYPE_INVALID = 53126
ROOM_FULL = 53105
ROOM_NOT_FOUND = 53106
ROOM_MAX_PARTICIPANTS_INVALID = 53107
ROOM_COMPLETED = 53118
ROOM_STATUS_INVALID = 53112
ROOM_TIMEOUT_INVALID = 53124
ROOM_CALLBACK_INVALID = 53111
DUPLICATE_IDENTITY = 53205
PARTICIPANT_NOT_FOUND = 53204
SUBSCRIBE_RULES_INVALID = 53215
SIGNALING_ERROR = 53000
NOT_FOUND = 20404
METHOD_NOT_ALLOWED = 20004
AUTHENTICATE = 20003
INVALID_PARAMETER = 21201
REQUEST_TOO_LARGE = 20413  # Twilio's 20xxx codes mirror the HTTP status

TOKEN_INVALID = 20101
TOKEN_ISSUER_INVALID = 20103
TOKEN_EXPIRED = 20104
TOKEN_NOT_YET_VALID = 20105
TOKEN_GRANTS_INVALID = 20106
TOKEN_SIGNATURE_INVALID = 20107


class TwilioError(Exception):
    """An error with a Twilio code; REST answers it as Twilio's JSON error body."""

    def __init__(self, status: int, code: int, message: str) -> None:
        super().__init__(message)
        self.status = status
        self.code = code
        self.message = message

    def body(self) -> dict:
        return {
            'code': self.code,
            'message': self.message,
            'more_info': f'https://www.twilio.com/docs/errors/{self.code}',
            'status': self.status,
        }


async def handle_twilio_error(req, resp, ex: TwilioError, params) -> None:
    """Falcon error handler: answer a TwilioError exactly as Twilio's API does."""
    resp.status = falcon.code_to_http_status(ex.status)
    resp.media = ex.body()


def twilio_code_for(status: int) -> int:
    """Return the Twilio error code of an HTTP error the framework raised itself."""
    return METHOD_NOT_ALLOWED if status == 405 else 20000 + status


def serialize_error(req, resp, exception: falcon.HTTPError) -> None:
    """Falcon error serializer: Twilio's shape on the REST API, ours elsewhere.

    Falcon itself raises 404/405 for unknown routes and methods, and 400/415 for
    bodies it cannot parse; twilio-python reads `code` and `message` from them.
    """
    body = exception.to_dict()
    status = exception.status_code
    body.setdefault('description', f'{req.method} {req.path}: {body["title"]}')
    if req.path.startswith('/v1/') or req.path == '/v1':
        message = body['title']
        if body['description'] != message:
            message = f'{message}: {body["description"]}'
        body = TwilioError(status, twilio_code_for(status), message).body()
    resp.content_type = falcon.MEDIA_JSON
    resp.data = json.dumps(body).encode()
