"""Access tokens: signature, expiry, issuer, identity and room are all checked."""

from __future__ import annotations

import time

import pytest

from local_video.access_token import verify_token
from local_video.errors import TwilioError

from .helpers import Signal, make_token


def verify(config, token):
    return verify_token(
        token,
        api_key_sid=config.api_key_sid,
        api_key_secret=config.api_key_secret,
        account_sid=config.account_sid,
    )


def test_a_good_token_gives_identity_and_room(lv_config):
    grant = verify(lv_config, make_token(lv_config, 'presenter', 'podium-x'))
    assert (grant.identity, grant.room) == ('presenter', 'podium-x')


@pytest.mark.parametrize(
    ('changes', 'code'),
    [
        ({'secret': 'another-secret-of-enough-length!!'}, 20107),
        ({'ttl': -10}, 20104),
        ({'key_sid': 'SK' + '9' * 32}, 20103),
        ({'valid_from': int(time.time()) + 3600}, 20105),
    ],
)
def test_bad_tokens_are_refused(lv_config, changes, code):
    with pytest.raises(TwilioError) as caught:
        verify(lv_config, make_token(lv_config, 'alice', 'room', **changes))
    assert caught.value.code == code


def test_garbage_is_refused(lv_config):
    for token in (None, '', 'abc', 'a.b.c'):
        with pytest.raises(TwilioError) as caught:
            verify(lv_config, token)
        assert caught.value.code == 20101


def test_signalling_refuses_with_a_clear_error(twilio, rest_server, lv_config):
    _, url = rest_server
    twilio.video.v1.rooms.create(unique_name='right')
    twilio.video.v1.rooms.create(unique_name='wrong')
    cases = [
        (make_token(lv_config, 'a', 'right', secret='x' * 40), {}, 20107),
        (make_token(lv_config, 'a', 'right', ttl=-5), {}, 20104),
        (make_token(lv_config, 'a', 'right', key_sid='SK' + '2' * 32), {}, 20103),
        (make_token(lv_config, 'a', 'right'), {'room': 'wrong'}, 20106),
        (make_token(lv_config, 'a', 'missing'), {}, 53106),
    ]
    for token, options, code in cases:
        signal = Signal(url, token, **options)
        assert signal.first['type'] == 'error'
        assert signal.first['code'] == code, (options, signal.first)
        with pytest.raises(Exception):  # noqa: B017 - the server closes the socket
            signal.recv(timeout=2)
