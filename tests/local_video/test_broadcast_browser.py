"""The live broadcast: a presenter in Chromium, Janus forwarding, ffmpeg writing HLS.

The camera is a solid colour (Y4M), the screen a canvas of another colour, the
microphone a tone, so a segment's frame can be checked region by region, and the
layout change when the screen stops can be seen in the segments that follow.
"""

from __future__ import annotations

import json
import os
import signal
import subprocess
import time
from pathlib import Path

import pytest
from twilio.rest import Client

from local_video.app import build_service
from local_video.config import from_env
from tests.conftest import TEST_ENV, free_port

from .conftest import serve
from .helpers import make_token
from .test_media_browser import JOIN, open_page, static_site
from .test_recording_browser import (
    CAMERA_RGB,
    PUBLISH,
    SCREEN_RGB,
    media_files,
    near,
    pixel,
    recording_browser,
)

pytestmark = [pytest.mark.browser, pytest.mark.slow]

__all__ = ['media_files', 'recording_browser', 'static_site']  # fixtures used here

ROOM = 'podium-broadcast'
PIP_CENTRE = (1120, 610)


def wait_for(check, timeout: float, what: str):
    deadline = time.monotonic() + timeout
    while True:
        value = check()
        if value:
            return value
        assert time.monotonic() < deadline, f'timed out waiting for {what}'
        time.sleep(0.2)


def room_of(service, sid: str):
    return service.registry.find_room(sid)


def segments(playlist: Path) -> list[str]:
    if not playlist.exists():
        return []
    return [line for line in playlist.read_text().splitlines() if line.endswith('.ts')]


def frame_of(segment: Path, width: int = 1280, height: int = 720) -> bytes:
    frame = subprocess.run(
        ['ffmpeg', '-v', 'error', '-i', str(segment),
         '-frames:v', '1', '-f', 'rawvideo', '-pix_fmt', 'rgb24', '-'],
        capture_output=True, check=True,
    ).stdout  # fmt: skip
    assert len(frame) == width * height * 3
    return frame


def probe(segment: Path) -> dict:
    out = subprocess.run(
        ['ffprobe', '-v', 'error', '-show_entries',
         'stream=codec_name,width,height', '-of', 'json', str(segment)],
        capture_output=True, text=True, check=True,
    ).stdout  # fmt: skip
    return {s['codec_name']: s for s in json.loads(out)['streams']}


@pytest.fixture
def broadcast(recording_browser, static_site, tmp_path):
    folder = tmp_path / 'broadcast'
    config = from_env(
        {
            **TEST_ENV,
            'PODIUM_LOCAL_VIDEO_PORT': str(free_port()),
            'PODIUM_RECORDINGS_DIR': str(tmp_path / 'recordings'),
            'PODIUM_BROADCAST_DIR': str(folder),
        }
    )
    service = build_service(config)
    with serve(service.app, config.port) as url:
        client = Client(config.api_key_sid, config.api_key_secret, config.account_sid)
        client.video.base_url = url
        room = client.video.v1.rooms.create(unique_name=ROOM)
        page = open_page(recording_browser, static_site)
        signal = url.replace('http://', 'ws://') + '/video/signal'
        token = make_token(config, 'presenter', ROOM)
        page.evaluate(JOIN, [token, signal, {'audio': False, 'video': False}])
        page.evaluate(PUBLISH, list(SCREEN_RGB))

        def set_broadcast(status: str) -> dict:
            answer = client.request(
                'POST', f'{url}/v1/Rooms/{room.sid}/Broadcast', data={'Status': status}
            )
            assert answer.status_code == 200, answer.text
            return json.loads(answer.text)

        yield folder / ROOM, set_broadcast, page, client, url, room, service
        page.context.close()


def test_the_presenter_is_broadcast_as_hls_and_follows_the_screen(broadcast):
    folder, set_broadcast, page, client, url, room, service = broadcast
    started = set_broadcast('started')
    assert started['playlist'] == f'{ROOM}/index.m3u8'

    top = folder / '720p' / 'live.m3u8'
    wait_for(lambda: len(segments(top)) >= 3, 20, 'three 720p segments')
    master = (folder / 'index.m3u8').read_text()
    assert '720p/live.m3u8' in master and '360p/live.m3u8' in master
    assert 'RESOLUTION=640x360' in master
    latest = folder / '720p' / segments(top)[-1]
    codecs = probe(latest)
    assert set(codecs) == {'h264', 'aac'}
    assert (codecs['h264']['width'], codecs['h264']['height']) == (1280, 720)
    frame = frame_of(latest)
    assert near(pixel(frame, *PIP_CENTRE), CAMERA_RGB), pixel(frame, *PIP_CENTRE)
    for spot in ((100, 400), (640, 600), (900, 650)):
        assert near(pixel(frame, *spot), SCREEN_RGB), (spot, pixel(frame, *spot))
    low = folder / '360p' / 'live.m3u8'
    low_codecs = probe(folder / '360p' / segments(low)[-1])
    assert (low_codecs['h264']['width'], low_codecs['h264']['height']) == (640, 360)
    volume = subprocess.run(
        ['ffmpeg', '-v', 'info', '-i', str(latest), '-map', '0:a',
         '-af', 'volumedetect', '-f', 'null', '-'],
        capture_output=True, text=True, check=True,
    ).stderr  # fmt: skip
    assert float(volume.split('mean_volume:')[1].split('dB')[0]) > -40

    # The encoder dies: it is started again and the playlist goes on.
    on_air = service.broadcaster.get(room_of(service, room.sid))
    os.kill(on_air.process.pid, signal.SIGKILL)
    killed_at = segments(top)[-1]
    wait_for(lambda: segments(top)[-1] > killed_at, 20, 'segments after the kill')
    assert on_air.restarts == 1 and 'stopped' in on_air.last_error

    # The presenter stops sharing the screen: the camera fills the picture, and the
    # playlist goes on (same numbering, a discontinuity) rather than starting over.
    before = segments(top)[-1]
    page.evaluate(
        """async () => {
          const lp = window.room.localParticipant;
          const screen = [...lp.videoTracks.values()]
            .find((p) => p.trackName === 'screen');
          lp.unpublishTrack(screen.track);
        }"""
    )

    def camera_only():
        names = segments(top)
        if not names or names[-1] <= before:
            return None
        frame = frame_of(folder / '720p' / names[-1])
        # A 4:3 camera fills the canvas's height, centred (black bars at the sides).
        return frame if near(pixel(frame, 640, 360), CAMERA_RGB) else None

    frame = wait_for(camera_only, 20, 'the camera full size after the screen stopped')
    assert near(pixel(frame, 300, 100), CAMERA_RGB)
    assert near(pixel(frame, 40, 360), (0, 0, 0))
    text = top.read_text()
    assert '#EXT-X-DISCONTINUITY' in text and '#EXT-X-ENDLIST' not in text
    assert segments(top)[-1] > before  # numbering continued

    stopped = set_broadcast('stopped')
    assert stopped['status'] == 'stopped'
    assert not folder.exists()  # old segments are deleted with the broadcast


def test_a_broadcast_of_an_unknown_room_or_a_bad_status_is_refused(broadcast):
    _, set_broadcast, _, client, url, room, _ = broadcast
    answer = client.request('POST', f'{url}/v1/Rooms/RMnope/Broadcast', data={})
    assert answer.status_code == 404
    answer = client.request(
        'POST', f'{url}/v1/Rooms/{room.sid}/Broadcast', data={'Status': 'on'}
    )
    assert answer.status_code == 400
    assert 'started' in json.loads(answer.text)['message']
