"""Twilio's error codes that Podium answers with or expects, in one table.

local_video (the Twilio-compatible video server) and tests/fake_twilio.py both
take their codes from here, so the two cannot drift apart again. Each entry is
(code, HTTP status, Twilio's message), like `http.HTTPStatus`; a member is an
int, so it goes into a JSON body as the bare code. Codes only the signalling
socket sends (53000, 53205, 53300) carry 400: they never travel as HTTP.

Every code was checked against Twilio's Error and Warning Dictionary; the URL
above each entry is its page there. The video codes and messages also match
twilio-video.js 2.x (`lib/util/twilio-video-errors.js`), which maps the same
numbers to its error classes in the browser.
"""

from __future__ import annotations

from enum import IntEnum

MORE_INFO = 'https://www.twilio.com/docs/errors/{code}'


class TwilioCode(IntEnum):
    """A Twilio error code with the HTTP status and message Twilio uses for it."""

    def __new__(cls, code: int, status: int, message: str) -> TwilioCode:
        member = int.__new__(cls, code)
        member._value_ = code
        member.status = status
        member.message = message
        return member

    @property
    def more_info(self) -> str:
        return MORE_INFO.format(code=int(self))

    # REST API, any resource --------------------------------------------------
    # https://www.twilio.com/docs/api/errors/400 ("one or more request parameters
    # did not pass validation"): for a parameter no more specific code covers.
    # Not 20001: that is a warning, "Unknown parameters ... were ignored"
    # (https://www.twilio.com/docs/api/errors/20001); nor 21201, which is
    # "No 'To' number specified" for calls (https://www.twilio.com/docs/errors/21201).
    BAD_REQUEST = 400, 400, 'Bad Request'
    # https://www.twilio.com/docs/api/errors/20003 (Permission Denied; the body's
    # message is "Authenticate")
    AUTHENTICATE = 20003, 401, 'Authenticate'
    # https://www.twilio.com/docs/api/errors/20004
    METHOD_NOT_ALLOWED = 20004, 405, 'Method not allowed'
    # https://www.twilio.com/docs/api/errors/20404
    NOT_FOUND = 20404, 404, 'The requested resource was not found'
    # https://www.twilio.com/docs/api/errors/20413
    REQUEST_TOO_LARGE = 20413, 413, 'Request Entity Too Large'
    # https://www.twilio.com/docs/api/errors/20500
    INTERNAL_ERROR = 20500, 500, 'Internal Server Error'

    # Access Tokens (twilio-video.js AccessToken*Error) -------------------------
    # https://www.twilio.com/docs/api/errors/20101
    TOKEN_INVALID = 20101, 401, 'Invalid Access Token'
    # https://www.twilio.com/docs/api/errors/20103
    TOKEN_ISSUER_INVALID = 20103, 401, 'Invalid Access Token issuer/subject'
    # https://www.twilio.com/docs/api/errors/20104
    TOKEN_EXPIRED = 20104, 401, 'Access Token expired or expiration date invalid'
    # https://www.twilio.com/docs/api/errors/20105
    TOKEN_NOT_YET_VALID = 20105, 401, 'Access Token not yet valid'
    # https://www.twilio.com/docs/api/errors/20106
    TOKEN_GRANTS_INVALID = 20106, 401, 'Invalid Access Token grants'
    # https://www.twilio.com/docs/api/errors/20107
    TOKEN_SIGNATURE_INVALID = 20107, 401, 'Invalid Access Token signature'

    # Signalling ----------------------------------------------------------------
    # https://www.twilio.com/docs/api/errors/53000
    SIGNALING_ERROR = 53000, 400, 'Signaling connection error'

    # Rooms ---------------------------------------------------------------------
    # https://www.twilio.com/docs/api/errors/53100
    ROOM_NAME_INVALID = 53100, 400, 'Room name is invalid'
    # https://www.twilio.com/docs/api/errors/53101
    ROOM_NAME_TOO_LONG = 53101, 400, 'Room name is too long'
    # https://www.twilio.com/docs/api/errors/53105
    ROOM_FULL = 53105, 400, 'Room contains too many Participants'
    # https://www.twilio.com/docs/api/errors/53106
    ROOM_NOT_FOUND = 53106, 404, 'Room not found'
    # https://www.twilio.com/docs/api/errors/53107
    ROOM_MAX_PARTICIPANTS_INVALID = 53107, 400, 'MaxParticipants is out of range'
    # https://www.twilio.com/docs/api/errors/53108 (a Type that is no room type)
    ROOM_TYPE_INVALID = 53108, 400, 'RoomType is not valid'
    # https://www.twilio.com/docs/api/errors/53109 (EmptyRoomTimeout and
    # UnusedRoomTimeout; not 53124, which is about the AudioOnly flag)
    ROOM_TIMEOUT_INVALID = 53109, 400, 'Timeout is out of range'
    # https://www.twilio.com/docs/api/errors/53110
    ROOM_CALLBACK_METHOD_INVALID = 53110, 400, 'StatusCallbackMethod is invalid'
    # https://www.twilio.com/docs/api/errors/53111
    ROOM_CALLBACK_INVALID = 53111, 400, 'StatusCallback is invalid'
    # https://www.twilio.com/docs/api/errors/53112
    ROOM_STATUS_INVALID = 53112, 400, 'Status is invalid'
    # https://www.twilio.com/docs/api/errors/53113
    ROOM_EXISTS = 53113, 400, 'Room exists'
    # https://www.twilio.com/docs/api/errors/53118
    ROOM_COMPLETED = 53118, 400, 'Room completed'
    # https://www.twilio.com/docs/api/errors/53126 (go, peer-to-peer and
    # group-small rooms for accounts newer than October 2024)
    ROOM_TYPE_NOT_SUPPORTED = 53126, 400, 'Legacy room type no longer supported'

    # Participants --------------------------------------------------------------
    # https://www.twilio.com/docs/api/errors/53204
    PARTICIPANT_NOT_FOUND = 53204, 404, 'Participant not found'
    # https://www.twilio.com/docs/api/errors/53205
    DUPLICATE_IDENTITY = (
        53205,
        400,
        'Participant disconnected because of duplicate identity',
    )
    # https://www.twilio.com/docs/api/errors/53209
    PARTICIPANT_STATUS_INVALID = 53209, 400, 'Participant status is invalid'
    # https://www.twilio.com/docs/api/errors/53215
    SUBSCRIBE_RULES_INVALID = 53215, 400, 'Invalid Subscribe Rule(s)'

    # Tracks --------------------------------------------------------------------
    # https://www.twilio.com/docs/api/errors/53300: "raised whenever a Track is
    # invalid, and the scenario is not covered by a more specific error code".
    # Twilio has no code for "this participant may not publish" (its rooms let
    # everyone publish), so a publish our policy refuses is this one.
    TRACK_INVALID = 53300, 400, 'Track is invalid'


def for_http_status(status: int) -> TwilioCode:
    """Return the code for an HTTP error that no Twilio-specific check raised."""
    by_status = {
        401: TwilioCode.AUTHENTICATE,
        404: TwilioCode.NOT_FOUND,
        405: TwilioCode.METHOD_NOT_ALLOWED,
        413: TwilioCode.REQUEST_TOO_LARGE,
    }
    if status >= 500:
        return TwilioCode.INTERNAL_ERROR
    return by_status.get(status, TwilioCode.BAD_REQUEST)
