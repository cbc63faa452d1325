"""The token service's recording endpoints, on fakeredis and a fake Rooms API."""

from __future__ import annotations

from datetime import UTC, datetime
from urllib.parse import parse_qs, urlsplit

import falcon.testing
import pytest
import requests
from twilio.base.exceptions import TwilioRestException

from podium.recording_state import parse_media_event, recording_view
from token_service.app import create_app

from .test_token_service import ROOM_SID, FakeClock, FakeRooms, create

CJ = 'CJ' + '1' * 32
RT = 'RT' + '2' * 32
MP4 = b'\x00\x00\x00\x18ftypmp42' + b'x' * 1000


class RecordingRooms(FakeRooms):
    """FakeRooms answers the recording calls too; a name for what is used here."""


class FakeUpstream:
    """A requests.Response stand-in for the file behind the media URL."""

    def __init__(self, status: int = 200, body: bytes = MP4):
        self.status_code = status
        self.headers = {'Content-Length': str(len(body))}
        self._body = body
        self.closed = False

    def iter_content(self, size):
        for start in range(0, len(self._body), size):
            yield self._body[start : start + size]

    def close(self):
        self.closed = True


class FakeSession:
    def __init__(self):
        self.gets: list[tuple[str, dict]] = []
        self.answer = FakeUpstream()

    def get(self, url, headers=None, stream=False, timeout=None):
        self.gets.append((url, headers or {}))
        return self.answer


@pytest.fixture
def clock():
    return FakeClock()


@pytest.fixture
def rooms():
    return RecordingRooms()


@pytest.fixture
def session():
    return FakeSession()


@pytest.fixture
def client(config, store, rooms, clock, session):
    return falcon.testing.TestClient(
        create_app(config, store=store, rooms=rooms, clock=clock, media_session=session)
    )


def presenter(presentation) -> dict:
    return {'Authorization': f'Presenter {presentation["presenter_key"]}'}


def path(presentation, tail='') -> str:
    return f'/api/presentations/{presentation["id"]}/recording{tail}'


def go_live(client, presentation) -> None:
    result = client.simulate_post(
        f'/api/presentations/{presentation["id"]}/tokens',
        json={'role': 'presenter', 'key': presentation['presenter_key']},
    )
    assert result.status_code == 200, result.text


def end(client, presentation):
    return client.simulate_post(
        f'/api/presentations/{presentation["id"]}/end',
        json={'key': presentation['presenter_key']},
    )


def callback(store, presentation, name: str, sid: str, **extra) -> None:
    form = {
        'StatusCallbackEvent': name,
        'RoomSid': ROOM_SID,
        'CompositionSid' if sid.startswith('CJ') else 'RecordingSid': sid,
        'Timestamp': datetime.now(UTC).strftime('%Y-%m-%dT%H:%M:%S.000Z'),
        **extra,
    }
    store.apply_media_event(presentation['id'], parse_media_event(form))


def recorded_talk(client, store, presentation) -> None:
    go_live(client, presentation)
    put = client.simulate_put(
        path(presentation), json={'recording': True}, headers=presenter(presentation)
    )
    assert put.status_code == 200, put.text
    callback(store, presentation, 'recording-started', RT, TrackName='screen')
    callback(store, presentation, 'recording-completed', RT, Duration='20')


def test_recording_on_while_live_changes_the_rooms_rules(client, rooms, store):
    presentation = create(client)
    go_live(client, presentation)
    result = client.simulate_put(
        path(presentation), json={'recording': True}, headers=presenter(presentation)
    )
    assert result.status_code == 200, result.text
    assert rooms.named('set_recording') == [('set_recording', ROOM_SID, True)]
    # Not optimistic: "recording" only once the video service says so.
    assert result.json['requested'] is True
    assert result.json['status'] == 'off'
    callback(store, presentation, 'recording-started', RT, TrackName='screen')
    state = client.simulate_get(path(presentation), headers=presenter(presentation))
    assert state.json['status'] == 'recording'
    assert store.read_view(presentation['id'])['recording']['status'] == 'recording'

    off = client.simulate_put(
        path(presentation), json={'recording': False}, headers=presenter(presentation)
    )
    assert rooms.named('set_recording')[-1] == ('set_recording', ROOM_SID, False)
    assert off.json['requested'] is False


