"""Podium end to end, as users click through it: nginx, the three services, Redis,
local_video and Janus, with Chromium's fake camera, microphone and screen."""

from __future__ import annotations

import json
import secrets
import threading
import time

import httpx
import pytest

from tests.browser.browser_support import (
    inbound_stats,
    media_stopped,
    outbound_stats,
    video_state,
    wait_media_flowing,
    wait_until,
    wait_video_playing,
)
from tests.integration.conftest import (
    Callbacks,
    participant_sid,
    post_callback,
    sse_events,
)

pytestmark = [pytest.mark.browser, pytest.mark.timeout(120)]

# The page's count must follow a join or a leave within this many seconds.
COUNT_DEADLINE = 2.0


# What a user does -------------------------------------------------------------------


def create_presentation(api: httpx.Client, title: str) -> dict:
    response = api.post('/api/presentations', json={'title': title})
    assert response.status_code == 201, response.text
    return response.json()


def start_presenting(page) -> None:
    """Click Start presenting (once the camera is ready) and wait until live."""
    page.click('#start')  # waits until the button is enabled
    page.wait_for_selector('#stop', state='visible')
    assert page.inner_text('#status').startswith('You are live')


def present(open_page, presentation: dict):
    page = open_page(presentation['presenter_url'])
    start_presenting(page)
    return page


def join(open_page, presentation: dict):
    """Open the attendee link and click Join; return once the page joined."""
    page = open_page(presentation['attendee_url'])
    page.click('#join')
    page.wait_for_selector('#stage', state='visible')
    return page


def count_shown(page) -> str:
    return page.inner_text('#attendee-count').strip()


def wait_counts(pages, expected: int, timeout: float, what: str) -> None:
    wait_until(
        lambda: [count_shown(p) for p in pages] == [str(expected)] * len(pages),
        timeout,
        interval=0.02,
        what=what,
    )


class StateStream:
    """Reads a presentation's SSE stream through nginx in a thread, as pages do."""

    def __init__(self, base_url: str, presentation_id: str):
        self.url = f'{base_url}/live/presentations/{presentation_id}/events'
        self.views: list[dict] = []
        self.opened = threading.Event()
        self._client = httpx.Client(timeout=httpx.Timeout(5.0, read=None))
        self._thread = threading.Thread(target=self._read, daemon=True)

    def __enter__(self) -> StateStream:
        self._thread.start()
        assert self.opened.wait(10), 'the state stream did not open'
        return self

    def __exit__(self, *exc) -> None:
        self._client.close()  # ends the read in the thread

    def _read(self) -> None:
        try:
            with self._client.stream('GET', self.url) as response:
                self.opened.set()
                for event in sse_events(response):
                    if event.get('event') == 'state':
                        self.views.append(json.loads(event['data']))
        except (httpx.HTTPError, RuntimeError):
            pass  # closed by __exit__

    def counts(self) -> list[int]:
        return [view['attendees']['count'] for view in list(self.views)]


# 1 and 2 ----------------------------------------------------------------------------


def test_create_present_and_watch_screen_camera_and_voice(local_stack, open_page):
    home = open_page(local_stack.url + '/')
    home.fill('#title-input', 'Browser end to end')
    home.click('#create')
    home.wait_for_selector('#links', state='visible')
    presenter_url = home.get_attribute('#presenter-link', 'href')
    attendee_url = home.get_attribute('#attendee-link', 'href')
    assert presenter_url.startswith(local_stack.url + '/presentations/')
    assert '#key=' in presenter_url
    assert attendee_url == presenter_url.split('/present#')[0]

    presenter = open_page(presenter_url)
    wait_video_playing(presenter, '#preview-video')
    # The key left the address bar for this tab's storage.
    assert '#key=' not in presenter.url
    start_presenting(presenter)

    attendee = open_page(attendee_url)
    attendee.click('#join')
    screen = wait_video_playing(attendee, '#screen-video')
    camera = wait_video_playing(attendee, '#camera-video')
    assert screen['width'] > 0 and camera['width'] > 0
    assert screen['track'] != camera['track']
    # Audio: the voice, and the tab audio Chromium's fake screen share comes with.
    stats = wait_media_flowing(attendee, videos=2, audios=2)
    assert len(stats['video']) == 2 and len(stats['audio']) == 2
    assert attendee.inner_text('#status') == 'Live'
    assert attendee.is_hidden('#error')


