"""Muting a published track: `track-disabled` / `track-enabled` callbacks as Twilio
sends them, `trackDisabled` / `trackEnabled` to the other browsers, and room state
that pages read "Microphone off" from."""

from __future__ import annotations

from local_video.rooms import Registry
from podium import room_state

from .helpers import Signal, make_token


class Recorder:
    """Callbacks and connections that remember what they were handed."""

    def __init__(self) -> None:
        self.callbacks: list[tuple[str, dict]] = []

    def send(self, room, event: str, extra: dict[str, str]) -> None:
        self.callbacks.append((event, extra))


class Connection:
    def __init__(self) -> None:
        self.messages: list[dict] = []

    def notify(self, message: dict) -> None:
        self.messages.append(message)

    def kick(self, code: int, message: str) -> None:
        pass

    def resubscribe(self) -> None:
        pass


def _room_with_presenter():
    recorder = Recorder()
    registry = Registry(recorder)
    registry.create_room('podium-mute', status_callback='http://127.0.0.1:9/cb')
    attendee = Connection()
    presenter = registry.join('podium-mute', 'presenter', Connection())
    registry.join('podium-mute', 'attendee-1', attendee)
    registry.set_tracks(
        presenter, [('0', 'microphone', 'audio'), ('1', 'camera', 'video')]
    )
    return recorder, registry, presenter, attendee


def test_disable_and_enable_send_twilios_callbacks_and_tell_the_room():
    recorder, registry, presenter, attendee = _room_with_presenter()
    microphone = next(t for t in presenter.tracks.values() if t.name == 'microphone')
    recorder.callbacks.clear()

    assert registry.set_track_enabled(presenter, microphone.sid, False)
    assert registry.set_track_enabled(presenter, microphone.sid, False)  # no repeat
    assert registry.set_track_enabled(presenter, microphone.sid, True)

    assert [event for event, _ in recorder.callbacks] == [
        'track-disabled',
        'track-enabled',
    ]
    fields = recorder.callbacks[0][1]
    assert fields['TrackSid'] == microphone.sid
    assert fields['TrackKind'] == 'audio'
    assert fields['TrackName'] == 'microphone'
    assert fields['ParticipantIdentity'] == 'presenter'
    told = [
        m for m in attendee.messages if m['type'] in ('trackDisabled', 'trackEnabled')
    ]
    assert [m['type'] for m in told] == ['trackDisabled', 'trackEnabled']
    assert told[0]['participant'] == presenter.sid
    assert told[0]['track']['enabled'] is False and told[1]['track']['enabled'] is True


def test_mute_state_survives_a_renegotiation_and_unknown_tracks_are_refused():
    _, registry, presenter, _ = _room_with_presenter()
    camera = next(t for t in presenter.tracks.values() if t.name == 'camera')
    registry.set_track_enabled(presenter, camera.sid, False)
    # A republish (another track added, a media restart) keeps the track and its state.
    registry.set_tracks(
        presenter,
        [
            ('0', 'microphone', 'audio'),
            ('1', 'camera', 'video'),
            ('2', 'screen', 'video'),
        ],
    )
    assert presenter.tracks[camera.sid].enabled is False
    assert presenter.tracks[camera.sid].as_json()['enabled'] is False
    assert not registry.set_track_enabled(presenter, 'MT' + '0' * 32, False)


def test_the_callbacks_merge_into_presenter_state_pages_read():
    recorder, registry, presenter, _ = _room_with_presenter()
    microphone = next(t for t in presenter.tracks.values() if t.name == 'microphone')
    registry.set_track_enabled(presenter, microphone.sid, False)
    record = None
    for number, (event, extra) in enumerate(recorder.callbacks):
        form = {
            'StatusCallbackEvent': event,
            'RoomSid': 'RM' + '0' * 32,
            'RoomName': 'podium-mute',
            # Distinct, increasing times: the merge orders by Timestamp.
            'Timestamp': f'2026-01-01T00:00:{number:02d}.000Z',
            **extra,
        }
        parsed = room_state.parse_event(form)
        if parsed and parsed.identity == 'presenter' and not parsed.is_room_event:
            record = room_state.merge_participant(record, parsed)
    tracks = {t['name']: t['enabled'] for t in room_state.published_tracks(record)}
    assert tracks == {'microphone': False, 'camera': True}


def test_a_bad_set_track_enabled_message_is_answered_with_what_to_send(
    twilio, rest_server, lv_config
):
    _, url = rest_server
    twilio.video.v1.rooms.create(unique_name='mute-bad')
    signal = Signal(url, make_token(lv_config, 'presenter', 'mute-bad'))
    try:
        signal.ws.send('{"type": "setTrackEnabled", "track": 1}')
        error = signal.wait_for('error')
        assert 'track SID' in error['message']
        signal.ws.send(
            '{"type": "setTrackEnabled", "track": "MTnope", "enabled": false}'
        )
        error = signal.wait_for('error')
        assert 'you publish no track MTnope' in error['message']
    finally:
        signal.leave()
