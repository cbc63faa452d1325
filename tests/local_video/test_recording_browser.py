"""One recorded talk in Chromium through Janus, then compositions of it with ffmpeg.

The camera is a solid colour (a Y4M file), the screen a canvas of another colour, the
microphone a 440 Hz tone (a WAV file), so the composed MP4 can be checked region by
region. One talk of about 20 s is shared by every assertion, to keep the suite short.
"""

from __future__ import annotations

import json
import os
import shutil
import signal
import subprocess
import time
from pathlib import Path

import httpx
import pytest
from twilio.rest import Client

from local_video.app import build_service
from local_video.config import from_env
from tests.conftest import TEST_ENV, free_port

from .conftest import CallbackSink, serve
from .helpers import make_token
from .test_media_browser import CHROMIUM, FLAGS, JOIN, open_page, static_site

pytestmark = [pytest.mark.browser, pytest.mark.slow]

__all__ = ['static_site']  # a fixture this module uses

TALK_SECONDS = 20
CAMERA_RGB = (200, 30, 200)
SCREEN_RGB = (30, 90, 160)

# The camera from the Y4M file, the microphone from the WAV; the screen is a canvas
# stream (Chromium's fake screen capture would show the camera file as well).
PUBLISH = """async ([r, g, b]) => {
  const md = navigator.mediaDevices;
  // Without the voice processing, which would damp a steady tone as noise.
  const audio = { echoCancellation: false, noiseSuppression: false,
                  autoGainControl: false };
  const camMic = await md.getUserMedia({ audio, video: true });
  const canvas = document.createElement('canvas');
  canvas.width = 1280; canvas.height = 720;
  const ctx = canvas.getContext('2d');
  let tick = 0;
  window.paint = setInterval(() => {
    ctx.fillStyle = `rgb(${r},${g},${b})`;
    ctx.fillRect(0, 0, 1280, 720);
    ctx.fillStyle = 'rgb(240,240,240)';
    ctx.fillRect((tick++ * 8) % 1280, 40, 40, 40);
  }, 33);
  const screen = canvas.captureStream(30).getVideoTracks()[0];
  const lp = window.room.localParticipant;
  const publications = await Promise.all([
    lp.publishTrack(camMic.getVideoTracks()[0], { name: 'camera' }),
    lp.publishTrack(camMic.getAudioTracks()[0], { name: 'microphone' }),
    lp.publishTrack(screen, { name: 'screen' }),
  ]);
  return publications.map((p) => [p.trackName, p.trackSid]);
}"""


@pytest.fixture(scope='module')
def media_files(tmp_path_factory):
    if shutil.which('ffmpeg') is None or shutil.which('janus-pp-rec') is None:
        pytest.skip('ffmpeg and janus-tools are not installed')
    folder = tmp_path_factory.mktemp('fake-devices')
    colour = '0x{:02X}{:02X}{:02X}'.format(*CAMERA_RGB)
    subprocess.run(
        [
            'ffmpeg',
            '-v',
            'error',
            '-y',
            '-f',
            'lavfi',
            '-i',
            f'color=c={colour}:s=320x240:r=30:d=1',
            '-pix_fmt',
            'yuv420p',
            str(folder / 'camera.y4m'),
        ],
        check=True,
    )
    subprocess.run(
        [
            'ffmpeg',
            '-v',
            'error',
            '-y',
            '-f',
            'lavfi',
            '-i',
            'sine=frequency=440:sample_rate=48000:duration=4',
            '-ac',
            '1',
            str(folder / 'tone.wav'),
        ],
        check=True,
    )
    return folder


@pytest.fixture(scope='module')
def recording_browser(media_files):
    playwright = pytest.importorskip('playwright.sync_api')
    if not Path(CHROMIUM).exists():
        pytest.skip('Debian chromium is not installed')
    flags = [
        *FLAGS,
        f'--use-file-for-fake-video-capture={media_files / "camera.y4m"}',
        f'--use-file-for-fake-audio-capture={media_files / "tone.wav"}',
    ]
    with playwright.sync_playwright() as p:
        browser = p.chromium.launch(executable_path=CHROMIUM, args=flags)
        yield browser
        browser.close()