def test_recording_asked_before_going_live_records_the_room_from_its_start(
    client, rooms
):
    result = client.simulate_post(
        '/api/presentations', json={'title': 'Recorded', 'recording': True}
    )
    assert result.status_code == 201
    assert result.json['recording'] is True
    go_live(client, result.json)
    assert rooms.named('ensure')[-1][2] is True
    assert rooms.named('set_recording') == []


def test_recording_switched_on_before_the_room_exists(client, rooms):
    presentation = create(client)
    result = client.simulate_put(
        path(presentation), json={'recording': True}, headers=presenter(presentation)
    )
    assert result.status_code == 200
    assert rooms.named('set_recording') == []  # no room yet
    go_live(client, presentation)
    assert rooms.named('ensure')[-1][2] is True


@pytest.mark.parametrize(
    ('headers', 'status'),
    [({}, 401), ({'Authorization': 'Presenter nope'}, 403)],
)
def test_recording_needs_the_presenter_key(client, headers, status):
    presentation = create(client)
    for method in ('GET', 'PUT', 'DELETE'):
        result = client.simulate_request(
            method, path(presentation), json={'recording': True}, headers=headers
        )
        assert result.status_code == status
        assert result.json['title']
    media = client.simulate_get(path(presentation, '/media'), headers=headers)
    assert media.status_code == status


@pytest.mark.parametrize('body', [{}, {'recording': 'yes'}, {'recording': 1}])
def test_a_bad_body_says_what_to_send(client, body):
    presentation = create(client)
    result = client.simulate_put(
        path(presentation), json=body, headers=presenter(presentation)
    )
    assert result.status_code == 400
    assert '"recording": true' in result.json['description']


def test_bad_recording_flag_on_create(client):
    result = client.simulate_post(
        '/api/presentations', json={'title': 'x', 'recording': 'on'}
    )
    assert result.status_code == 400
    assert result.json['title'] == 'Invalid recording'


def test_the_end_asks_for_one_composition_even_when_retried(client, rooms, store):
    presentation = create(client)
    recorded_talk(client, store, presentation)
    assert end(client, presentation).status_code == 200
    assert end(client, presentation).status_code == 200
    client.simulate_get(path(presentation), headers=presenter(presentation))
    assert rooms.named('compose') == [('compose', ROOM_SID)]
    state = client.simulate_get(path(presentation), headers=presenter(presentation))
    assert state.json['status'] == 'processing'
    assert state.json['download_url'] is None


def test_a_failed_ask_is_asked_again_by_the_next_end(client, rooms, store):
    presentation = create(client)
    recorded_talk(client, store, presentation)
    rooms.errors['compose'] = requests.ConnectionError('down')
    assert end(client, presentation).status_code == 502
    assert end(client, presentation).status_code == 200
    assert len(rooms.named('compose')) == 2
    assert store.get_presentation(presentation['id'])['composition_sid'] == CJ


def test_recordings_still_processing_are_composed_on_a_later_look(client, rooms, store):
    presentation = create(client)
    recorded_talk(client, store, presentation)
    rooms.errors['compose'] = TwilioRestException(
        400, 'u', 'Room has no recordings to compose yet: try again in a few seconds'
    )
    assert end(client, presentation).status_code == 200
    state = client.simulate_get(path(presentation), headers=presenter(presentation))
    assert state.json['status'] == 'processing'
    assert len(rooms.named('compose')) == 2  # the GET asked again, and got it
    assert store.get_presentation(presentation['id'])['composition_sid'] == CJ


