"""Recording faults end to end: the token service, local_video and ffmpeg, for real.

ffmpeg killed mid-composition and a full disk both end in `composition-failed`
with a message the presenter reads; a retry (POST .../recording/composition)
then makes the file, and nothing else stops working. Recordings are seeded (no
Janus); callbacks reach a sink and are merged into the store as the webhooks
service merges them.
"""

from __future__ import annotations

import contextlib
import os
import shutil
import subprocess
import time
from pathlib import Path

import fakeredis
import falcon.testing
import pytest
from twilio.rest import Client

from local_video.app import build_service
from local_video.clock import utcnow
from local_video.config import from_env
from local_video.recordings import Recording, recording_sid
from local_video.sids import track_sid
from podium.config import TokenServiceConfig
from podium.recording_state import parse_media_event
from podium.store import Store
from tests.conftest import TEST_ENV, free_port
from token_service.app import create_app
from token_service.rooms import Rooms

from .conftest import CallbackSink, serve
from .test_compositions import tiny_sources

__all__ = ['tiny_sources']  # a fixture this module uses


def fake_ffmpeg(folder: Path, flag: Path) -> Path:
    """An ffmpeg that kills itself while `flag` exists (ffprobe beside it, real)."""
    folder.mkdir(parents=True, exist_ok=True)
    script = folder / 'ffmpeg'
    real = shutil.which('ffmpeg')
    script.write_text(
        f'#!/bin/sh\nif [ -e "{flag}" ]; then kill -9 $$; fi\nexec {real} "$@"\n'
    )
    script.chmod(0o755)
    (folder / 'ffprobe').symlink_to(shutil.which('ffprobe'))
    return script


class Talk:
    """One recorded talk of a presentation: the app, the store, local_video."""

    def __init__(self, service, client: Client, sink: CallbackSink, sources):
        self.service = service
        self.sink = sink
        self.store = Store(fakeredis.FakeRedis(decode_responses=True))
        # Callbacks go to the sink, which stands where the webhooks service would.
        public_url = sink.url.removesuffix('/webhooks/room-events')
        config = TokenServiceConfig.from_env(
            {**TEST_ENV, 'PODIUM_PUBLIC_URL': public_url}
        )
        assert config.status_callback_url == sink.url
        rooms = Rooms(client, config)
        self.client = falcon.testing.TestClient(
            create_app(config, store=self.store, rooms=rooms)
        )
        self.twilio = client
        made = self.client.simulate_post(
            '/api/presentations', json={'title': 'Faults', 'recording': True}
        ).json
        self.id = made['id']
        self.key = made['presenter_key']
        self.headers = {'Authorization': f'Presenter {self.key}'}
        token = self.client.simulate_post(
            f'/api/presentations/{self.id}/tokens',
            json={'role': 'presenter', 'key': self.key},
        )
        assert token.status_code == 200, token.text
        self.room_sid = self.store.get_presentation(self.id)['room_sid']
        start_us = int(time.time() * 1e6)
        for source in sources:
            sid = recording_sid()
            service.recorder.book.add(
                Recording(
                    sid=sid,
                    room_sid=self.room_sid,
                    participant_sid='PA' + '1' * 32,
                    track_sid=track_sid(),
                    track_name=source.track_name,
                    kind=source.kind,
                    mid='0',
                    created_at=utcnow(),
                    base='/nowhere',
                    status='completed',
                    started_at_us=start_us + int(source.start * 1e6),
                    duration=source.duration,
                    media_path=source.path,
                )
            )
            for event in ('recording-started', 'recording-completed'):
                self.merge(
                    {
                        'StatusCallbackEvent': event,
                        'RoomSid': self.room_sid,
                        'RecordingSid': sid,
                        'Timestamp': utcnow().isoformat().replace('+00:00', 'Z'),
                    }
                )

    def merge(self, params: dict) -> None:
        event = parse_media_event(params)
        if event is not None:
            self.store.apply_media_event(self.id, event)

    def callbacks_until(self, event: str, timeout: float = 20) -> list[dict]:
        """Merge composition callbacks into the store until `event` arrives."""
        seen = []
        for item in self.sink.until(event, timeout):
            self.merge(item['params'])
            seen.append(item['params'])
        return seen

    def end(self):
        return self.client.simulate_post(
            f'/api/presentations/{self.id}/end', json={'key': self.key}
        )

    def state(self) -> dict:
        answer = self.client.simulate_get(
            f'/api/presentations/{self.id}/recording', headers=self.headers
        )
        assert answer.status_code == 200, answer.text
        return answer.json


