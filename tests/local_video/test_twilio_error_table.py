"""local_video and the Twilio fake take their error codes from one checked table."""

from __future__ import annotations

import inspect
import re

import pytest
from twilio.base.exceptions import TwilioRestException
from twilio.rest import Client

import local_video.errors
import tests.fake_twilio
from podium import twilio_errors
from podium.twilio_errors import TwilioCode, for_http_status
from tests.fake_twilio import FakeTwilio

CONSTANT = re.compile(r'[A-Z][A-Z0-9_]+')


def codes_named_in(module) -> dict[str, object]:
    return {
        name: value
        for name, value in vars(module).items()
        if CONSTANT.fullmatch(name)
        and isinstance(value, int)
        and not isinstance(value, bool)
        and (value == 400 or 20000 <= value < 60000)
    }


@pytest.mark.parametrize('module', [local_video.errors, tests.fake_twilio])
def test_every_code_comes_from_the_table(module):
    found = codes_named_in(module)
    assert found, f'{module.__name__} names no codes: is the filter wrong?'
    strays = {n: v for n, v in found.items() if not isinstance(v, TwilioCode)}
    assert not strays, f'{module.__name__} has codes of its own: {strays}'


def test_every_code_cites_its_page_in_twilios_dictionary():
    source = inspect.getsource(twilio_errors)
    for code in TwilioCode:
        definition = re.search(rf'\n((?:    #.*\n)+)    {code.name} =', source)
        assert definition, f'{code.name} has no comment above it'
        assert (
            f'https://www.twilio.com/docs/api/errors/{int(code)}' in definition.group(1)
        ), f'{code.name} does not cite its page'
        assert code.message and 400 <= code.status < 600


def test_framework_errors_map_to_documented_codes():
    assert for_http_status(404) is TwilioCode.NOT_FOUND
    assert for_http_status(405) is TwilioCode.METHOD_NOT_ALLOWED
    assert for_http_status(413) is TwilioCode.REQUEST_TOO_LARGE
    assert for_http_status(415) is TwilioCode.BAD_REQUEST
    assert for_http_status(503) is TwilioCode.INTERNAL_ERROR


BAD_ROOMS = [
    ({'type': 'peer-to-peer'}, 53126),
    ({'type': 'huge'}, 53108),
    ({'unique_name': 'x' * 129}, 53101),
    ({'max_participants': 0}, 53107),
    ({'empty_room_timeout': 61}, 53109),
    ({'unused_room_timeout': 0}, 53109),
    ({'status_callback_method': 'PUT'}, 53110),
]


@pytest.fixture
def fake_client(lv_config):
    with FakeTwilio(
        lv_config.account_sid, lv_config.api_key_sid, lv_config.api_key_secret
    ) as fake:
        client = Client(
            lv_config.api_key_sid, lv_config.api_key_secret, lv_config.account_sid
        )
        client.video.base_url = fake.url
        yield client


def refusal(client, params) -> tuple[int, int]:
    with pytest.raises(TwilioRestException) as caught:
        client.video.v1.rooms.create(**{'unique_name': 'podium-x', **params})
    return caught.value.status, caught.value.code


@pytest.mark.parametrize(('params', 'code'), BAD_ROOMS)
def test_local_video_and_the_fake_refuse_alike(twilio, fake_client, params, code):
    assert refusal(twilio, params) == refusal(fake_client, params) == (400, code)