def test_a_room_without_recordings_fails_with_a_readable_message(client, rooms, store):
    presentation = create(client)
    go_live(client, presentation)
    client.simulate_put(
        path(presentation), json={'recording': True}, headers=presenter(presentation)
    )
    rooms.errors['compose'] = TwilioRestException(
        400, 'u', f'Room {ROOM_SID} has no recordings to compose', code=20001
    )
    end(client, presentation)
    state = client.simulate_get(path(presentation), headers=presenter(presentation))
    assert state.json['status'] == 'failed'
    assert state.json['error'].startswith('Nothing was recorded')
    assert ROOM_SID not in state.text
    view = store.read_view(presentation['id'])
    assert view['recording']['status'] == 'failed'


def test_a_talk_never_recorded_asks_for_nothing(client, rooms):
    presentation = create(client)
    go_live(client, presentation)
    end(client, presentation)
    state = client.simulate_get(path(presentation), headers=presenter(presentation))
    assert state.json['status'] == 'off'
    assert rooms.named('compose') == []


def available(client, store, presentation) -> dict:
    recorded_talk(client, store, presentation)
    end(client, presentation)
    callback(store, presentation, 'composition-started', CJ)
    callback(store, presentation, 'composition-progress', CJ, PercentageDone='40')
    state = client.simulate_get(path(presentation), headers=presenter(presentation))
    assert (state.json['status'], state.json['percent']) == ('processing', 40)
    callback(
        store,
        presentation,
        'composition-available',
        CJ,
        Duration='20',
        Size=str(len(MP4)),
    )
    return client.simulate_get(path(presentation), headers=presenter(presentation)).json


def test_the_file_streams_through_with_the_key(client, store, session):
    presentation = create(client)
    state = available(client, store, presentation)
    assert state['status'] == 'available'
    assert (state['duration'], state['size']) == (20, len(MP4))
    result = client.simulate_get(
        path(presentation, '/media'), headers=presenter(presentation)
    )
    assert result.status_code == 200
    assert result.headers['content-type'] == 'video/mp4'
    assert result.content == MP4
    assert 'attachment' in result.headers['content-disposition']
    assert session.gets[0][0].startswith('https://media.test/')
    assert 'media.test' not in result.text[:100]
    # Pulled chunk by chunk off the event loop, and let go once sent.
    assert session.answer.closed


def test_the_signed_link_opens_the_file_until_it_expires(client, store, clock, config):
    presentation = create(client)
    state = available(client, store, presentation)
    link = urlsplit(state['download_url'])
    assert state['download_url'].startswith(config.public_url)
    assert state['download_expires_at'] == int(clock.now) + config.recording_link_ttl
    result = client.simulate_get(link.path, query_string=link.query)
    assert result.status_code == 200 and result.content == MP4

    forged = parse_qs(link.query)
    forged['signature'] = ['A' * 43]
    bad = client.simulate_get(
        link.path,
        params={k: v[0] for k, v in forged.items()},
    )
    assert bad.status_code == 403
    clock.now += config.recording_link_ttl + 1
    late = client.simulate_get(link.path, query_string=link.query)
    assert late.status_code == 403
    assert 'new download link' in late.json['description']


def test_no_file_yet_is_404(client, store):
    presentation = create(client)
    recorded_talk(client, store, presentation)
    result = client.simulate_get(
        path(presentation, '/media'), headers=presenter(presentation)
    )
    assert result.status_code == 404
    assert (
        'is recording' in result.json['description']
        or 'is off' in result.json['description']
    )


def test_upstream_refusing_the_file_is_502(client, store, session):
    presentation = create(client)
    available(client, store, presentation)
    session.answer = FakeUpstream(status=403, body=b'')
    result = client.simulate_get(
        path(presentation, '/media'), headers=presenter(presentation)
    )
    assert result.status_code == 502
    assert session.answer.closed


