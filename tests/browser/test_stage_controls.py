"""Presenter and attendee controls end to end through nginx: mute, camera off,
switching and stopping the shared screen, checked in the pages (badges from room
state) and in WebRTC statistics at two attendees."""

from __future__ import annotations

import time
from pathlib import Path

import pytest

from tests.browser.browser_support import (
    inbound_stats,
    video_state,
    wait_media_flowing,
    wait_until,
    wait_video_playing,
)
from tests.browser.test_presentation_flow import (
    create_presentation,
    join,
    start_presenting,
)

pytestmark = [pytest.mark.browser, pytest.mark.timeout(150)]

# The figure: attendees read "Microphone off" within this many seconds.
BADGE_DEADLINE = 2.0
# Time for packets already in flight (and Janus's buffers) before counting.
SETTLE = 0.5
SHOTS = Path('/tmp/shots/stage')


def badges(page) -> list[str]:
    return page.locator('[data-testid=presenter-badge]').all_inner_texts()


def wait_badge(pages, text: str, shown: bool, what: str) -> float:
    """Wait until every page shows (or hides) a presenter badge; return the seconds."""
    started = time.monotonic()
    wait_until(
        lambda: all((text in badges(p)) == shown for p in pages),
        BADGE_DEADLINE,
        interval=0.05,
        what=what,
    )
    return time.monotonic() - started


def audio_packets(page) -> int:
    """Packets received of the presenter's voice (not of shared tab audio)."""
    voice = video_state(page, '#presenter-audio')['track']
    return sum(
        a['packetsReceived']
        for a in inbound_stats(page)['audio']
        if a['trackIdentifier'] == voice
    )


def camera_frames(page) -> int:
    """Frames decoded of the presenter's camera (the video that is not the screen)."""
    screen = video_state(page, '#screen-video')['track']
    return sum(
        v['framesDecoded']
        for v in inbound_stats(page)['video']
        if v['trackIdentifier'] != screen
    )


def screen_frames(page) -> int:
    screen = video_state(page, '#screen-video')['track']
    return sum(
        v['framesDecoded']
        for v in inbound_stats(page)['video']
        if v['trackIdentifier'] == screen
    )


def stopped(read, pages, what: str) -> None:
    """Assert a counter stands still at every page over one second."""
    time.sleep(SETTLE)
    before = [read(p) for p in pages]
    time.sleep(1.0)
    after = [read(p) for p in pages]
    assert after == before, (
        f'{what} still arriving: {before} -> {after}',
        [inbound_stats(p) for p in pages],
    )


def rising(read, pages, what: str) -> None:
    before = [read(p) for p in pages]
    wait_until(
        lambda: all(read(p) > b for p, b in zip(pages, before, strict=True)),
        10,
        what=what,
    )


def shoot(page, name: str) -> None:
    SHOTS.mkdir(parents=True, exist_ok=True)
    for width, height in ((1280, 800), (390, 844)):
        page.set_viewport_size({'width': width, 'height': height})
        page.screenshot(
            path=str(SHOTS / f'{name}-{width}x{height}.png'), full_page=True
        )
    page.set_viewport_size({'width': 1280, 'height': 800})