# 3 ----------------------------------------------------------------------------------


def test_attendee_count_is_pushed_from_room_events(local_stack, api, open_page):
    presentation = create_presentation(api, 'Counting')
    pid = presentation['id']
    presenter = present(open_page, presentation)
    first = join(open_page, presentation)
    wait_video_playing(first, '#screen-video')
    wait_counts([presenter, first], 1, 10, 'both pages to count the first attendee')

    with StateStream(local_stack.url, pid) as stream:
        second = join(open_page, presentation)
        wait_until(
            lambda: second.inner_text('#status') == 'Live',
            20,
            what='the second attendee to be watching',
        )
        watching_at = time.monotonic()
        wait_counts(
            [presenter, first, second],
            2,
            COUNT_DEADLINE - (time.monotonic() - watching_at),
            'every page to count the second attendee',
        )
        second.close()  # the page's pagehide leaves the room
        closed_at = time.monotonic()
        wait_counts(
            [presenter, first],
            1,
            COUNT_DEADLINE - (time.monotonic() - closed_at),
            'the pages to stop counting the closed page',
        )
        # The server pushed both changes on the state stream the pages follow.
        wait_until(
            lambda: (c := stream.counts()) and 2 in c and c[-1] == 1,
            5,
            what='the state stream to carry the join and the leave',
        )

        # A signed callback alone (no browser joined) moves every page's count:
        # the number comes from webhooks -> Redis -> SSE, not from the page's room.
        view = api.get(f'/live/presentations/{pid}').json()
        settings = local_stack.settings
        callbacks = Callbacks(
            settings['TWILIO_ACCOUNT_SID'], view['room']['sid'], f'podium-{pid}'
        )
        ghost_sid, ghost = participant_sid(), 'attendee-' + secrets.token_hex(8)
        for event, expected in (
            ('participant-connected', 2),
            ('participant-disconnected', 1),
        ):
            form = callbacks.participant(event, ghost_sid, ghost)
            response = post_callback(
                api, local_stack.url, settings['TWILIO_AUTH_TOKEN'], form
            )
            assert response.status_code == 204, response.text
            wait_counts([presenter, first], expected, 5, f'the count after {event}')
        wait_until(
            lambda: stream.counts()[-2:] == [2, 1],
            5,
            what='the state stream to carry the signed callbacks',
        )


# 4 ----------------------------------------------------------------------------------


def test_attendee_who_joined_early_starts_watching_when_the_presenter_starts(
    api, open_page
):
    presentation = create_presentation(api, 'Early bird')
    attendee = join(open_page, presentation)
    wait_until(
        lambda: attendee.inner_text('#status') == 'Waiting for the presenter',
        10,
        what='the attendee to wait for the presenter',
    )
    assert video_state(attendee, '#screen-video')['track'] is None

    present(open_page, presentation)
    wait_video_playing(attendee, '#screen-video')
    wait_video_playing(attendee, '#camera-video')
    wait_media_flowing(attendee, videos=2, audios=1)


# 5 ----------------------------------------------------------------------------------


def test_stop_ends_the_presentation_for_attendees(api, open_page):
    presentation = create_presentation(api, 'The end')
    presenter = present(open_page, presentation)
    attendees = [join(open_page, presentation) for _ in range(2)]
    for attendee in attendees:
        wait_media_flowing(attendee, videos=2, audios=1)

    presenter.click('#stop')
    presenter.wait_for_selector('#stop-confirmation', state='visible')
    presenter.click('#stop-confirm')

    presenter.wait_for_selector('#over', state='visible')
    for attendee in attendees:
        attendee.wait_for_selector('#over', state='visible')
        assert 'The presentation is over' in attendee.inner_text('#over')
        assert attendee.inner_text('#status') == 'The presentation is over.'
        # Closed connections and ended tracks: no frame can arrive any more.
        wait_until(lambda a=attendee: media_stopped(a), 10, what='media to stop')
        assert video_state(attendee, '#screen-video')['track'] is None
    view = api.get(f'/live/presentations/{presentation["id"]}').json()
    assert view['status'] == 'ended'


# 6 ----------------------------------------------------------------------------------


