"""Recording Rules and Recordings: pure decisions, the recorder's bookkeeping, REST."""

from __future__ import annotations

import asyncio
import json
import os
import time

import pytest
from twilio.base.exceptions import TwilioRestException

from local_video.errors import TwilioError
from local_video.media_tools import Ran, parse_mjr_header
from local_video.recorder import Recorder
from local_video.recordings import parse_recording_rules, plan, selected_tracks
from local_video.rooms import Registry

INCLUDE = [{'type': 'include', 'all': True}]
EXCLUDE = [{'type': 'exclude', 'all': True}]
TRACKS = [('MT1', 'camera', 'video'), ('MT2', 'microphone', 'audio')]


def test_rules_select_tracks_like_subscribe_rules():
    assert selected_tracks(INCLUDE, 'PA1', 'presenter', TRACKS) == {'MT1', 'MT2'}
    assert selected_tracks(EXCLUDE, 'PA1', 'presenter', TRACKS) == set()
    audio = [{'type': 'include', 'kind': 'audio'}]
    assert selected_tracks(audio, 'PA1', 'presenter', TRACKS) == {'MT2'}
    others = [{'type': 'include', 'publisher': 'someone-else'}]
    assert selected_tracks(others, 'PA1', 'presenter', TRACKS) == set()


def test_plan_starts_and_stops_the_difference():
    change = plan({'MT1', 'MT3'}, {'MT1', 'MT2'})
    assert change.start == {'MT3'} and change.stop == {'MT2'} and change.janus_on
    assert not plan(set(), {'MT1'}).janus_on


@pytest.mark.parametrize(
    'raw',
    [
        'nope',
        '[]',
        '[{"type": "maybe", "all": true}]',
        '[{"type": "include"}]',
        '[{"type": "include", "priority": "high"}]',
    ],
)
def test_bad_rules_say_what_is_wrong(raw):
    with pytest.raises(TwilioError) as caught:
        parse_recording_rules(raw)
    assert caught.value.status == 400
    assert caught.value.message.startswith('Invalid Recording Rules')


class Sent:
    def __init__(self):
        self.events = []

    def send(self, room, event, extra):
        self.events.append((event, extra))


class FakeTools:
    """janus-pp-rec and ffprobe stand-ins: write the target, print a header."""

    def __init__(self):
        self.calls = []

    async def __call__(self, args, timeout=600.0):
        self.calls.append(args)
        if '--json' in args:
            return Ran(0, json.dumps({'t': 'v', 'c': 'vp8', 's': 1, 'u': 2}), '')
        if args[0].endswith('ffprobe'):
            return Ran(0, '12.5\n', '')
        with open(args[-1], 'wb') as out:
            out.write(b'x' * 10)
        return Ran(0, '', '')


def test_recorder_follows_rules_tracks_and_leaving(lv_config):
    async def scenario():
        sent = Sent()
        tools = FakeTools()
        recorder = Recorder(lv_config, sent, settle=0, run_tool=tools)
        registry = Registry(
            sent,
            on_tracks_changed=recorder.sync,
            on_recording_rules=recorder.rules_changed,
        )
        room = registry.create_room('talk')

        class Quiet:
            def notify(self, message): ...
            def kick(self, code, message): ...
            def resubscribe(self): ...

        presenter = registry.join('talk', 'presenter', Quiet())
        registry.set_tracks(
            presenter, [('0', 'camera', 'video'), ('1', 'mic', 'audio')]
        )
        assert recorder.book.all() == []  # rules exclude all by default
        registry.set_recording_rules(room, INCLUDE)
        started = [e for e, _ in sent.events if e == 'recording-started']
        assert len(started) == 2
        recordings = recorder.book.all(room.sid)
        for recording in recordings:
            recording.mjr_path.write_bytes(b'mjr')
        registry.set_recording_rules(room, EXCLUDE)
        await asyncio.sleep(0.05)
        await recorder.stop()
        completed = [x for e, x in sent.events if e == 'recording-completed']
        assert {c['TrackName'] for c in completed} == {'camera', 'mic'}
        assert all(c['Size'] == '10' and c['Duration'] == '12' for c in completed)
        assert {c['Container'] for c in completed} == {'mkv', 'mka'}
        # On again, then the presenter leaves: a new pair of Recordings, then ended.
        registry.set_recording_rules(room, INCLUDE)
        registry.leave(presenter)
        await asyncio.sleep(0.05)
        await recorder.stop()
        failed = [x for e, x in sent.events if e == 'recording-failed']
        assert len(failed) == 2  # no .mjr was written for them
        assert 'no media reached the recorder' in failed[0]['ErrorMessage']
        assert len(recorder.book.all(room.sid)) == 4

    asyncio.run(scenario())


def test_mjr_header_gives_codec_and_first_packet():
    header = parse_mjr_header('{"t":"a","c":"opus","s":100,"u":250}\n')
    assert header.codec == 'opus' and header.first_packet_us == 250


def test_recording_rules_over_rest_with_twilio_python(rest_server, twilio, lv_config):
    room = twilio.video.v1.rooms.create(
        unique_name='podium-rec', record_participants_on_connect=True
    )
    assert room.record_participants_on_connect is True
    rules = twilio.video.v1.rooms(room.sid).recording_rules.fetch()
    assert rules.rules == INCLUDE
    updated = twilio.video.v1.rooms(room.sid).recording_rules.update(rules=EXCLUDE)
    assert updated.rules == EXCLUDE and updated.room_sid == room.sid
    with pytest.raises(TwilioRestException) as caught:
        twilio.video.v1.rooms(room.sid).recording_rules.update(rules='not json')
    assert caught.value.status == 400 and 'Recording Rules' in caught.value.msg
    assert twilio.video.v1.recordings.list() == []
    assert twilio.video.v1.rooms(room.sid).recordings.list() == []
    with pytest.raises(TwilioRestException) as missing:
        twilio.video.v1.recordings('RT' + '0' * 32).fetch()
    assert missing.value.status == 404


def test_recordings_past_retention_are_removed(lv_config):
    recorder = Recorder(lv_config, Sent())
    old = recorder.folder / ('RM' + '1' * 32)
    new = recorder.folder / ('RM' + '2' * 32)
    for folder in (old, new):
        folder.mkdir(parents=True)
        (folder / 'PA-1-video-0.mkv').write_bytes(b'x')
    month_ago = time.time() - 31 * 86400
    os.utime(old, (month_ago, month_ago))
    assert recorder.prune() == [old]
    assert not old.exists() and new.exists()