def test_mute_camera_and_screen_switch_reach_both_attendees(api, open_page):
    presentation = create_presentation(api, 'Controls')
    presenter = open_page(presentation['presenter_url'])
    wait_video_playing(presenter, '#preview-video')
    # Going live with the camera off: attendees never get a camera frame.
    presenter.click('#camera-toggle')
    assert presenter.is_visible('#preview-off')
    start_presenting(presenter)
    ann = join(open_page, presentation)
    bob = join(open_page, presentation)
    attendees = [ann, bob]
    wait_badge(attendees, 'Camera off', True, '"Camera off" from the start')
    assert ann.is_hidden('#camera-video')
    presenter.click('#camera-toggle')
    wait_badge(attendees, 'Camera off', False, 'the badge to go once the camera is on')
    for page in attendees:
        wait_media_flowing(page, videos=2, audios=1)
    assert all(badges(p) == [] for p in attendees)
    connections = [p.evaluate('window.__pcs.length') for p in attendees]

    # Mute: the badge within 2 s, and not one audio packet more.
    presenter.click('#mic-toggle')
    assert presenter.inner_text('#mic-toggle') == 'Unmute microphone'
    wait_badge(attendees, 'Microphone off', True, '"Microphone off" at attendees')
    stopped(audio_packets, attendees, 'audio packets after mute')
    # Chromium's fake microphone beeps: the presenter is "talking" while muted.
    presenter.wait_for_selector('#muted-hint', state='visible', timeout=5000)
    presenter.click('#mic-toggle')
    wait_badge(attendees, 'Microphone off', False, 'the badge to go after unmute')
    rising(audio_packets, attendees, 'audio packets after unmute')

    # Camera off: badge, no camera frames, the picture-in-picture goes away.
    presenter.click('#camera-toggle')
    wait_badge(attendees, 'Camera off', True, '"Camera off" at attendees')
    wait_until(lambda: ann.is_hidden('#camera-video'), 2, what='camera hidden')
    stopped(camera_frames, attendees, 'camera frames after camera off')
    presenter.click('#camera-toggle')
    wait_badge(attendees, 'Camera off', False, 'the badge to go after camera on')
    rising(camera_frames, attendees, 'camera frames after camera on')
    wait_video_playing(ann, '#camera-video')

    # Another screen replaces the shared one: attendees keep the same track and
    # connections and keep decoding; nobody rejoined.
    shared_before = video_state(presenter, '#view-screen')['track']
    watched_before = [video_state(p, '#screen-video')['track'] for p in attendees]
    presenter.click('#share-screen')
    wait_until(
        lambda: video_state(presenter, '#view-screen')['track'] != shared_before,
        10,
        what='the presenter to share another screen',
    )
    rising(screen_frames, attendees, 'screen frames after the switch')
    assert [video_state(p, '#screen-video')['track'] for p in attendees] == (
        watched_before
    )
    assert [p.evaluate('window.__pcs.length') for p in attendees] == connections
    assert presenter.inner_text('#status').startswith('You are live')
    shoot(presenter, 'presenter-live')
    shoot(ann, 'attendee-live')

    # The attendee's own controls.
    ann.click('#swap')
    assert ann.get_attribute('#camera-video', 'class') == 'main-video'
    assert ann.get_attribute('#screen-video', 'class') == 'pip'
    ann.click('#swap')
    ann.click('#camera-hide')
    assert ann.is_hidden('#camera-video') and ann.is_visible('#screen-video')
    ann.click('#camera-hide')
    assert ann.is_visible('#camera-video')
    ann.fill('#volume', '0.3')
    assert ann.evaluate("document.querySelector('#presenter-audio').volume") == 0.3
    ann.click('#sound-toggle')
    assert ann.evaluate("document.querySelector('#presenter-audio').muted")
    ann.click('#sound-toggle')
    ann.click('#fullscreen')
    wait_until(
        lambda: ann.evaluate('document.fullscreenElement?.id') == 'player',
        5,
        what='fullscreen',
    )
    # The label follows the fullscreenchange event, a task after the element is set.
    wait_until(
        lambda: ann.inner_text('#fullscreen') == 'Exit fullscreen',
        2,
        what='the button to offer "Exit fullscreen"',
    )
    ann.click('#fullscreen')
    wait_until(
        lambda: ann.evaluate('document.fullscreenElement') is None, 5, what='exit'
    )

    # Stop sharing: still live on camera, which attendees now see large.
    presenter.click('#share-stop')
    wait_badge(attendees, 'Screen sharing paused', True, '"Screen sharing paused"')
    for page in attendees:
        wait_until(
            lambda page=page: (
                page.get_attribute('#camera-video', 'class') == 'main-video'
            ),
            5,
            what='the camera to go large',
        )
    wait_video_playing(ann, '#camera-video')
    assert presenter.is_visible('#stop')
    assert ann.inner_text('#status') == 'Live'
    presenter.click('#mic-toggle')
    wait_badge(attendees, 'Microphone off', True, '"Microphone off" on camera only')
    shoot(presenter, 'presenter-camera-only-muted')
    shoot(bob, 'attendee-camera-only')
    assert ann.is_hidden('#error') and presenter.is_hidden('#error')


# Makes the browser's media calls fail the way real devices do.
FAILING_MEDIA = """
([video, audio, screen]) => {
  const devices = navigator.mediaDevices;
  const original = devices.getUserMedia.bind(devices);
  devices.getUserMedia = async (constraints) => {
    if (constraints.video && video) throw new DOMException('failed', video);
    if (constraints.audio && audio) throw new DOMException('failed', audio);
    return original(constraints);
  };
  devices.getDisplayMedia = async () => { throw new DOMException('no', screen); };
}
"""


def failing_presenter(open_page, presentation, video: str, audio: str):
    page = open_page()
    page.add_init_script(
        f'({FAILING_MEDIA})({[video, audio, "NotAllowedError"]!r})'.replace("'", '"')
    )
    page.goto(presentation['presenter_url'])
    page.wait_for_selector('#start:enabled')
    return page


def test_presenter_errors_say_what_to_do(api, open_page):
    presentation = create_presentation(api, 'Errors')
    busy = failing_presenter(open_page, presentation, 'NotReadableError', '')
    error = busy.inner_text('#error')
    assert 'Your camera is busy' in error and 'Close other apps' in error, error
    assert busy.is_disabled('#camera-toggle') and busy.is_enabled('#mic-toggle')
    # Share cancelled: say how to try again, never a stack trace.
    busy.click('#share-screen')
    busy.wait_for_selector('#error:has-text("Screen sharing was cancelled")')
    assert 'choose a screen, window or tab' in busy.inner_text('#error')

    denied = failing_presenter(open_page, presentation, 'NotAllowedError', '')
    assert "Allow it in your browser's site settings" in denied.inner_text('#error')

    silent = failing_presenter(open_page, presentation, '', 'NotFoundError')
    error = silent.inner_text('#error')
    assert 'No microphone was found' in error, error
    assert 'attendees will not hear you' in error
    assert silent.is_disabled('#mic-toggle')
    shoot(silent, 'presenter-no-microphone')
