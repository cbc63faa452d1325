"""The Rooms REST subset through twilio-python, unchanged, pointed at the service."""

from __future__ import annotations

import httpx
import pytest
from twilio.base.exceptions import TwilioRestException

from .helpers import Signal, make_token


def test_create_fetch_by_sid_and_name(twilio):
    room = twilio.video.v1.rooms.create(
        unique_name='podium-abc', type='group', max_participants=200
    )
    assert room.sid.startswith('RM') and len(room.sid) == 34
    assert room.status == 'in-progress'
    assert room.max_participants == 200  # no cap of 50 locally
    assert twilio.video.v1.rooms(room.sid).fetch().unique_name == 'podium-abc'
    assert twilio.video.v1.rooms('podium-abc').fetch().sid == room.sid


def test_unique_name_in_use_gives_53113(twilio):
    twilio.video.v1.rooms.create(unique_name='dup')
    with pytest.raises(TwilioRestException) as caught:
        twilio.video.v1.rooms.create(unique_name='dup')
    assert (caught.value.status, caught.value.code) == (400, 53113)


def test_only_group_rooms(twilio):
    with pytest.raises(TwilioRestException) as caught:
        twilio.video.v1.rooms.create(unique_name='p2p', type='peer-to-peer')
    assert caught.value.code == 53126


def test_unknown_room_is_20404(twilio):
    with pytest.raises(TwilioRestException) as caught:
        twilio.video.v1.rooms('RM' + 'f' * 32).fetch()
    assert (caught.value.status, caught.value.code) == (404, 20404)


def test_list_filters_and_pages(twilio):
    sids = [twilio.video.v1.rooms.create(unique_name=f'list-{i}').sid for i in range(5)]
    twilio.video.v1.rooms(sids[0]).update(status='completed')
    in_progress = twilio.video.v1.rooms.list(status='in-progress', page_size=2)
    assert {r.sid for r in in_progress} == set(sids[1:])
    completed = twilio.video.v1.rooms.list(status='completed')
    assert [r.sid for r in completed] == [sids[0]]
    named = twilio.video.v1.rooms.list(unique_name='list-3')
    assert [r.sid for r in named] == [sids[3]]


def test_complete_frees_the_name(twilio):
    first = twilio.video.v1.rooms.create(unique_name='again')
    ended = twilio.video.v1.rooms(first.sid).update(status='completed')
    assert ended.status == 'completed' and ended.end_time is not None
    second = twilio.video.v1.rooms.create(unique_name='again')
    assert second.sid != first.sid
    # The name now resolves to the in-progress room; the old one by SID only.
    assert twilio.video.v1.rooms('again').fetch().sid == second.sid
    assert twilio.video.v1.rooms(first.sid).fetch().status == 'completed'


def test_basic_auth_required(rest_server, lv_config):
    _, url = rest_server
    anonymous = httpx.get(url + '/v1/Rooms')
    assert anonymous.status_code == 401
    assert anonymous.json()['code'] == 20003
    wrong = httpx.get(url + '/v1/Rooms', auth=(lv_config.api_key_sid, 'wrong'))
    assert wrong.status_code == 401
    good = httpx.get(
        url + '/v1/Rooms', auth=(lv_config.api_key_sid, lv_config.api_key_secret)
    )
    assert good.status_code == 200


def test_participants_list_fetch_and_kick(twilio, rest_server, lv_config):
    _, url = rest_server
    room = twilio.video.v1.rooms.create(unique_name='people')
    alice = Signal(url, make_token(lv_config, 'alice', 'people'))
    assert alice.first['type'] == 'connected'
    bob = Signal(url, make_token(lv_config, 'bob', 'people'))
    connected = twilio.video.v1.rooms(room.sid).participants.list(status='connected')
    assert sorted(p.identity for p in connected) == ['alice', 'bob']
    by_identity = twilio.video.v1.rooms(room.sid).participants('bob').fetch()
    assert by_identity.sid == bob.first['participant']['sid']

    kicked = (
        twilio.video.v1.rooms(room.sid)
        .participants('bob')
        .update(status='disconnected')
    )
    assert kicked.status == 'disconnected'
    assert bob.wait_for('disconnected')['code'] == 53216
    assert alice.wait_for('participantDisconnected')['participant']['identity'] == 'bob'
    gone = twilio.video.v1.rooms(room.sid).participants.list(status='disconnected')
    assert [p.identity for p in gone] == ['bob']
    alice.close()


def test_subscribe_rules(twilio, rest_server, lv_config):
    _, url = rest_server
    room = twilio.video.v1.rooms.create(unique_name='rules')
    viewer = Signal(
        url, make_token(lv_config, 'viewer', 'rules'), automaticSubscription=False
    )
    participant = twilio.video.v1.rooms(room.sid).participants('viewer')
    before = participant.subscribe_rules.fetch()
    assert before.rules[0]['type'] == 'exclude' and before.rules[0]['all'] is True

    rule = {'type': 'include', 'publisher': 'presenter'}
    after = participant.subscribe_rules.update(rules=[rule])
    assert after.rules[0]['publisher'] == 'presenter'
    assert participant.subscribe_rules.fetch().rules[0]['type'] == 'include'

    for bad in (
        [],
        [{'type': 'include'}],
        [{'type': 'include', 'all': True, 'kind': 'audio'}],
        [{'type': 'maybe', 'all': True}],
        [{'type': 'include', 'kind': 'smell'}],
        [{'type': 'include', 'all': True}] * 21,
    ):
        with pytest.raises(TwilioRestException) as caught:
            participant.subscribe_rules.update(rules=bad)
        assert (caught.value.status, caught.value.code) == (400, 53215), bad
    viewer.close()


def test_complete_disconnects_clients_with_53118(twilio, rest_server, lv_config):
    _, url = rest_server
    room = twilio.video.v1.rooms.create(unique_name='ending')
    alice = Signal(url, make_token(lv_config, 'alice', 'ending'))
    twilio.video.v1.rooms(room.sid).update(status='completed')
    assert alice.wait_for('disconnected')['code'] == 53118


def test_room_full_is_53105(twilio, rest_server, lv_config):
    _, url = rest_server
    twilio.video.v1.rooms.create(unique_name='small', max_participants=1)
    Signal(url, make_token(lv_config, 'one', 'small'))
    second = Signal(url, make_token(lv_config, 'two', 'small'))
    assert second.first == {
        'type': 'error',
        'code': 53105,
        'message': 'Room contains too many Participants',
    }


def test_duplicate_identity_kicks_the_first(twilio, rest_server, lv_config):
    _, url = rest_server
    twilio.video.v1.rooms.create(unique_name='twice')
    first = Signal(url, make_token(lv_config, 'same', 'twice'))
    second = Signal(url, make_token(lv_config, 'same', 'twice'))
    assert second.first['type'] == 'connected'
    assert first.wait_for('disconnected')['code'] == 53205
