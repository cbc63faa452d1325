"""Broadcast mode end to end through nginx: the presenter turns it on, a new attendee
plays the HLS stream (time advancing, frames decoded, audio decoded) and takes part
in Q&A over the event stream, while an attendee who joined before keeps WebRTC."""

from __future__ import annotations

from pathlib import Path

import pytest

from tests.browser.browser_support import wait_media_flowing, wait_until
from tests.browser.test_audience import join
from tests.browser.test_presentation_flow import create_presentation, start_presenting

pytestmark = [pytest.mark.browser, pytest.mark.timeout(120)]

SHOTS = Path('/tmp/shots/broadcast')
PLAYBACK = """() => {
  const v = document.querySelector('#broadcast-video');
  const q = v.getVideoPlaybackQuality();
  return { time: v.currentTime, frames: q.totalVideoFrames, width: v.videoWidth,
           audioBytes: v.webkitAudioDecodedByteCount || 0, paused: v.paused };
}"""


def shoot(page, name: str) -> None:
    SHOTS.mkdir(parents=True, exist_ok=True)
    for width, height in ((1280, 800), (390, 844)):
        page.set_viewport_size({'width': width, 'height': height})
        path = SHOTS / f'{name}-{width}x{height}.png'
        page.screenshot(path=str(path), full_page=True)
    page.set_viewport_size({'width': 1280, 'height': 800})


def test_a_broadcast_attendee_plays_hls_beside_a_webrtc_one(api, open_page):
    presentation = create_presentation(api, 'Broadcast')
    presenter = open_page(presentation['presenter_url'])
    start_presenting(presenter)
    bob = join(open_page, presentation, 'Bob')
    wait_media_flowing(bob, videos=2, audios=1)

    presenter.wait_for_selector('[data-testid=broadcast-control]', state='visible')
    assert not presenter.is_checked('#broadcast-switch')
    presenter.click('#broadcast-switch')
    presenter.wait_for_selector('#broadcast-switch:checked:not([disabled])')
    assert 'Broadcasting' in presenter.inner_text('#broadcast-status')

    ann = join(open_page, presentation, 'Ann')
    ann.wait_for_selector('#broadcast-video', state='visible')
    assert ann.is_visible('[data-testid=broadcast-label]')
    label = ann.inner_text('[data-testid=broadcast-label]')
    assert 'a few seconds behind live' in label
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
    # Bob, who joined before, still watches in real time.
    assert bob.is_hidden('#broadcast-video')
    wait_media_flowing(bob, videos=2, audios=1)

    presenter.click('#broadcast-switch')
    presenter.wait_for_selector('#broadcast-switch:not(:checked):not([disabled])')
