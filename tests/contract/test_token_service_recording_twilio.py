"""The token service's recording endpoints drive Twilio's API as documented.

The app runs with its real twilio-python client against tests/fake_twilio.py;
the assertions are on the requests that reach the fake. Callbacks (which the
fake does not send) are merged into the store as the webhooks service would.
"""

from __future__ import annotations

import json
from datetime import UTC, datetime
from urllib.parse import urlsplit

import falcon.testing
import pytest

from podium.config import TokenServiceConfig
from podium.recording_state import parse_media_event
from tests.fake_twilio import FakeTwilio
from token_service.app import create_app
from token_service.rooms import COMPOSITION_AUDIO, COMPOSITION_LAYOUT

NOW = 1_700_000_000.0
FILE = b'\x00\x00\x00\x18ftypmp42' + bytes(range(256)) * 64


@pytest.fixture
def fake(env):
    with FakeTwilio(
        env['TWILIO_ACCOUNT_SID'],
        env['TWILIO_API_KEY_SID'],
        env['TWILIO_API_KEY_SECRET'],
    ) as server:
        yield server


@pytest.fixture
def client(env, fake, store):
    config = TokenServiceConfig.from_env({**env, 'PODIUM_VIDEO_API_URL': fake.url})
    return falcon.testing.TestClient(create_app(config, store=store))


def merge(store, presentation_id: str, name: str, sid: str, room_sid: str, **extra):
    form = {
        'StatusCallbackEvent': name,
        'RoomSid': room_sid,
        'CompositionSid' if sid.startswith('CJ') else 'RecordingSid': sid,
        'Timestamp': datetime.now(UTC).strftime('%Y-%m-%dT%H:%M:%S.000Z'),
        **extra,
    }
    store.apply_media_event(presentation_id, parse_media_event(form))


def start(client, **create):
    made = client.simulate_post('/api/presentations', json={'title': 'T', **create})
    presentation = made.json
    token = client.simulate_post(
        f'/api/presentations/{presentation["id"]}/tokens',
        json={'role': 'presenter', 'key': presentation['presenter_key']},
    )
    assert token.status_code == 200, token.text
    return presentation, {'Authorization': f'Presenter {presentation["presenter_key"]}'}


def test_recording_from_the_start_to_the_downloaded_file(client, fake, store):
    presentation, key = start(client, recording=True)
    pid = presentation['id']
    create = fake.requests_to('POST', '/v1/Rooms')[-1].form
    assert create['RecordParticipantsOnConnect'] == ['true']
    room_sid = next(iter(fake.rooms))

    base = f'/api/presentations/{pid}/recording'
    off = client.simulate_put(base, json={'recording': False}, headers=key)
    assert off.status_code == 200, off.text
    rules = fake.requests_to('POST', f'/v1/Rooms/{room_sid}/RecordingRules')
    assert json.loads(rules[-1].form['Rules'][0]) == [{'type': 'exclude', 'all': True}]
    client.simulate_put(base, json={'recording': True}, headers=key)
    rules = fake.requests_to('POST', f'/v1/Rooms/{room_sid}/RecordingRules')
    assert json.loads(rules[-1].form['Rules'][0]) == [{'type': 'include', 'all': True}]
    merge(store, pid, 'recording-started', 'RT' + '1' * 32, room_sid)
    merge(store, pid, 'recording-completed', 'RT' + '1' * 32, room_sid)

    ended = client.simulate_post(
        f'/api/presentations/{pid}/end', json={'key': presentation['presenter_key']}
    )
    assert ended.status_code == 200
    client.simulate_post(
        f'/api/presentations/{pid}/end', json={'key': presentation['presenter_key']}
    )
    posted = fake.requests_to('POST', '/v1/Compositions')
    assert len(posted) == 1  # one file, however often "end" is sent
    form = posted[0].form
    assert form['RoomSid'] == [room_sid]
    assert json.loads(form['VideoLayout'][0]) == COMPOSITION_LAYOUT
    assert form['AudioSources'] == COMPOSITION_AUDIO
    assert form['Resolution'] == ['1280x720'] and form['Format'] == ['mp4']
    assert form['StatusCallback'] == ['http://podium.test/webhooks/room-events']
    sid = next(iter(fake.compositions()))

    fake.finish_composition(sid, duration=20, size=len(FILE), media=FILE)
    merge(store, pid, 'composition-available', sid, room_sid, Duration='20', Size='1')
    state = client.simulate_get(base, headers=key).json
    assert state['status'] == 'available'
    media = client.simulate_get(f'{base}/media', headers=key)
    assert media.status_code == 200
    assert media.headers['content-type'] == 'video/mp4'
    assert media.content == FILE
    assert fake.requests_to('GET', f'/v1/Compositions/{sid}/Media')
    link = urlsplit(state['download_url'])
    by_link = client.simulate_get(link.path, query_string=link.query)
    assert by_link.content == FILE

    deleted = client.simulate_delete(base, headers=key)
    assert deleted.status_code == 200 and deleted.json['status'] == 'deleted'
    assert fake.requests_to('DELETE', f'/v1/Compositions/{sid}')
    assert fake.compositions()[sid]['status'] == 'deleted'


