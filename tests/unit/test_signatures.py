"""X-Twilio-Signature checks, with signatures computed here independently of twilio."""

from __future__ import annotations

import base64
import hashlib
import hmac
import logging
from urllib.parse import urlencode

import pytest
from falcon import testing
from twilio.request_validator import RequestValidator

from podium.config import WebhooksConfig
from webhooks.app import create_app


@pytest.fixture
def config(webhooks_config):
    """This module's service config stands in for the token service's."""
    return webhooks_config


TOKEN = 'test-auth-token-not-real'
PATH = '/webhooks/room-events'
FORM_TYPE = 'application/x-www-form-urlencoded'


def twilio_signature(
    token: str, url: str, params: dict[str, str] | list[tuple[str, str]]
) -> str:
    """Sign like Twilio: base64(HMAC-SHA1(token, url + name1 + value1 + ...)).

    Fields are sorted by name; a repeated field contributes each value, sorted.
    """
    pairs = sorted(params.items() if isinstance(params, dict) else params)
    message = url + ''.join(name + value for name, value in pairs)
    digest = hmac.new(token.encode(), message.encode(), hashlib.sha1).digest()
    return base64.b64encode(digest).decode()


def event_form(**overrides: str) -> dict[str, str]:
    form = {
        'AccountSid': 'AC' + '0' * 32,
        'RoomName': 'podium-abc',
        'RoomSid': 'RM' + 'a' * 32,
        'RoomStatus': 'in-progress',
        'RoomType': 'group',
        'StatusCallbackEvent': 'participant-connected',
        'Timestamp': '2024-05-01T12:00:00.000Z',
        'SequenceNumber': '3',
        'ParticipantSid': 'PA' + 'b' * 32,
        'ParticipantIdentity': 'attendee-0123abcd',
        'ParticipantStatus': 'connected',
    }
    form.update(overrides)
    return form


@pytest.fixture
def client(config, store) -> testing.TestClient:
    store.create_presentation({'id': 'abc', 'title': 'Talk'})
    store.set_room('abc', 'RM' + 'a' * 32, 0)
    return testing.TestClient(create_app(config, store=store))


def post(client, form, signature: str | None, path: str = PATH, **kwargs):
    headers = {'Content-Type': FORM_TYPE}
    if signature is not None:
        headers['X-Twilio-Signature'] = signature
    headers.update(kwargs.pop('headers', {}))
    return client.simulate_post(path, body=urlencode(form), headers=headers, **kwargs)


def attendee_count(store) -> int:
    return store.read_view('abc')['attendees']['count']


def test_helper_agrees_with_twilio_library():
    # Guards the helper itself: if it were wrong, "valid" tests would prove nothing.
    form = event_form()
    url = 'https://podium.example.org' + PATH
    expected = RequestValidator(TOKEN).compute_signature(url, form)
    assert twilio_signature(TOKEN, url, form) == expected


def test_valid_signature_is_accepted(client, store):
    form = event_form()
    result = post(
        client, form, twilio_signature(TOKEN, 'http://podium.test' + PATH, form)
    )
    assert result.status_code == 204
    assert attendee_count(store) == 1


def test_query_string_is_part_of_the_signed_url(client, store):
    form = event_form()
    url = 'http://podium.test' + PATH + '?tenant=a'
    result = post(
        client, form, twilio_signature(TOKEN, url, form), query_string='tenant=a'
    )
    assert result.status_code == 204
    unsigned_query = twilio_signature(TOKEN, 'http://podium.test' + PATH, form)
    result = post(client, form, unsigned_query, query_string='tenant=a')
    assert result.status_code == 403


def test_blank_values_are_signed_too(client, store):
    form = event_form(RoomType='')
    result = post(
        client, form, twilio_signature(TOKEN, 'http://podium.test' + PATH, form)
    )
    assert result.status_code == 204


@pytest.mark.parametrize(
    'signed_url',
    [
        'http://evil.example' + PATH,
        'https://podium.test' + PATH,
        'http://podium.test/webhooks/other',
        'http://podium.test' + PATH + '?x=1',
        'http://podium.test:8080' + PATH,
    ],
    ids=['other-host', 'https-not-http', 'other-path', 'extra-query', 'other-port'],
)
def test_signature_for_another_url_is_rejected(client, store, signed_url):
    form = event_form()
    result = post(client, form, twilio_signature(TOKEN, signed_url, form))
    assert result.status_code == 403
    assert result.json['title'] == 'Invalid signature'
    assert attendee_count(store) == 0


def test_host_header_is_not_trusted(client, store):
    # An attacker signing for their own host and sending that Host header gains nothing.
    form = event_form()
    signature = twilio_signature(TOKEN, 'http://evil.example' + PATH, form)
    result = post(client, form, signature, host='evil.example')
    assert result.status_code == 403
    assert attendee_count(store) == 0


def test_forged_signature_is_rejected(client, store):
    form = event_form()
    url = 'http://podium.test' + PATH
    result = post(client, form, twilio_signature('another-token', url, form))
    assert result.status_code == 403
    assert attendee_count(store) == 0


@pytest.mark.parametrize(
    'change',
    [
        {'ParticipantIdentity': 'presenter'},
        {'StatusCallbackEvent': 'participant-disconnected'},
        {'Extra': 'field'},
    ],
    ids=['changed-value', 'changed-event', 'added-field'],
)
def test_tampered_form_is_rejected(client, store, change):
    form = event_form()
    signature = twilio_signature(TOKEN, 'http://podium.test' + PATH, form)
    result = post(client, {**form, **change}, signature)
    assert result.status_code == 403
    assert attendee_count(store) == 0


def test_removed_field_is_rejected(client, store):
    form = event_form()
    signature = twilio_signature(TOKEN, 'http://podium.test' + PATH, form)
    del form['SequenceNumber']
    assert post(client, form, signature).status_code == 403


@pytest.mark.parametrize('signature', [None, ''], ids=['absent', 'empty'])
def test_missing_signature_is_rejected(client, store, signature):
    result = post(client, event_form(), signature)
    assert result.status_code == 403
    assert result.json['title'] == 'Missing signature'
    assert attendee_count(store) == 0


def test_garbage_signature_is_rejected(client):
    assert post(client, event_form(), 'not base64 at all!').status_code == 403


def test_works_behind_a_tls_proxy(env, store):
    # nginx forwards to http://127.0.0.1:8003 while Twilio signed the public https URL.
    env['PODIUM_PUBLIC_URL'] = 'https://podium.example.org'
    store.create_presentation({'id': 'abc', 'title': 'Talk'})
    client = testing.TestClient(create_app(WebhooksConfig.from_env(env), store=store))
    form = event_form()
    signature = twilio_signature(TOKEN, 'https://podium.example.org' + PATH, form)
    result = post(
        client,
        form,
        signature,
        host='127.0.0.1',
        protocol='http',
        headers={
            'X-Forwarded-Proto': 'https',
            'X-Forwarded-Host': 'podium.example.org',
        },
    )
    assert result.status_code == 204
    as_seen_locally = twilio_signature(TOKEN, 'http://127.0.0.1' + PATH, form)
    assert post(client, form, as_seen_locally, host='127.0.0.1').status_code == 403


def test_rejections_log_no_secret(client, caplog):
    caplog.set_level(logging.DEBUG)
    form = event_form()
    forged = twilio_signature('another-token', 'http://podium.test' + PATH, form)
    result = post(client, form, forged)
    assert result.status_code == 403
    assert TOKEN not in result.text
    assert forged not in result.text
    assert 'signature does not match' in caplog.text
    assert forged not in caplog.text
    assert TOKEN not in caplog.text