@contextlib.contextmanager
def local_video(recordings: Path, ffmpeg: str = 'ffmpeg'):
    config = from_env(
        {
            **TEST_ENV,
            'PODIUM_LOCAL_VIDEO_PORT': str(free_port()),
            'PODIUM_RECORDINGS_DIR': str(recordings),
            'PODIUM_FFMPEG_BINARY': ffmpeg,
        }
    )
    service = build_service(config, use_janus=False, minute=0.2)
    with serve(service.app, config.port) as url:
        client = Client(config.api_key_sid, config.api_key_secret, config.account_sid)
        client.video.base_url = url
        yield service, client


@pytest.fixture
def sink():
    server = CallbackSink()
    yield server
    server.server.shutdown()
    server.server.server_close()


def test_ffmpeg_killed_fails_the_file_and_a_retry_makes_it(
    tmp_path, sink, tiny_sources
):
    flag = tmp_path / 'kill-ffmpeg'
    flag.touch()
    ffmpeg = fake_ffmpeg(tmp_path / 'bin', flag)
    with local_video(tmp_path / 'recordings', str(ffmpeg)) as (service, client):
        talk = Talk(service, client, sink, tiny_sources)
        assert talk.end().status_code == 200
        talk.callbacks_until('composition-failed')
        state = talk.state()
        assert state['status'] == 'failed'
        assert state['error'] == 'ffmpeg was stopped by signal SIGKILL'
        assert state['recorded'] is True

        flag.unlink()
        retry = talk.client.simulate_post(
            f'/api/presentations/{talk.id}/recording/composition', headers=talk.headers
        )
        assert retry.status_code == 202, retry.text
        assert retry.json['status'] == 'processing'
        talk.callbacks_until('composition-available')
        state = talk.state()
        assert state['status'] == 'available' and state['size'] > 0
        media = talk.client.simulate_get(
            f'/api/presentations/{talk.id}/recording/media', headers=talk.headers
        )
        assert media.status_code == 200
        assert media.content[4:8] == b'ftyp'
        assert len(media.content) == state['size']
        assert len(client.video.v1.compositions.list()) == 2  # the failed one too


@pytest.fixture
def tiny_disk(tmp_path):
    """A 16 KiB tmpfs: room for the bookkeeping, not for the MP4."""
    if os.geteuid() != 0 or shutil.which('mount') is None:
        pytest.skip('mounting a tmpfs needs root')
    folder = tmp_path / 'full'
    folder.mkdir()
    subprocess.run(
        ['mount', '-t', 'tmpfs', '-o', 'size=16k', 'tmpfs', str(folder)], check=True
    )
    try:
        yield folder
    finally:
        subprocess.run(['umount', '-l', str(folder)], check=False)


def test_a_full_disk_fails_the_file_and_nothing_else(tiny_disk, sink, tiny_sources):
    with local_video(tiny_disk) as (service, client):
        talk = Talk(service, client, sink, tiny_sources)
        assert talk.end().status_code == 200
        talk.callbacks_until('composition-failed')
        state = talk.state()
        assert state['status'] == 'failed'
        assert 'No space left on device' in state['error'], state['error']
        assert not list((tiny_disk / 'compositions').glob('*.mp4'))  # no half file

        # The server goes on: rooms, Recording Rules and listings still work.
        room = client.video.v1.rooms.create(unique_name='podium-after-disk-full')
        client.video.v1.rooms(room.sid).recording_rules.update(
            rules=[{'type': 'include', 'all': True}]
        )
        statuses = [c.status for c in client.video.v1.compositions.list()]
        assert statuses == ['failed']
        deleted = talk.client.simulate_delete(
            f'/api/presentations/{talk.id}/recording', headers=talk.headers
        )
        assert deleted.status_code == 200 and deleted.json['status'] == 'deleted'