def events_until(sink, wanted: dict[str, int], timeout: float = 30.0) -> list[dict]:
    """Collect callbacks until `wanted` counts of each event have arrived."""
    seen: list[dict] = []
    deadline = time.monotonic() + timeout
    counts = dict.fromkeys(wanted, 0)
    while any(counts[e] < n for e, n in wanted.items()):
        params = sink.next(max(0.1, deadline - time.monotonic()))['params']
        seen.append(params)
        event = params['StatusCallbackEvent']
        if event in counts:
            counts[event] += 1
    return seen


@pytest.fixture(scope='module')
def recorded_talk(recording_browser, static_site, tmp_path_factory):
    """A 20 s talk with recording on; yields the service, client, room and callbacks."""
    if shutil.which('janus') is None:
        pytest.skip('janus is not installed')
    folder = tmp_path_factory.mktemp('recordings')
    config = from_env(
        {
            **TEST_ENV,
            'PODIUM_LOCAL_VIDEO_PORT': str(free_port()),
            'PODIUM_RECORDINGS_DIR': str(folder),
        }
    )
    sink = CallbackSink()
    service = build_service(config)
    with serve(service.app, config.port) as url:
        client = Client(config.api_key_sid, config.api_key_secret, config.account_sid)
        client.video.base_url = url
        room = client.video.v1.rooms.create(
            unique_name='podium-recorded',
            status_callback=sink.url,
            record_participants_on_connect=True,
        )
        page = open_page(recording_browser, static_site)
        signal = url.replace('http://', 'ws://') + '/video/signal'
        token = make_token(config, 'presenter', 'podium-recorded')
        page.evaluate(JOIN, [token, signal, {'audio': False, 'video': False}])
        page.evaluate(PUBLISH, list(SCREEN_RGB))
        page.wait_for_timeout(TALK_SECONDS * 1000)
        client.video.v1.rooms(room.sid).update(status='completed')
        seen = events_until(sink, {'recording-completed': 3})
        page.context.close()
        yield service, client, room, seen, sink, url
    sink.server.shutdown()
    sink.server.server_close()


def test_a_talk_is_recorded_track_by_track(recorded_talk):
    service, client, room, seen, _, _ = recorded_talk
    started = [p for p in seen if p['StatusCallbackEvent'] == 'recording-started']
    completed = [p for p in seen if p['StatusCallbackEvent'] == 'recording-completed']
    assert {p['TrackName'] for p in started} == {'camera', 'microphone', 'screen'}
    by_name = {p['TrackName']: p for p in completed}
    assert by_name['microphone']['Container'] == 'mka'
    assert by_name['microphone']['Codec'] == 'OPUS'
    assert by_name['camera']['Container'] == 'mkv'
    for params in completed:
        assert abs(int(params['Duration']) - TALK_SECONDS) <= 2, params
        assert int(params['Size']) > 1000
    listed = client.video.v1.rooms(room.sid).recordings.list()
    assert {r.track_name for r in listed} == {'camera', 'microphone', 'screen'}
    assert all(r.status == 'completed' for r in listed)
    print({r.track_name: (r.duration, r.size, r.offset) for r in listed})


LAYOUT = {
    'screen': {'z_pos': 1, 'video_sources': ['screen']},
    'pip': {
        'z_pos': 2,
        'x_pos': 1000,
        'y_pos': 520,
        'width': 240,
        'height': 180,
        'video_sources': ['camera'],
    },
}
PIP_CENTRE = (1120, 610)


def compose(client, room, sink):
    return client.video.v1.compositions.create(
        room_sid=room.sid,
        video_layout=LAYOUT,
        audio_sources=['microphone'],
        resolution='1280x720',
        format='mp4',
        status_callback=sink.url,
    )


def pixel(frame: bytes, x: int, y: int, width: int = 1280) -> tuple[int, int, int]:
    at = (y * width + x) * 3
    return tuple(frame[at : at + 3])


