"""local_video lets a participant be `presenter` only with a token we signed."""

from __future__ import annotations

import base64
import json
import time

import jwt
import pytest

from local_video.access_token import verify_token
from local_video.errors import TwilioError
from podium.config import TokenServiceConfig
from tests.conftest import TEST_ENV
from token_service.tokens import issue_token

from .helpers import make_token


def verify(config, token):
    return verify_token(
        token,
        api_key_sid=config.api_key_sid,
        api_key_secret=config.api_key_secret,
        account_sid=config.account_sid,
    )


def _b64(data: dict) -> str:
    raw = json.dumps(data).encode()
    return base64.urlsafe_b64encode(raw).rstrip(b'=').decode()


def test_the_token_service_presenter_token_is_accepted(lv_config):
    issued = issue_token(
        TokenServiceConfig.from_env(TEST_ENV), 'presenter', 'podium-x', time.time()
    )
    grant = verify(lv_config, issued.jwt)
    assert (grant.identity, grant.room) == ('presenter', 'podium-x')


def forgeries(config) -> list[str]:
    claims = {
        'jti': 'SKx-1',
        'iss': config.api_key_sid,
        'sub': config.account_sid,
        'exp': 4_000_000_000,
        'grants': {'identity': 'presenter', 'video': {'room': 'podium-x'}},
    }
    attendee = make_token(config, 'attendee-0123456789abcdef', 'podium-x')
    header, _, signature = attendee.split('.')
    return [
        # Signed with another secret.
        jwt.encode(claims, 'x' * 40, algorithm='HS256'),
        # Unsigned ("alg": "none").
        _b64({'alg': 'none', 'typ': 'JWT'}) + '.' + _b64(claims) + '.',
        # An attendee's real token with the identity swapped, signature kept.
        f'{header}.{_b64(claims)}.{signature}',
        # Signed with the public API key SID instead of the secret.
        jwt.encode(claims, config.api_key_sid, algorithm='HS256'),
    ]


def test_forged_presenter_tokens_are_refused(lv_config):
    for forged in forgeries(lv_config):
        with pytest.raises(TwilioError) as caught:
            verify(lv_config, forged)
        assert caught.value.status == 401