def test_delete_deletes_the_composition_and_kills_its_links(client, rooms, store):
    presentation = create(client)
    state = available(client, store, presentation)
    result = client.simulate_delete(path(presentation), headers=presenter(presentation))
    assert result.status_code == 200
    assert result.json['status'] == 'deleted'
    assert rooms.named('delete_composition') == [('delete_composition', CJ)]
    link = urlsplit(state['download_url'])
    assert client.simulate_get(link.path, query_string=link.query).status_code == 404
    again = client.simulate_delete(path(presentation), headers=presenter(presentation))
    assert again.status_code == 404


def test_delete_while_processing_is_409(client, store):
    presentation = create(client)
    recorded_talk(client, store, presentation)
    end(client, presentation)
    result = client.simulate_delete(path(presentation), headers=presenter(presentation))
    assert result.status_code == 409


def test_a_failed_composition_is_made_again_on_post(client, rooms, store):
    presentation = create(client)
    recorded_talk(client, store, presentation)
    end(client, presentation)
    early = client.simulate_post(
        path(presentation, '/composition'), headers=presenter(presentation)
    )
    assert early.status_code == 409  # still processing
    callback(
        store, presentation, 'composition-failed', CJ, ErrorMessage='ffmpeg was killed'
    )
    state = client.simulate_get(path(presentation), headers=presenter(presentation))
    assert (state.json['status'], state.json['error']) == (
        'failed',
        'ffmpeg was killed',
    )
    rooms.compose_sid = 'CJ' + '9' * 32
    retry = client.simulate_post(
        path(presentation, '/composition'), headers=presenter(presentation)
    )
    assert retry.status_code == 202, retry.text
    assert retry.json['status'] == 'processing'
    assert (
        store.get_presentation(presentation['id'])['composition_sid']
        == rooms.compose_sid
    )


def test_recording_cannot_be_switched_after_the_end(client, store):
    presentation = create(client)
    go_live(client, presentation)
    end(client, presentation)
    result = client.simulate_put(
        path(presentation), json={'recording': True}, headers=presenter(presentation)
    )
    assert result.status_code == 409


def test_view_of_each_status():
    base = {'id': 'x', 'title': 't'}
    rec = {'sid': RT, 'status': 'recording'}
    assert recording_view(base, [])['status'] == 'off'
    assert recording_view(base, [rec])['status'] == 'recording'
    done = {**rec, 'status': 'completed'}
    assert recording_view(base, [done])['status'] == 'off'
    ended = {**base, 'ended_at': '1'}
    assert recording_view(ended, [done])['status'] == 'processing'
    failed = {
        'sid': CJ,
        'status': 'failed',
        'percent': 30,
        'error': '',
        'duration': 0,
        'size': 0,
    }
    asked = {**ended, 'composition_sid': CJ}
    assert recording_view(asked, [done, failed])['error']
    assert recording_view({**asked, 'composition_deleted': '1'}, [done])['status'] == (
        'deleted'
    )


def test_a_failed_rules_change_takes_the_wish_back(client, rooms, store):
    presentation = create(client)
    go_live(client, presentation)
    rooms.errors['set_recording'] = requests.ConnectionError('down')
    result = client.simulate_put(
        path(presentation), json={'recording': True}, headers=presenter(presentation)
    )
    assert result.status_code == 502
    assert store.read_view(presentation['id'])['recording']['requested'] is False


def test_a_room_gone_at_the_video_service_is_a_clear_409(client, rooms, store):
    presentation = create(client)
    go_live(client, presentation)
    rooms.errors['set_recording'] = TwilioRestException(404, 'u', 'not found', 20404)
    result = client.simulate_put(
        path(presentation), json={'recording': True}, headers=presenter(presentation)
    )
    assert result.status_code == 409
    assert result.json['title'] == 'The live room has ended'
    assert 'not found' not in result.text
