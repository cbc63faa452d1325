"""Broadcast end to end through nginx, in a room of two: the presenter and Bob fill
it, so Ann's join finds it full and turns the broadcast on; Ann plays the HLS stream
(time advancing, frames and audio decoded) and asks a question over the event
stream, while Bob keeps watching over WebRTC. The presenter's switch shows the
broadcast on, and turning it off sends Ann back to the join form."""

from __future__ import annotations

import secrets
from collections.abc import Iterator
from pathlib import Path

import pytest

from launcher import Ports, Stack, StackError
from tests.browser.browser_support import wait_media_flowing, wait_until
from tests.browser.test_audience import join
from tests.browser.test_presentation_flow import create_presentation, start_presenting
from tests.integration.conftest import SMALL_STACK

pytestmark = [pytest.mark.browser, pytest.mark.timeout(120)]

SHOTS = Path('/tmp/shots/broadcast')
PLAYBACK = """() => {
  const v = document.querySelector('#broadcast-video');
  const q = v.getVideoPlaybackQuality();
  return { time: v.currentTime, frames: q.totalVideoFrames, width: v.videoWidth,
           audioBytes: v.webkitAudioDecodedByteCount || 0 };
}"""


@pytest.fixture(scope='module')
def local_stack(tmp_path_factory) -> Iterator[Stack]:
    """This module's stack: rooms of two (the presenter and one attendee)."""
    ports = Ports.free()
    env = {
        **SMALL_STACK,
        'PODIUM_PUBLIC_URL': f'http://127.0.0.1:{ports.http}',
        'PODIUM_SECRET_KEY': secrets.token_urlsafe(32),
        'PODIUM_MAX_PARTICIPANTS': '2',
    }
    running = Stack(env, tmp_path_factory.mktemp('broadcast-stack'), ports)
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
        path = SHOTS / f'{name}-{width}x{height}.png'
        page.screenshot(path=str(path), full_page=True)
    page.set_viewport_size({'width': 1280, 'height': 800})


def test_a_full_room_broadcasts_to_whoever_did_not_fit(api, open_page):
    presentation = create_presentation(api, 'Broadcast')
    presenter = open_page(presentation['presenter_url'])
    start_presenting(presenter)
    presenter.wait_for_selector('[data-testid=broadcast-control]', state='visible')
    assert not presenter.is_checked('#broadcast-switch')
    bob = join(open_page, presentation, 'Bob')
    wait_media_flowing(bob, videos=2, audios=1)

    ann = join(open_page, presentation, 'Ann')  # the room is full
    ann.wait_for_selector('#broadcast-video', state='visible')
    label = ann.inner_text('[data-testid=broadcast-label]')
    assert 'a few seconds behind live' in label
    presenter.wait_for_selector('#broadcast-switch:checked', timeout=5000)
    first = wait_until(
        lambda: (s := ann.evaluate(PLAYBACK))['frames'] > 0 and s['width'] > 0 and s,
        30,
        what='the broadcast to decode frames',
    )
    later = wait_until(
        lambda: (s := ann.evaluate(PLAYBACK))['time'] > first['time'] + 1 and s,
        15,
        what='the broadcast to keep playing',
    )
    assert later['frames'] > first['frames']
    assert later['audioBytes'] > 0, 'no audio decoded from the broadcast'
    assert ann.inner_text('#status').startswith('Watching the broadcast')
    shoot(ann, 'attendee-broadcast')
    shoot(presenter, 'presenter-broadcast-on')

    # Ann takes part as any attendee: her question reaches the presenter and Bob.
    ann.fill('#question-input', 'Can you hear us on the broadcast?')
    ann.click('#ask')
    for page in (presenter, bob):
        page.wait_for_selector('text=Can you hear us on the broadcast?', timeout=5000)
    # Bob, who fitted in the room, still watches in real time.
    assert bob.is_hidden('#broadcast-video')
    wait_media_flowing(bob, videos=2, audios=1)

    presenter.click('#broadcast-switch')
    presenter.wait_for_selector('#broadcast-switch:not(:checked):not([disabled])')
    ann.wait_for_selector('#join-form', state='visible', timeout=5000)
    assert 'stopped the broadcast' in ann.inner_text('#error')
