"""Hand-signed access tokens decode to what twilio-python's AccessToken makes."""

from __future__ import annotations

import jwt
import pytest
import twilio.jwt as twilio_jwt_base
from hypothesis import given
from hypothesis import strategies as st
from twilio.jwt import access_token as twilio_access_token
from twilio.jwt.access_token import AccessToken
from twilio.jwt.access_token.grants import VideoGrant

from token_service.signing import sign_video_token

ACCOUNT = 'AC' + 'a' * 32
KEY = 'SK' + 'b' * 32
SECRET = 'not-a-real-api-key-secret-' + 'x' * 16

identities = st.one_of(
    st.just('presenter'),
    st.text(alphabet='0123456789abcdef', min_size=16, max_size=16).map(
        lambda h: 'attendee-' + h
    ),
    st.sampled_from(['speaker-1', 'speaker-2']),
    st.text(min_size=1, max_size=40),  # anything JSON must escape, too
)
rooms = st.one_of(
    st.from_regex(r'podium-[a-z0-9-]{3,40}', fullmatch=True),
    st.text(min_size=1, max_size=60),
)


def twilio_token(monkeypatch, identity, room, issued_at, expires_at) -> str:
    # AccessToken reads the wall clock for `jti` and the default exp: pin it.
    monkeypatch.setattr(twilio_access_token.time, 'time', lambda: issued_at)
    monkeypatch.setattr(twilio_jwt_base.time, 'time', lambda: issued_at)
    token = AccessToken(
        ACCOUNT,
        KEY,
        SECRET,
        identity=identity,
        ttl=expires_at - issued_at,
        nbf=issued_at,
        valid_until=expires_at,
    )
    token.add_grant(VideoGrant(room=room))
    return token.to_jwt()


def decoded(token: str) -> tuple[dict, dict]:
    claims = jwt.decode(
        token,
        SECRET,
        algorithms=['HS256'],
        options={'verify_exp': False, 'verify_nbf': False},
    )
    return jwt.get_unverified_header(token), claims


@given(
    identity=identities,
    room=rooms,
    issued_at=st.integers(min_value=1_600_000_000, max_value=2_500_000_000),
    ttl=st.integers(min_value=60, max_value=86_400),
)
def test_hand_signed_tokens_match_twilio_python(identity, room, issued_at, ttl):
    expires_at = issued_at + ttl
    ours = sign_video_token(
        account_sid=ACCOUNT,
        api_key_sid=KEY,
        api_key_secret=SECRET,
        identity=identity,
        room_name=room,
        issued_at=issued_at,
        expires_at=expires_at,
    )
    with pytest.MonkeyPatch.context() as monkeypatch:
        theirs = twilio_token(monkeypatch, identity, room, issued_at, expires_at)
    assert decoded(ours) == decoded(theirs)
    assert ours.split('.')[0] == theirs.split('.')[0]  # the very same header bytes


def test_a_token_signed_with_another_secret_does_not_verify():
    token = sign_video_token(
        account_sid=ACCOUNT,
        api_key_sid=KEY,
        api_key_secret='another-api-key-secret-' + 'y' * 16,
        identity='presenter',
        room_name='podium-talk',
        issued_at=1_700_000_000,
        expires_at=1_700_003_600,
    )
    with pytest.raises(jwt.InvalidSignatureError):
        decoded(token)
