"""Twilio's error codes and the JSON error body its REST API returns."""

from __future__ import annotations

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
AUTHENTICATE = 20003
INVALID_PARAMETER = 21201

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
