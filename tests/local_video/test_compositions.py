"""Compositions: the pure composer and state machine, the worker, and REST errors."""

from __future__ import annotations

import asyncio
import dataclasses
import shutil
import subprocess

import pytest
from twilio.base.exceptions import TwilioRestException

from local_video.composer import (
    Source,
    build_command,
    parse_resolution,
    parse_video_layout,
    pick_audio,
)
from local_video.composition_rest import MediaSigner
from local_video.composition_worker import CompositionWorker
from local_video.compositions import (
    Composition,
    CompositionStore,
    IllegalTransition,
    composition_sid,
    transition,
)
from local_video.errors import TwilioError

PIP = {
    'screen': {'z_pos': 1, 'video_sources': ['screen']},
    'pip': {'z_pos': 2, 'x_pos': 1000, 'y_pos': 520, 'width': 240,
            'height': 180, 'video_sources': ['cam*']},
}  # fmt: skip
SOURCES = [
    Source('/r/screen.mkv', 'video', 'screen', 'MT1', 0.2, 10.0),
    Source('/r/camera.mkv', 'video', 'camera', 'MT2', 0.0, 10.0),
    Source('/r/mic.mka', 'audio', 'microphone', 'MT3', 0.0, 10.5),
]


def test_the_pip_layout_becomes_two_overlays_and_a_mix():
    regions = parse_video_layout(PIP, (1280, 720))
    assert [r.name for r in regions] == ['screen', 'pip']
    audio = pick_audio(SOURCES, ('*',), ())
    command = build_command('ffmpeg', SOURCES, regions, audio, (1280, 720), 'o.mp4')
    graph = command.args[command.args.index('-filter_complex') + 1]
    assert 'scale=1280:720' in graph and 'overlay=0:0' in graph
    assert 'scale=240:180' in graph and 'overlay=1000:520' in graph
    assert 'setpts=PTS-STARTPTS+0.200/TB' in graph  # the screen starts later
    assert 'amix=inputs=1' in graph
    assert command.duration == pytest.approx(10.5)
    assert command.args[command.args.index('-c:v') + 1] == 'libx264'
    assert command.args[command.args.index('-c:a') + 1] == 'aac'


def test_audio_sources_are_matched_and_excluded_by_name():
    assert pick_audio(SOURCES, ('mic*',), ()) == [SOURCES[2]]
    assert pick_audio(SOURCES, ('*',), ('microphone',)) == []
    assert pick_audio(SOURCES, ('MT3',), ()) == [SOURCES[2]]


@pytest.mark.parametrize(
    'layout',
    ['not json', '[1]', {'a': 3}, {'a': {'x_pos': -1}}, {'a': {'width': 2000}},
     {'a': {'colour': 'red'}}, {'a': {'video_sources': 'screen'}}],
)  # fmt: skip
def test_bad_layouts_say_what_is_wrong(layout):
    with pytest.raises(TwilioError) as caught:
        parse_video_layout(layout, (1280, 720))
    assert caught.value.status == 400 and 'VideoLayout' in caught.value.message


@pytest.mark.parametrize('raw', ['1280', '2000x100', '1280x1280', 'axb', '8x8'])
def test_bad_resolutions_are_refused(raw):
    with pytest.raises(TwilioError):
        parse_resolution(raw)


def make_composition(sources=(), **changes) -> Composition:
    item = Composition(
        sid=composition_sid(),
        room_sid='RM' + '1' * 32,
        status='enqueued',
        date_created='2026-01-01T00:00:00+00:00',
        video_layout=PIP,
        audio_sources=('*',),
        audio_sources_excluded=(),
        resolution='320x180',
        format='mp4',
        trim=True,
        status_callback='http://127.0.0.1:9/cb',
        status_callback_method='POST',
        sources=tuple(sources),
    )
    return dataclasses.replace(item, **changes)


def test_the_state_machine_only_goes_forward():
    item = make_composition()
    done = transition(transition(item, 'processing'), 'completed', size=5)
    assert done.percent == 100 and done.date_completed and done.size == 5
    assert transition(done, 'deleted').date_deleted
    with pytest.raises(IllegalTransition):
        transition(done, 'processing')
    with pytest.raises(IllegalTransition):
        transition(item, 'completed')


def test_media_links_expire_and_name_one_composition():
    signer = MediaSigner('token')
    query = dict(p.split('=') for p in signer.query('CJ1', 60, now=1000).split('&'))
    assert signer.valid('CJ1', query['Expires'], query['Signature'], now=1059)
    assert not signer.valid('CJ1', query['Expires'], query['Signature'], now=1061)
    assert not signer.valid('CJ2', query['Expires'], query['Signature'], now=1000)
    assert not MediaSigner('other').valid(
        'CJ1', query['Expires'], query['Signature'], now=1000
    )


class Sent:
    def __init__(self):
        self.events = []

    def send_to(self, url, method, params):
        self.events.append(params)


