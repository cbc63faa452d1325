"""Twilio's error codes and the JSON error body its REST API returns."""

from __future__ import annotations

import json

import falcon

from podium.twilio_errors import TwilioCode, for_http_status

# The codes live in one table shared with tests/fake_twilio.py; the names here are
# the ones this package has always used.
AUTHENTICATE = TwilioCode.AUTHENTICATE
BAD_REQUEST = TwilioCode.BAD_REQUEST
METHOD_NOT_ALLOWED = TwilioCode.METHOD_NOT_ALLOWED
NOT_FOUND = TwilioCode.NOT_FOUND
REQUEST_TOO_LARGE = TwilioCode.REQUEST_TOO_LARGE
ROOM_CALLBACK_INVALID = TwilioCode.ROOM_CALLBACK_INVALID
ROOM_CALLBACK_METHOD_INVALID = TwilioCode.ROOM_CALLBACK_METHOD_INVALID
ROOM_COMPLETED = TwilioCode.ROOM_COMPLETED
ROOM_EXISTS = TwilioCode.ROOM_EXISTS
ROOM_FULL = TwilioCode.ROOM_FULL
ROOM_MAX_PARTICIPANTS_INVALID = TwilioCode.ROOM_MAX_PARTICIPANTS_INVALID
ROOM_NAME_INVALID = TwilioCode.ROOM_NAME_INVALID
ROOM_NAME_TOO_LONG = TwilioCode.ROOM_NAME_TOO_LONG
ROOM_NOT_FOUND = TwilioCode.ROOM_NOT_FOUND
ROOM_STATUS_INVALID = TwilioCode.ROOM_STATUS_INVALID
ROOM_TIMEOUT_INVALID = TwilioCode.ROOM_TIMEOUT_INVALID
ROOM_TYPE_INVALID = TwilioCode.ROOM_TYPE_INVALID
ROOM_TYPE_NOT_SUPPORTED = TwilioCode.ROOM_TYPE_NOT_SUPPORTED
DUPLICATE_IDENTITY = TwilioCode.DUPLICATE_IDENTITY
PARTICIPANT_NOT_FOUND = TwilioCode.PARTICIPANT_NOT_FOUND
PARTICIPANT_STATUS_INVALID = TwilioCode.PARTICIPANT_STATUS_INVALID
SUBSCRIBE_RULES_INVALID = TwilioCode.SUBSCRIBE_RULES_INVALID
SIGNALING_ERROR = TwilioCode.SIGNALING_ERROR
TRACK_INVALID = TwilioCode.TRACK_INVALID

TOKEN_INVALID = TwilioCode.TOKEN_INVALID
TOKEN_ISSUER_INVALID = TwilioCode.TOKEN_ISSUER_INVALID
TOKEN_EXPIRED = TwilioCode.TOKEN_EXPIRED
TOKEN_NOT_YET_VALID = TwilioCode.TOKEN_NOT_YET_VALID
TOKEN_GRANTS_INVALID = TwilioCode.TOKEN_GRANTS_INVALID
TOKEN_SIGNATURE_INVALID = TwilioCode.TOKEN_SIGNATURE_INVALID


class TwilioError(Exception):
    """An error with a Twilio code; REST answers it as Twilio's JSON error body."""

    def __init__(
        self, code: TwilioCode, message: str | None = None, *, status: int | None = None
    ) -> None:
        """Raise `code`, with a message saying more than Twilio's if there is one."""
        self.code = code
        self.message = message or code.message
        self.status = status or code.status
        super().__init__(self.message)

    def body(self) -> dict:
        return {
            'code': self.code,
            'message': self.message,
            'more_info': self.code.more_info,
            'status': self.status,
        }


async def handle_twilio_error(req, resp, ex: TwilioError, params) -> None:
    """Falcon error handler: answer a TwilioError exactly as Twilio's API does."""
    resp.status = falcon.code_to_http_status(ex.status)
    resp.media = ex.body()


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
        body = TwilioError(for_http_status(status), message, status=status).body()
    resp.content_type = falcon.MEDIA_JSON
    resp.data = json.dumps(body).encode()