def test_a_room_that_never_recorded_shows_twilios_refusal(client, fake, store):
    presentation, key = start(client)
    pid = presentation['id']
    room_sid = next(iter(fake.rooms))
    client.simulate_put(
        f'/api/presentations/{pid}/recording', json={'recording': True}, headers=key
    )
    # Recording was switched on and straight off again at Twilio: nothing recorded.
    fake.clear_requests()
    with fake._lock:
        fake._state.recorded.discard(room_sid)
    client.simulate_post(
        f'/api/presentations/{pid}/end', json={'key': presentation['presenter_key']}
    )
    assert len(fake.requests_to('POST', '/v1/Compositions')) == 1
    state = client.simulate_get(f'/api/presentations/{pid}/recording', headers=key)
    assert state.json['status'] == 'failed'
    assert state.json['error'].startswith('Nothing was recorded')
    again = client.simulate_post(
        f'/api/presentations/{pid}/recording/composition', headers=key
    )
    assert again.status_code == 409
    assert again.json['title'] == 'Nothing was recorded'


def test_twilio_down_is_a_clear_502_and_the_next_try_works(client, fake):
    presentation, key = start(client)
    room_sid = next(iter(fake.rooms))
    fake.fail_next('POST', f'/v1/Rooms/{room_sid}/RecordingRules', 500, 20500, 'x')
    base = f'/api/presentations/{presentation["id"]}/recording'
    failed = client.simulate_put(base, json={'recording': True}, headers=key)
    assert failed.status_code == 502
    assert failed.json['title'] and failed.json['description']
    assert client.simulate_put(base, json={'recording': True}, headers=key).json[
        'requested'
    ]


def test_a_failed_composition_is_asked_for_again(client, fake, store):
    presentation, key = start(client, recording=True)
    pid = presentation['id']
    room_sid = next(iter(fake.rooms))
    merge(store, pid, 'recording-started', 'RT' + '2' * 32, room_sid)
    merge(store, pid, 'recording-completed', 'RT' + '2' * 32, room_sid)
    client.simulate_post(
        f'/api/presentations/{pid}/end', json={'key': presentation['presenter_key']}
    )
    first = next(iter(fake.compositions()))
    merge(store, pid, 'composition-failed', first, room_sid, ErrorMessage='Media error')
    base = f'/api/presentations/{pid}/recording'
    assert client.simulate_get(base, headers=key).json['error'] == 'Media error'
    retry = client.simulate_post(f'{base}/composition', headers=key)
    assert retry.status_code == 202 and retry.json['status'] == 'processing'
    posted = fake.requests_to('POST', '/v1/Compositions')
    assert len(posted) == 2
    assert posted[1].form['RoomSid'] == [room_sid]
    assert set(fake.compositions()) - {first}