def near(colour, wanted, slack: int = 40) -> bool:
    return all(abs(a - b) <= slack for a, b in zip(colour, wanted, strict=True))


def test_the_composition_is_one_mp4_of_what_attendees_saw(recorded_talk, tmp_path):
    service, client, room, _, sink, url = recorded_talk
    composition = compose(client, room, sink)
    assert composition.status == 'enqueued'
    seen = events_until(sink, {'composition-available': 1}, timeout=120)
    events = [p['StatusCallbackEvent'] for p in seen if 'CompositionSid' in p]
    assert events[0] == 'composition-enqueued' and 'composition-started' in events
    assert 'composition-progress' in events
    fetched = client.video.v1.compositions(composition.sid).fetch()
    assert fetched.status == 'completed' and fetched.size > 10_000

    # /Media redirects to a signed link that needs no credentials, and expires.
    auth = (client.username, client.password)
    answer = httpx.get(f'{url}/v1/Compositions/{composition.sid}/Media', auth=auth)
    assert answer.status_code == 302
    location = answer.headers['location']
    assert 'Signature=' in location
    assert httpx.get(location.replace('Signature=', 'Signature=0')).status_code == 403
    video = tmp_path / 'talk.mp4'
    with httpx.stream('GET', location) as download:
        assert download.status_code == 200
        with video.open('wb') as out:
            for chunk in download.iter_bytes():
                out.write(chunk)

    probe = subprocess.run(
        ['ffprobe', '-v', 'error', '-show_entries',
         'stream=codec_name,width,height:format=duration', '-of', 'json', str(video)],
        capture_output=True, text=True, check=True,
    ).stdout  # fmt: skip
    info = json.loads(probe)
    codecs = {s['codec_name']: s for s in info['streams']}
    assert set(codecs) == {'h264', 'aac'}
    assert (codecs['h264']['width'], codecs['h264']['height']) == (1280, 720)
    duration = float(info['format']['duration'])
    print(f'composition duration {duration:.2f} s for a {TALK_SECONDS} s talk')
    assert abs(duration - TALK_SECONDS) <= 1.0

    frame = subprocess.run(
        ['ffmpeg', '-v', 'error', '-ss', str(TALK_SECONDS / 2), '-i', str(video),
         '-frames:v', '1', '-f', 'rawvideo', '-pix_fmt', 'rgb24', '-'],
        capture_output=True, check=True,
    ).stdout  # fmt: skip
    assert len(frame) == 1280 * 720 * 3
    (tmp_path / 'middle.rgb').write_bytes(frame)
    assert near(pixel(frame, *PIP_CENTRE), CAMERA_RGB), pixel(frame, *PIP_CENTRE)
    for spot in ((100, 400), (640, 360), (1200, 100), (900, 650)):
        assert near(pixel(frame, *spot), SCREEN_RGB), (spot, pixel(frame, *spot))

    volume = subprocess.run(
        ['ffmpeg', '-v', 'info', '-i', str(video), '-map', '0:a',
         '-af', 'volumedetect', '-f', 'null', '-'],
        capture_output=True, text=True, check=True,
    ).stderr  # fmt: skip
    mean = float(volume.split('mean_volume:')[1].split('dB')[0])
    print(f'mean volume {mean} dB')
    assert mean > -30


def test_ffmpeg_killed_mid_composition_fails_with_a_message(recorded_talk):
    service, client, room, _, sink, _ = recorded_talk
    composition = compose(client, room, sink)
    deadline = time.monotonic() + 30
    while composition.sid not in service.compositions.running:
        assert time.monotonic() < deadline, 'ffmpeg never started'
        time.sleep(0.05)
    os.kill(service.compositions.running[composition.sid].pid, signal.SIGKILL)
    seen = events_until(sink, {'composition-failed': 1}, timeout=30)
    failed = [p for p in seen if p['StatusCallbackEvent'] == 'composition-failed']
    assert failed[0]['CompositionSid'] == composition.sid
    assert 'SIGKILL' in failed[0]['ErrorMessage']
    fetched = client.video.v1.compositions(composition.sid).fetch()
    assert fetched.status == 'failed'
