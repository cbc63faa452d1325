"""`GET .../Participants/{p}/PublishedTracks`: Twilio's shape, what is published now.

Podium's rebuild (podium.rebuild) reads it to restore the presenter's tracks
after Redis lost them. In process (ASGI) without Janus; tracks are set on the
registry the way signalling sets them after a publish.
"""

from __future__ import annotations

import base64

import falcon.testing

from local_video.app import build_service
from local_video.config import from_env
from tests.conftest import TEST_ENV

from .test_schema import check, spec  # noqa: F401 - `spec` is a fixture

CONFIG = from_env(TEST_ENV)
AUTH = {
    'Authorization': 'Basic '
    + base64.b64encode(
        f'{CONFIG.api_key_sid}:{CONFIG.api_key_secret}'.encode()
    ).decode()
}
PATH = '/v1/Rooms/{RoomSid}/Participants/{ParticipantSid}/PublishedTracks'


class Connection:
    def notify(self, message: dict) -> None:
        pass

    def kick(self, code: int, message: str) -> None:
        pass

    def resubscribe(self) -> None:
        pass


def published(http, room, participant) -> falcon.testing.Result:
    return http.simulate_get(
        f'/v1/Rooms/{room.sid}/Participants/{participant.sid}/PublishedTracks',
        headers=AUTH,
    )


def test_lists_current_tracks_in_twilios_shape(spec):  # noqa: F811
    service = build_service(CONFIG, use_janus=False)
    http = falcon.testing.TestClient(service.app)
    room = service.registry.create_room('podium-tracks')
    presenter = service.registry.join('podium-tracks', 'presenter', Connection())
    service.registry.set_tracks(
        presenter, [('0', 'camera', 'video'), ('1', 'microphone', 'audio')]
    )

    result = published(http, room, presenter)

    assert result.status_code == 200, result.text
    check(spec, PATH, 'get', 200, result.json)
    tracks = result.json['published_tracks']
    assert {(t['name'], t['kind']) for t in tracks} == {
        ('camera', 'video'),
        ('microphone', 'audio'),
    }
    assert {t['sid'] for t in tracks} == set(presenter.tracks)
    assert all(t['enabled'] and t['participant_sid'] == presenter.sid for t in tracks)
    assert result.json['meta']['key'] == 'published_tracks'

    # Unpublishing one and then leaving empties the list, as on Twilio.
    service.registry.set_tracks(presenter, [('0', 'camera', 'video')])
    assert [
        t['name'] for t in published(http, room, presenter).json['published_tracks']
    ] == ['camera']
    service.registry.leave(presenter)
    assert published(http, room, presenter).json['published_tracks'] == []


def test_unknown_participant_is_twilios_404():
    service = build_service(CONFIG, use_janus=False)
    http = falcon.testing.TestClient(service.app)
    room = service.registry.create_room('podium-tracks')
    result = http.simulate_get(
        f'/v1/Rooms/{room.sid}/Participants/PA{"0" * 32}/PublishedTracks',
        headers=AUTH,
    )
    assert result.status_code == 404
    assert result.json['code'] == 20404


def test_twilio_python_reads_it(twilio, rest_server):
    """The client the rebuild uses lists the tracks through the real HTTP server."""
    service, _ = rest_server
    room = twilio.video.v1.rooms.create(unique_name='podium-read')
    # The server's loop is idle between requests; nothing else touches the room.
    presenter = service.registry.join('podium-read', 'presenter', Connection())
    service.registry.set_tracks(presenter, [('0', 'camera', 'video')])
    tracks = (
        twilio.video.v1.rooms(room.sid)
        .participants(presenter.sid)
        .published_tracks.list()
    )
    assert [(t.name, t.kind, t.enabled) for t in tracks] == [('camera', 'video', True)]
    assert tracks[0].date_created is not None