def test_wrong_presenter_key_cannot_present(local_stack, api, open_page):
    presentation = create_presentation(api, 'Guarded')
    url = presentation['presenter_url'].split('#')[0] + '#key=not-the-key'
    intruder = open_page(url)
    intruder.click('#start')
    intruder.wait_for_selector('#error', state='visible')
    message = intruder.inner_text('#error')
    assert 'key' in message.lower() or 'link' in message.lower(), message
    assert presentation['presenter_key'] not in intruder.content()
    assert intruder.is_hidden('#stop')
    assert outbound_stats(intruder) == []
    view = api.get(f'/live/presentations/{presentation["id"]}').json()
    assert view['presenter']['connected'] is False
    assert view['presenter']['tracks'] == []


# Runs in an attendee page: a second room with this page's camera and microphone,
# connected the way the page's own modules would.
PUBLISH_FROM_ATTENDEE = """async ([pid, automaticSubscription, publish]) => {
  const api = await import('/static/js/podium-api.js');
  const grant = await api.requestToken(pid, {role: 'attendee', name: 'Extra'});
  const room = await window.PodiumLocalVideo.connect(grant.token, {
    name: grant.room, signalUrl: grant.signal_url, automaticSubscription,
    audio: publish, video: publish,
  });
  window.__extraRoom = room;
  return [...room.localParticipant.tracks.values()].map((p) => p.trackName).sort();
}"""
# Then that room publishes its camera itself, to see the refusal's code.
PUBLISH_AGAIN = """async () => {
  const stream = await navigator.mediaDevices.getUserMedia({ video: true });
  const lp = window.__extraRoom.localParticipant;
  try {
    await lp.publishTrack(stream.getVideoTracks()[0], { name: 'camera-again' });
    return null;
  } catch (error) {
    return error.code;
  }
}"""


def test_attendees_never_receive_another_attendees_camera(api, open_page):
    presentation = create_presentation(api, 'Privacy')
    pid = presentation['id']
    present(open_page, presentation)
    viewer = join(open_page, presentation)
    wait_media_flowing(viewer, videos=2, audios=1)

    # Only the presenter may publish: an attendee's camera and microphone are
    # refused (Twilio's 53300) before they reach the media server...
    publisher = open_page(presentation['attendee_url'])
    assert publisher.evaluate(PUBLISH_FROM_ATTENDEE, [pid, True, True]) == []
    assert publisher.evaluate(PUBLISH_AGAIN) == 53300
    # ...so even a room without subscribe rules receives the presenter only...
    control = open_page(presentation['attendee_url'])
    control.evaluate(PUBLISH_FROM_ATTENDEE, [pid, True, False])
    wait_media_flowing(control, videos=2, audios=1)
    # ...and so does the attendee page, whose rules include only the presenter.
    for page in (control, viewer):
        for _ in range(5):
            stats = inbound_stats(page)
            assert len(stats['video']) == 2, stats
            # The voice and the fake screen's tab audio: the presenter's only.
            assert len(stats['audio']) == 2, stats
    for page in (publisher, control):
        page.evaluate('window.__extraRoom.disconnect()')


# 7 ----------------------------------------------------------------------------------

MARK_PLAYING = """() => {
  window.__notReloaded = true;
  document.querySelector('#screen-video').srcObject.__before = true;
}"""
PLAYS_NEW_SCREEN = """() => {
  const stream = document.querySelector('#screen-video').srcObject;
  return Boolean(stream && !stream.__before);
}"""


def test_presenter_reload_resumes_and_attendees_recover(api, open_page):
    presentation = create_presentation(api, 'Second wind')
    presenter = present(open_page, presentation)
    attendee = join(open_page, presentation)
    wait_video_playing(attendee, '#screen-video')
    # Marks this page load and what the screen plays now (Janus reuses track ids).
    attendee.evaluate(MARK_PLAYING)

    presenter.reload()
    start_presenting(presenter)  # the key survived the reload in sessionStorage

    wait_until(
        lambda: attendee.evaluate(PLAYS_NEW_SCREEN),
        20,
        what="the attendee to play the reloaded presenter's screen",
    )
    wait_video_playing(attendee, '#screen-video')
    wait_video_playing(attendee, '#camera-video')
    wait_media_flowing(attendee, videos=2, audios=1)
    assert attendee.evaluate('window.__notReloaded') is True
    assert attendee.is_hidden('#reconnecting')
    assert attendee.is_hidden('#over')
