"""Check the Access Tokens browsers bring, as Twilio's signalling servers do."""

from __future__ import annotations

from dataclasses import dataclass

import jwt

from .errors import (
    TOKEN_EXPIRED,
    TOKEN_GRANTS_INVALID,
    TOKEN_INVALID,
    TOKEN_ISSUER_INVALID,
    TOKEN_NOT_YET_VALID,
    TOKEN_SIGNATURE_INVALID,
    TwilioError,
)

MAX_IDENTITY = 128


@dataclass(frozen=True)
class Grant:
    """What a valid token allows: one identity, maybe limited to one room."""

    identity: str
    room: str | None
    expires_at: int


def verify_token(
    token: object, *, api_key_sid: str, api_key_secret: str, account_sid: str
) -> Grant:
    """Return the grant of a valid token; raise TwilioError (201xx) otherwise."""
    if not isinstance(token, str) or token.count('.') != 2:
        raise TwilioError(TOKEN_INVALID, 'Invalid Access Token')
    try:
        claims = jwt.decode(
            token,
            api_key_secret,
            algorithms=['HS256'],
            options={'require': ['exp', 'iss', 'grants']},
        )
    except jwt.ExpiredSignatureError:
        raise TwilioError(
            TOKEN_EXPIRED, 'Access Token expired or expiration date invalid'
        ) from None
    except jwt.ImmatureSignatureError:
        raise TwilioError(TOKEN_NOT_YET_VALID, 'Access Token not yet valid') from None
    except jwt.InvalidSignatureError:
        raise TwilioError(
            TOKEN_SIGNATURE_INVALID, 'Invalid Access Token signature'
        ) from None
    except jwt.InvalidTokenError:
        raise TwilioError(TOKEN_INVALID, 'Invalid Access Token') from None
    if (
        claims.get('iss') != api_key_sid
        or claims.get('sub', account_sid) != account_sid
    ):
        raise TwilioError(TOKEN_ISSUER_INVALID, 'Invalid Access Token issuer/subject')
    grants = claims.get('grants')
    identity = grants.get('identity') if isinstance(grants, dict) else None
    video = grants.get('video') if isinstance(grants, dict) else None
    if not (isinstance(identity, str) and 0 < len(identity) <= MAX_IDENTITY):
        raise TwilioError(
            TOKEN_GRANTS_INVALID, 'Invalid Access Token grants: no identity'
        )
    if not isinstance(video, dict):
        raise TwilioError(
            TOKEN_GRANTS_INVALID, 'Invalid Access Token grants: no video grant'
        )
    room = video.get('room')
    if room is not None and not isinstance(room, str):
        raise TwilioError(TOKEN_GRANTS_INVALID, 'Invalid Access Token grants')
    return Grant(identity=identity, room=room or None, expires_at=int(claims['exp']))
