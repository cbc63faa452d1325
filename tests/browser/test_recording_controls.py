"""Recording from the presenter page: the switch, the attendees' banner, the file.

The whole stack (nginx, the three services, local_video with Janus, ffmpeg): the
presenter switches recording on while live, the attendee sees the banner, it goes
when recording is switched off; after the end the presenter page shows the file's
progress, then Download, and the file downloads as an MP4 ffprobe reads.
"""

from __future__ import annotations

import json
import secrets
import shutil
import subprocess
from collections.abc import Iterator
from pathlib import Path

import httpx
import pytest

from launcher import Ports, Stack, StackError
from tests.browser.test_presentation_flow import create_presentation, join, present
from tests.integration.conftest import SMALL_STACK

pytestmark = [pytest.mark.browser, pytest.mark.timeout(180)]

SHOTS = Path('/tmp/shots/recording')
RECORDED_SECONDS = 4


@pytest.fixture(scope='module')
def local_stack(tmp_path_factory) -> Iterator[Stack]:
    """The browser tests' stack, with its recordings in a folder of its own."""
    for binary in ('janus', 'nginx', 'redis-server', 'ffmpeg', 'janus-pp-rec'):
        if shutil.which(binary) is None:
            pytest.skip(f'{binary} is not installed')
    ports = Ports.free()
    env = {
        **SMALL_STACK,
        'PODIUM_PUBLIC_URL': f'http://127.0.0.1:{ports.http}',
        'PODIUM_SECRET_KEY': secrets.token_urlsafe(32),
        'PODIUM_RECORDINGS_DIR': str(tmp_path_factory.mktemp('recordings')),
    }
    running = Stack(env, tmp_path_factory.mktemp('recording-stack'), ports)
    try:
        running.start()
    except StackError as ex:
        pytest.fail(f'the local stack did not start: {ex}')
    try:
        yield running
    finally:
        running.stop()


def shoot(page, name: str) -> None:
    SHOTS.mkdir(parents=True, exist_ok=True)
    for width, height in ((1280, 800), (390, 844)):
        page.set_viewport_size({'width': width, 'height': height})
        page.screenshot(
            path=str(SHOTS / f'{name}-{width}x{height}.png'), full_page=True
        )
    page.set_viewport_size({'width': 1280, 'height': 800})


def ffprobe(path: Path) -> dict:
    out = subprocess.run(
        [
            'ffprobe',
            '-v',
            'error',
            '-show_streams',
            '-show_format',
            '-of',
            'json',
            path,
        ],
        capture_output=True,
        check=True,
        text=True,
    ).stdout
    return json.loads(out)


def test_record_while_live_banner_then_download(local_stack, open_page, tmp_path):
    with httpx.Client(base_url=local_stack.url) as api:
        presentation = create_presentation(api, 'Recorded talk')
    presenter = present(open_page, presentation)
    attendee = join(open_page, presentation)
    assert attendee.is_hidden('#recording-banner')
    assert presenter.inner_text('[data-testid=recording-status]') == 'Not recording.'

    presenter.click('[data-testid=record-toggle]')
    # "Recording" only once local_video's recording-started callbacks are merged.
    presenter.wait_for_selector('.recording-card.is-recording', timeout=20_000)
    presenter.wait_for_function(
        "document.querySelector('[data-testid=recording-status]')"
        ".textContent.startsWith('Recording.')"
    )
    attendee.wait_for_selector('#recording-banner', state='visible', timeout=10_000)
    assert 'being recorded' in attendee.inner_text('#recording-banner')
    shoot(presenter, 'presenter-recording')
    shoot(attendee, 'attendee-banner')
    presenter.wait_for_timeout(RECORDED_SECONDS * 1000)  # something to record

    presenter.click('[data-testid=record-toggle]')
    attendee.wait_for_selector('#recording-banner', state='hidden', timeout=20_000)
    presenter.wait_for_selector('.recording-card:not(.is-recording)')
    presenter.wait_for_function(
        "document.querySelector('[data-testid=recording-status]')"
        ".textContent === 'Not recording.'"
    )

    presenter.click('#stop')
    presenter.click('#stop-confirm')
    presenter.wait_for_selector('#over', state='visible')
    download = presenter.wait_for_selector(
        '[data-testid=recording-download]', state='visible', timeout=90_000
    )
    status = presenter.inner_text('[data-testid=recording-status]')
    assert status.startswith('Recording ready: 0:0'), status
    assert 'KB' in status or 'MB' in status
    shoot(presenter, 'presenter-download')

    href = download.get_attribute('href')
    assert href and '/recording/media?' in href and 'key' not in href
    with httpx.stream('GET', href, timeout=30) as response:  # no key: the signed link
        assert response.status_code == 200
        assert response.headers['content-type'] == 'video/mp4'
        response.read()
    with presenter.expect_download() as downloading:
        download.click()
    saved = tmp_path / 'recording.mp4'
    downloading.value.save_as(saved)
    probe = ffprobe(saved)
    codecs = {s['codec_type']: s['codec_name'] for s in probe['streams']}
    assert (codecs['video'], codecs['audio']) == ('h264', 'aac')
    video = next(s for s in probe['streams'] if s['codec_type'] == 'video')
    assert (video['width'], video['height']) == (1280, 720)
    assert float(probe['format']['duration']) >= RECORDED_SECONDS - 1

    # Delete asks in the page first, then the file is gone.
    presenter.click('[data-testid=recording-delete]')
    presenter.wait_for_selector('[data-testid=recording-confirm]', state='visible')
    presenter.click('[data-testid=recording-confirm-delete]')
    presenter.wait_for_selector('[data-testid=recording-download]', state='hidden')
    assert presenter.inner_text('[data-testid=recording-status]') == (
        'The recording was deleted.'
    )
    assert httpx.get(href, timeout=10).status_code == 404


def test_recording_asked_on_the_home_page_shows_before_going_live(
    local_stack, open_page
):
    home = open_page(local_stack.url + '/')
    home.fill('#title-input', 'Recorded from the start')
    home.check('#recording-input')
    shoot(home, 'home')
    home.click('#create')
    home.wait_for_selector('#links', state='visible')
    presenter = open_page(home.get_attribute('#presenter-link', 'href'))
    presenter.wait_for_selector('[data-testid=recording]', state='visible')
    assert presenter.is_checked('[data-testid=record-toggle]')
    assert presenter.inner_text('[data-testid=recording-status]') == (
        'The talk will be recorded from the moment you go live.'
    )
    shoot(presenter, 'presenter-before-live')
    presenter.click('#start')
    presenter.wait_for_selector('.recording-card.is-recording', timeout=20_000)