@pytest.fixture(scope='module')
def tiny_sources(tmp_path_factory):
    if shutil.which('ffmpeg') is None:
        pytest.skip('ffmpeg is not installed')
    folder = tmp_path_factory.mktemp('sources')
    for name, spec, codec in (
        ('screen.mkv', 'color=c=blue:s=320x180:r=15:d=2', 'libvpx'),
        ('camera.mkv', 'color=c=red:s=160x120:r=15:d=2', 'libvpx'),
    ):
        subprocess.run(
            ['ffmpeg', '-v', 'error', '-y', '-f', 'lavfi', '-i', spec,
             '-c:v', codec, str(folder / name)], check=True,
        )  # fmt: skip
    subprocess.run(
        ['ffmpeg', '-v', 'error', '-y', '-f', 'lavfi', '-i',
         'sine=frequency=440:duration=2', '-c:a', 'libopus', str(folder / 'mic.mka')],
        check=True,
    )  # fmt: skip
    return [
        Source(str(folder / 'screen.mkv'), 'video', 'screen', 'MT1', 0.0, 2.0),
        Source(str(folder / 'camera.mkv'), 'video', 'camera', 'MT2', 0.5, 2.0),
        Source(str(folder / 'mic.mka'), 'audio', 'microphone', 'MT3', 0.0, 2.0),
    ]


def small_pip() -> dict:
    return {
        'screen': {'z_pos': 1, 'video_sources': ['screen']},
        'pip': {'z_pos': 2, 'x_pos': 240, 'y_pos': 120, 'width': 64,
                'height': 48, 'video_sources': ['camera']},
    }  # fmt: skip


def run_worker(lv_config, store, until, timeout=30.0):
    async def scenario():
        sent = Sent()
        worker = CompositionWorker(lv_config, store, sent)
        await worker.start()
        try:
            async with asyncio.timeout(timeout):
                while not until(sent.events):
                    await asyncio.sleep(0.05)
        finally:
            await worker.stop()
        return sent.events

    return asyncio.run(scenario())


def test_a_restart_composes_what_was_interrupted(lv_config, tiny_sources, tmp_path):
    # As if local_video died while composing: the file on disk says processing.
    first = CompositionStore(tmp_path / 'compositions')
    item = first.put(
        make_composition(tiny_sources, status='processing', video_layout=small_pip())
    )
    store = CompositionStore(tmp_path / 'compositions')
    events = run_worker(
        lv_config,
        store,
        lambda sent: any(
            e['StatusCallbackEvent'] == 'composition-available' for e in sent
        ),
    )
    names = [e['StatusCallbackEvent'] for e in events]
    assert names[0] == 'composition-started' and names[-1] == 'composition-available'
    done = store.get(item.sid)
    assert done.status == 'completed' and done.size > 0
    assert done.duration == pytest.approx(2.5, abs=0.2)  # camera ends at 0.5 + 2
    assert store.media_path(done).exists()
    # And the next process reads it back as completed.
    again = CompositionStore(tmp_path / 'compositions')
    assert {c.sid: c.status for c in again.load()} == {item.sid: 'completed'}


def test_a_missing_source_fails_the_composition_with_ffmpegs_reason(
    lv_config, tiny_sources, tmp_path
):
    gone = dataclasses.replace(tiny_sources[0], path=str(tmp_path / 'gone.mkv'))
    store = CompositionStore(tmp_path / 'compositions')
    item = store.put(make_composition([gone], video_layout=small_pip()))
    events = run_worker(
        lv_config,
        store,
        lambda sent: any(
            e['StatusCallbackEvent'] == 'composition-failed' for e in sent
        ),
    )
    failed = events[-1]
    assert failed['CompositionSid'] == item.sid
    assert 'No such file' in failed['ErrorMessage']
    assert store.get(item.sid).status == 'failed'


def test_a_room_without_recordings_gets_a_twilio_style_error(rest_server, twilio):
    room = twilio.video.v1.rooms.create(unique_name='podium-unrecorded')
    with pytest.raises(TwilioRestException) as caught:
        twilio.video.v1.compositions.create(
            room_sid=room.sid,
            audio_sources=['*'],
            video_layout=PIP,
            resolution='1280x720',
        )
    assert caught.value.status == 400 and caught.value.code == 400
    assert 'no recordings to compose' in caught.value.msg
    with pytest.raises(TwilioRestException) as needs:
        twilio.video.v1.compositions.create(room_sid=room.sid)
    assert 'VideoLayout or AudioSources' in needs.value.msg
    assert twilio.video.v1.compositions.list() == []
    with pytest.raises(TwilioRestException) as missing:
        twilio.video.v1.compositions('CJ' + '0' * 32).fetch()
    assert missing.value.status == 404


def test_a_reload_puts_both_camera_recordings_in_the_pip_one_after_the_other():
    # The presenter reloaded at 8 s: a second participant, a second camera track.
    sources = [
        Source('/r/screen.mkv', 'video', 'screen', 'MT1', 0.0, 20.0),
        Source('/r/cam1.mkv', 'video', 'camera', 'MT2', 0.0, 8.0),
        Source('/r/cam2.mkv', 'video', 'camera', 'MT4', 9.5, 10.5),
    ]
    regions = parse_video_layout(PIP, (1280, 720))
    command = build_command('ffmpeg', sources, regions, [], (1280, 720), 'o.mp4')
    graph = command.args[command.args.index('-filter_complex') + 1]
    assert graph.count('overlay=1000:520') == 2
    assert 'setpts=PTS-STARTPTS+9.500/TB' in graph
    # Each ends with eof_action=pass: between 8 s and 9.5 s the screen shows through.
    assert graph.count('eof_action=pass') == 3
    assert command.duration == pytest.approx(20.0)
    assert '-c:a' not in command.args  # no AudioSources, no audio
