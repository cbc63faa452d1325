"""Two attendees watch one presenter: one on a 300 kbit/s downlink (its own network
namespace, all media through the TURN relay on its veth, shaped there with tc), one
unshaped. local_video moves the slow one to lower simulcast layers from the loss its
browser reports, and its picture keeps moving; the unshaped one stays on top.

Not timed: the bench (bench/slow_link.py) measures how fast and how well.
"""

from __future__ import annotations

import httpx
import pytest

from tests.browser.browser_support import new_page, wait_until, wait_video_playing
from tests.integration.conftest import HTTP_TIMEOUT
from tests.network import shaping
from tests.network.test_relay_only_attendee import attendee_host as attendee_host
from tests.network.test_relay_only_attendee import browsers as browsers
from tests.network.test_relay_only_attendee import certificate as certificate
from tests.network.test_relay_only_attendee import janus_ip as janus_ip
from tests.network.test_relay_only_attendee import stack as stack
from tests.network.test_relay_only_attendee import trusting
from tests.network.test_relay_only_attendee import turn as turn

pytestmark = [pytest.mark.browser, pytest.mark.slow, pytest.mark.timeout(180)]

# Decoded size and frames of the attendee's camera and screen.
PICTURE = """() => {
  const state = (id) => {
    const v = document.getElementById(id);
    const q = v && v.getVideoPlaybackQuality ? v.getVideoPlaybackQuality() : null;
    return { height: v ? v.videoHeight : 0, frames: q ? q.totalVideoFrames : 0 };
  };
  return { camera: state('camera-video'), screen: state('screen-video') };
}"""


def picture(page) -> dict:
    return page.evaluate(PICTURE)


def test_a_slow_attendee_gets_lower_layers_and_the_fast_one_keeps_the_top(
    stack, attendee_host, browsers
):
    presenter_browser, far_browser = browsers
    with httpx.Client(timeout=HTTP_TIMEOUT, verify=trusting(stack)) as api:
        created = api.post(stack.url + '/api/presentations', json={'title': 'Slow'})
    assert created.status_code == 201, created.text
    presentation = created.json()

    pages = []
    try:
        presenter = new_page(presenter_browser)
        pages.append(presenter)
        presenter.goto(presentation['presenter_url'])
        presenter.click('#start')
        presenter.wait_for_selector('#stop', state='visible')
        fast, slow = new_page(presenter_browser), new_page(far_browser)
        pages += [fast, slow]
        for page in (fast, slow):
            page.goto(presentation['attendee_url'])
            page.click('#join')
        for page in (fast, slow):
            wait_video_playing(page, '#camera-video', timeout=30)
        # Chromium turns the presenter's simulcast layers on lowest first as its send
        # estimate ramps; under the full suite's load 720p can take more than 30 s.
        wait_until(
            lambda: all(picture(p)['camera']['height'] >= 540 for p in (fast, slow)),
            60,
            what='both attendees on the top camera layer',
        )

        shaping.limit_rate(attendee_host, 300)
        low = wait_until(
            lambda: (lambda v: v if 0 < v['camera']['height'] <= 360 else None)(
                picture(slow)
            ),
            40,
            what='the slow attendee on a lower camera layer',
        )
        # Still decoding on the lower layer: camera frames keep coming.
        wait_until(
            lambda: picture(slow)['camera']['frames'] > low['camera']['frames'] + 10,
            20,
            what='the slow attendee still decoding',
        )
        top = picture(fast)
        assert top['camera']['height'] >= 540, top
        wait_until(
            lambda: picture(fast)['camera']['frames'] > top['camera']['frames'] + 20,
            10,
            what='the fast attendee still decoding',
        )
        errors = [(p.url, e) for p in pages for e in p.errors]
        assert not errors, f'uncaught errors in pages: {errors}'
    finally:
        shaping.clear(attendee_host)
        for page in pages:
            page.context.close()
