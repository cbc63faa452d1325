"""Only the presenter and the stage slots may publish; anyone else is refused
before Janus hears of it."""

from __future__ import annotations

import json

import pytest

from local_video.app import build_service
from local_video.publishing import may_publish

from .conftest import serve
from .helpers import Signal, make_token

OFFER = 'v=0\r\no=- 1 1 IN IP4 127.0.0.1\r\ns=-\r\nt=0 0\r\n'
CAMERA = [{'mid': '0', 'name': 'camera', 'kind': 'video'}]


@pytest.mark.parametrize(
    ('identity', 'speakers', 'allowed'),
    [
        ('presenter', frozenset(), True),
        ('attendee-0123456789abcdef', frozenset(), False),
        ('Presenter', frozenset(), False),
        ('presenter ', frozenset(), False),
        ('', frozenset(), False),
        # Stage slots: the token service signs speaker-k only for an accepted speaker.
        ('speaker-1', frozenset(), True),
        ('speaker-3', frozenset(), True),
        ('speaker-4', frozenset(), False),
        ('speaker-0', frozenset(), False),
        ('speaker-01', frozenset(), False),
        ('speaker-', frozenset(), False),
        # The extension point: an invited speaker, in that room only.
        ('attendee-0123456789abcdef', {'attendee-0123456789abcdef'}, True),
        ('attendee-other', {'attendee-0123456789abcdef'}, False),
    ],
)
def test_may_publish(identity, speakers, allowed):
    assert may_publish(identity, speakers, 3) is allowed


def test_the_number_of_slots_is_a_setting():
    assert may_publish('speaker-5', frozenset(), 5)
    assert not may_publish('speaker-5', frozenset(), 4)


class FakeHandle:
    def __init__(self, media: RecordingMedia, owner: str) -> None:
        self._media = media
        self._owner = owner
        self.id = len(media.requests) + 1

    async def message(self, body: dict, jsep: dict | None = None):
        self._media.requests.append((self._owner, body))
        if jsep is not None and jsep.get('type') == 'offer':
            return {}, {'type': 'answer', 'sdp': OFFER}
        return {}, None


class FakeSession:
    def __init__(self, media: RecordingMedia) -> None:
        self._media = media
        self.closed = False

    async def attach(self, owner: str, on_event) -> FakeHandle:
        self._media.requests.append((owner, {'request': 'attach'}))
        return FakeHandle(self._media, owner)

    async def destroy(self) -> None:
        self.closed = True


class RecordingMedia:
    """Stands in for JanusMedia and records every request meant for Janus."""

    process = None

    def __init__(self) -> None:
        self.requests: list[tuple[str, dict]] = []
        self.rooms: list[str] = []

    async def start(self) -> None:
        pass

    async def stop(self) -> None:
        pass

    def add_listener(self, listener) -> None:
        pass

    def remove_listener(self, listener) -> None:
        pass

    def room_ended(self, room) -> None:
        pass

    async def new_session(self, on_lost=None) -> FakeSession:
        return FakeSession(self)

    async def ensure_room(self, room) -> None:
        self.rooms.append(room.sid)

    def publishing_requests(self, participant_sid: str) -> list[dict]:
        return [
            body
            for owner, body in self.requests
            if owner == participant_sid
            and (
                body.get('request') in ('publish', 'configure')
                or body.get('ptype') == 'publisher'
            )
        ]


@pytest.fixture
def media_server(lv_config):
    media = RecordingMedia()
    service = build_service(lv_config, media=media, minute=0.2)
    service.registry.create_room('podium-talk')
    with serve(service.app, lv_config.port) as url:
        yield service, media, url


def publish(signal: Signal, seq: int) -> dict:
    signal.ws.send(
        json.dumps({'type': 'publish', 'seq': seq, 'sdp': OFFER, 'tracks': CAMERA})
    )
    while True:
        reply = signal.recv()
        if reply['type'] in ('publishAnswer', 'publishError') and reply['seq'] == seq:
            return reply


def test_an_attendee_may_not_publish_and_janus_never_hears_of_it(
    media_server, lv_config
):
    service, media, url = media_server
    token = make_token(lv_config, 'attendee-0123456789abcdef', 'podium-talk')
    attendee = Signal(url, token)
    sid = attendee.first['participant']['sid']

    reply = publish(attendee, 7)

    assert reply['type'] == 'publishError'
    assert reply['code'] == 53300
    assert 'only the presenter and invited speakers may publish' in reply['message']
    assert media.publishing_requests(sid) == []
    assert service.registry.find_room('podium-talk').find_participant(sid).tracks == {}
    attendee.close()


def test_the_presenter_publishes_through_janus(media_server, lv_config):
    service, media, url = media_server
    presenter = Signal(url, make_token(lv_config, 'presenter', 'podium-talk'))
    sid = presenter.first['participant']['sid']

    reply = publish(presenter, 1)

    assert reply['type'] == 'publishAnswer', reply
    requests = media.publishing_requests(sid)
    assert [r.get('ptype') or r['request'] for r in requests] == [
        'publisher',
        'publish',
    ]
    presenter.close()


def test_an_invited_speaker_may_publish(media_server, lv_config):
    """The extension point works once something fills `Room.speakers`."""
    service, media, url = media_server
    service.registry.find_room('podium-talk').speakers.add('attendee-guest')
    guest = Signal(url, make_token(lv_config, 'attendee-guest', 'podium-talk'))

    assert publish(guest, 1)['type'] == 'publishAnswer'
    guest.close()


def test_a_stage_slot_token_may_publish(media_server, lv_config):
    """The token service signs speaker-k only for an accepted speaker."""
    service, media, url = media_server
    speaker = Signal(url, make_token(lv_config, 'speaker-2', 'podium-talk'))
    sid = speaker.first['participant']['sid']

    assert publish(speaker, 1)['type'] == 'publishAnswer'
    assert [r.get('ptype') or r['request'] for r in media.publishing_requests(sid)] == [
        'publisher',
        'publish',
    ]
    speaker.close()


def test_a_slot_beyond_the_setting_may_not_publish(media_server, lv_config):
    service, media, url = media_server
    slots = lv_config.stage_slots
    outsider = Signal(url, make_token(lv_config, f'speaker-{slots + 1}', 'podium-talk'))
    sid = outsider.first['participant']['sid']

    reply = publish(outsider, 1)

    assert reply['type'] == 'publishError'
    assert reply['code'] == 53300
    assert media.publishing_requests(sid) == []
    outsider.close()
