"""The hot paths' shortcuts agree with what they replace (bench/README.md says why).

Callbacks' signatures are checked without twilio-python's RequestValidator
first, a token request reads everything in one
Redis script, and apply_event writes with a compare-and-set that starts from a
remembered guess. Each must give the same answers as the slow way.
"""

from __future__ import annotations

import json

import pytest
from twilio.request_validator import RequestValidator

from podium.access_log import uses_only_cheap_atoms
from podium.room_state import RoomEvent
from podium.store import Store, participant_key, rate_limit_key, room_key
from tests.unit.test_signatures import event_form, twilio_signature
from tests.unit.test_store import PRESENTATION, ROOM, attendee, seed


@pytest.fixture
def config(webhooks_config):
    """This module's service config stands in for the token service's."""
    return webhooks_config


def test_signature_shortcut_accepts_what_twilio_accepts_and_nothing_else(
    config, store
):
    from falcon import testing

    from webhooks.app import create_app

    app = create_app(config, store=store)  # the check runs before any storage
    resource = app._router.find('/webhooks/room-events')[0]
    form = {name: [value] for name, value in event_form(Empty='').items()}
    validator = RequestValidator(config.auth_token)
    url = config.public_url.rstrip('/') + '/webhooks/room-events?x=1'
    good = twilio_signature(config.auth_token, url, event_form(Empty=''))
    assert validator.validate(url, {k: v[0] for k, v in form.items()}, good)
    req = testing.create_req(
        path='/webhooks/room-events',
        query_string='x=1',
        headers={'X-Twilio-Signature': good},
    )
    assert resource.signature._matches(req, form, good)
    assert not resource.signature._matches(req, form, good[:-2] + 'AA')
    tampered = dict(form, ParticipantStatus=['disconnected'])
    assert not resource.signature._matches(req, tampered, good)


def test_access_log_shortcut_only_for_formats_it_covers():
    assert uses_only_cheap_atoms('%({X-Forwarded-For}i)s "%(m)s %(U)s" %(s)s %(M)sms')
    assert not uses_only_cheap_atoms('%(h)s %(U)s')
    assert not uses_only_cheap_atoms('%(u)s')  # %(u)s is the user, not the path


def test_token_reads_count_and_read_in_one_call(store):
    seed(store)
    store.client.set(room_key(ROOM), json.dumps({'sid': ROOM}))
    reads = store.count_and_read_presentation(
        PRESENTATION, ('tokens', '203.0.113.1'), 60, 120.5
    )
    assert (reads.count, reads.retry_after) == (1, 60)
    assert reads.presentation == store.get_presentation(PRESENTATION)
    assert reads.room == {'sid': ROOM}
    assert 0 < store.client.ttl(rate_limit_key('tokens', '203.0.113.1', 2)) <= 61
    again = store.count_and_read_presentation(
        PRESENTATION, ('tokens', '203.0.113.1'), 60, 121
    )
    assert again.count == 2
    uncounted = store.count_and_read_presentation('nope', None, 60, 121)
    assert (uncounted.count, uncounted.presentation, uncounted.room) == (
        None,
        None,
        None,
    )
    invalid = store.count_and_read_presentation(None, ('tokens', 'x'), 60, 121)
    assert (invalid.count, invalid.presentation) == (1, None)


def connected(sid: str) -> RoomEvent:
    return attendee('participant-connected', sid)


def test_apply_event_with_a_stale_guess_still_merges_into_what_is_stored(store):
    seed(store)
    other_worker = Store(store.client)
    assert store.apply_event(connected('PA1'))
    # Another worker changes the record behind this store's back.
    assert other_worker.apply_event(attendee('participant-disconnected', 'PA1', ts=9))
    assert store.apply_event(attendee('track-added', 'PA1', ts=5, track_sid='MT1'))
    record = other_worker.client.get(participant_key(ROOM, 'PA1'))
    assert '"MT1"' in record
    assert store.read_view(PRESENTATION)['attendees']['count'] == 0


def test_apply_event_never_skips_a_callback_the_store_lost(store):
    seed(store)
    assert store.apply_event(connected('PA1'))
    store.client.delete(participant_key(ROOM, 'PA1'))  # e.g. expired or lost
    assert store.apply_event(connected('PA1'))  # remembered, but not stored: write
    assert store.client.get(participant_key(ROOM, 'PA1')) is not None
    assert not store.apply_event(connected('PA1'))  # now truly known
