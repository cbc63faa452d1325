"""The stage endpoints of the token service, on fakeredis."""

from __future__ import annotations

import falcon.testing
import jwt

from tests.unit.test_audience_api import Talk
from tests.unit.test_token_service import FakeClock, FakeRooms
from token_service.app import create_app
from token_service.rate_limits import RateLimitSettings


def new_talk(config, store):
    rooms = FakeRooms()
    app = create_app(
        config,
        store=store,
        rooms=rooms,
        clock=FakeClock(),
        rate_limits=RateLimitSettings(presentations_per_minute=0, tokens_per_minute=0),
    )
    return Talk(falcon.testing.TestClient(app)), rooms


def join(talk, name):
    result = talk.client.simulate_post(
        f'{talk.base}/tokens', json={'role': 'attendee', 'name': name}
    )
    return result.json['identity'], {'Authorization': f'Bearer {result.json["token"]}'}


def test_invite_accept_mute_and_remove(config, store):
    talk, rooms = new_talk(config, store)
    ann, ann_auth = join(talk, 'Ann')
    invited = talk.call('POST', 'stage', talk.presenter, json={'identity': ann})
    assert invited.status_code == 201, invited.text
    assert invited.json['slot'] == '1' and invited.json['status'] == 'invited'
    accepted = talk.call('POST', 'stage/accept', ann_auth)
    assert accepted.status_code == 200, accepted.text
    claims = jwt.decode(accepted.json['token'], options={'verify_signature': False})
    assert claims['grants']['identity'] == 'speaker-1'
    assert claims['exp'] - claims['nbf'] <= 300
    muted = talk.call('POST', 'stage/1/mute', talk.presenter, json={'muted': True})
    assert muted.status_code == 200 and muted.json['muted'] is True
    removed = talk.call('DELETE', 'stage/1', talk.presenter)
    assert removed.json['removed'] is True
    # One REST call: the slot's connection, whatever the audience size.
    assert [call[2] for call in rooms.named('disconnect')] == ['speaker-1']
    assert talk.call('POST', 'stage/accept', ann_auth).status_code == 409


def test_only_the_presenter_invites_and_a_full_stage_is_409(config, store):
    talk, _ = new_talk(config, store)
    ann, ann_auth = join(talk, 'Ann')
    refused = talk.call('POST', 'stage', ann_auth, json={'identity': ann})
    assert refused.status_code == 403
    for n in range(config.stage_slots):
        other, _ = join(talk, f'P{n}')
        assert (
            talk.call(
                'POST', 'stage', talk.presenter, json={'identity': other}
            ).status_code
            == 201
        )
    full = talk.call('POST', 'stage', talk.presenter, json={'identity': ann})
    assert full.status_code == 409 and 'full' in full.json['description']
    bad = talk.call('POST', 'stage', talk.presenter, json={'identity': 'presenter'})
    assert bad.status_code == 400


def test_decline_frees_the_slot(config, store):
    talk, _ = new_talk(config, store)
    ann, ann_auth = join(talk, 'Ann')
    talk.call('POST', 'stage', talk.presenter, json={'identity': ann})
    declined = talk.call('POST', 'stage/decline', ann_auth)
    assert declined.status_code == 200 and declined.json['changed'] is True
    assert talk.call('POST', 'stage/accept', ann_auth).status_code == 409
