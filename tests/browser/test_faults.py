"""Faults while people watch: Janus killed mid-presentation, an attendee's network
dropping for a moment (its connection cut, or silently gone), and attendees gone
for good (a crashed tab, a network that never comes back).

One local stack for this module (see conftest.py); every test makes its own
presentation, so a Janus restarted by one test does not leak into another.
"""

from __future__ import annotations

import os
import signal
import time
from pathlib import Path

import httpx
import pytest

from local_video.signalling import RESUME_GRACE
from tests.browser.browser_support import wait_until, wait_video_playing

pytestmark = [pytest.mark.browser, pytest.mark.timeout(120)]

# From the kill of Janus to frames rising again on the attendee's screen.
JANUS_RECOVERY_DEADLINE = 10.0

# Counts every time #reconnecting is shown, so a short outage is seen too.
COUNT_BANNER = """() => {
  const banner = document.querySelector('#reconnecting');
  window.__bannerShown = banner.hidden ? 0 : 1;
  new MutationObserver(() => {
    if (!banner.hidden) window.__bannerShown += 1;
  }).observe(banner, {attributes: true, attributeFilter: ['hidden']});
}"""
MARK_PLAYING = """() => {
  document.querySelector('#screen-video').srcObject.__before = true;
}"""
PLAYS_NEW_SCREEN = """() => {
  const stream = document.querySelector('#screen-video').srcObject;
  return Boolean(stream && !stream.__before);
}"""


def create_presentation(api: httpx.Client, title: str) -> dict:
    response = api.post('/api/presentations', json={'title': title})
    assert response.status_code == 201, response.text
    return response.json()


def present(open_page, presentation: dict):
    page = open_page(presentation['presenter_url'])
    page.click('#start')
    page.wait_for_selector('#stop', state='visible')
    return page


def join(open_page, presentation: dict):
    page = open_page(presentation['attendee_url'])
    page.click('#join')
    page.wait_for_selector('#stage', state='visible')
    return page


def child_pids(pid: int) -> list[int]:
    """Return the pids whose parent is `pid` (any of its threads)."""
    found = []
    for task in Path(f'/proc/{pid}/task').iterdir():
        found += [int(p) for p in (task / 'children').read_text().split()]
    return found


def janus_pid(stack) -> int:
    local_video = stack.process('local_video').pid
    janus = [
        pid
        for pid in child_pids(local_video)
        if Path(f'/proc/{pid}/comm').read_text().strip() == 'janus'
    ]
    assert len(janus) == 1, f'local_video {local_video} runs Janus {janus}'
    return janus[0]


def banner_shown(page) -> int:
    return page.evaluate('window.__bannerShown')


def test_janus_killed_mid_presentation_recovers_by_itself(local_stack, api, open_page):
    presentation = create_presentation(api, 'Janus falls over')
    presenter = present(open_page, presentation)
    attendee = join(open_page, presentation)
    wait_video_playing(attendee, '#screen-video')
    attendee.evaluate(COUNT_BANNER)
    attendee.evaluate(MARK_PLAYING)
    old_janus = janus_pid(local_stack)
    presenter_connections = presenter.evaluate('window.__pcs.length')

    os.kill(old_janus, signal.SIGKILL)
    killed_at = time.monotonic()

    def left() -> float:
        return JANUS_RECOVERY_DEADLINE - (time.monotonic() - killed_at)

    wait_until(
        lambda: attendee.evaluate(PLAYS_NEW_SCREEN),
        left(),
        what="the attendee to play the presenter's republished screen",
    )
    wait_video_playing(attendee, '#screen-video', timeout=max(left(), 0.1))
    assert banner_shown(attendee) >= 1, 'the attendee saw no reconnecting banner'
    wait_until(lambda: attendee.is_hidden('#reconnecting'), 5, what='banner to hide')
    assert janus_pid(local_stack) != old_janus
    # The presenter's page published again on a new connection, by itself.
    assert presenter.evaluate('window.__pcs.length') > presenter_connections
    assert presenter.is_visible('#stop')
    assert attendee.is_hidden('#over') and attendee.is_hidden('#error')


# Records the page's WebSockets and what each one was told when it connected.
RECORD_SOCKETS = """
(() => {
  const Original = window.WebSocket;
  window.__sockets = [];
  function Recorded(...args) {
    const ws = new Original(...args);
    window.__sockets.push(ws);
    ws.addEventListener('message', (event) => {
      if (ws.__connected !== undefined) return;
      try {
        ws.__connected = JSON.parse(event.data);
      } catch (ex) {
        ws.__connected = null;
      }
    });
    return ws;
  }
  Recorded.prototype = Original.prototype;
  Object.setPrototypeOf(Recorded, Original);
  window.WebSocket = Recorded;
})();
"""
SOCKETS = """() => window.__sockets.map((ws) => ({
  state: ws.readyState,
  resumed: ws.__connected ? Boolean(ws.__connected.resumed) : null,
}))"""
# Cuts the signalling connection the way a network change does: the socket dies
# under the page, which did not ask for it.
CUT_SOCKETS = '() => window.__sockets.forEach((ws) => ws.close())'
# Records every value the page's attendee count shows from now on.
RECORD_COUNTS = """() => {
  const count = document.querySelector('#attendee-count');
  window.__counts = [count.textContent];
  new MutationObserver(() => window.__counts.push(count.textContent))
    .observe(count, {childList: true, characterData: true, subtree: true});
}"""


def counts_shown(page) -> list[str]:
    return page.evaluate('window.__counts')


def join_recording_sockets(open_page, presentation: dict):
    page = open_page()
    page.context.add_init_script(RECORD_SOCKETS)
    page.goto(presentation['attendee_url'])
    page.click('#join')
    page.wait_for_selector('#stage', state='visible')
    return page


def test_attendee_network_blip_reconnects_by_itself(api, open_page):
    presentation = create_presentation(api, 'Flaky wifi')
    presenter = present(open_page, presentation)
    attendee = join_recording_sockets(open_page, presentation)
    wait_video_playing(attendee, '#screen-video')
    for page in (presenter, attendee):
        wait_until(
            lambda p=page: p.inner_text('#attendee-count') == '1',
            10,
            what='the attendee to be counted',
        )
        page.evaluate(RECORD_COUNTS)
    attendee.evaluate(COUNT_BANNER)

    attendee.context.set_offline(True)
    attendee.evaluate(CUT_SOCKETS)
    attendee.wait_for_selector('#reconnecting', state='visible', timeout=5000)
    # While offline, the page tries again and fails: the outage is real to it.
    wait_until(
        lambda: (
            len(sockets := attendee.evaluate(SOCKETS)) >= 2
            and all(s['state'] == 3 for s in sockets)
        ),
        10,
        what='a reconnection attempt to fail while offline',
    )
    attendee.context.set_offline(False)

    attendee.wait_for_selector('#reconnecting', state='hidden', timeout=15000)
    sockets = attendee.evaluate(SOCKETS)
    assert sockets[-1] == {'state': 1, 'resumed': True}, sockets
    wait_video_playing(attendee, '#screen-video')
    assert attendee.is_hidden('#error') and attendee.is_hidden('#over')
    # Back within the grace period: the same participant, never uncounted.
    for page in (presenter, attendee):
        assert set(counts_shown(page)) == {'1'}, counts_shown(page)
    assert (
        api.get(f'/live/presentations/{presentation["id"]}').json()['attendees'][
            'count'
        ]
        == 1
    )


@pytest.mark.slow
def test_a_signalling_socket_gone_silent_is_replaced(api, open_page):
    """Offline with nothing closed: the page finds its socket dead by its silence
    (local-video.js SILENCE_LIMIT, 12 s) and resumes on a new one."""
    presentation = create_presentation(api, 'Dead air')
    present(open_page, presentation)
    attendee = join_recording_sockets(open_page, presentation)
    wait_video_playing(attendee, '#screen-video')
    wait_until(
        lambda: attendee.inner_text('#attendee-count') == '1',
        10,
        what='the attendee to be counted',
    )
    attendee.evaluate(RECORD_COUNTS)

    attendee.context.set_offline(True)
    attendee.wait_for_selector('#reconnecting', state='visible', timeout=20_000)
    attendee.context.set_offline(False)

    attendee.wait_for_selector('#reconnecting', state='hidden', timeout=15_000)
    sockets = attendee.evaluate(SOCKETS)
    assert sockets[0]['state'] == 3, sockets
    assert sockets[-1] == {'state': 1, 'resumed': True}, sockets
    wait_video_playing(attendee, '#screen-video')
    assert set(counts_shown(attendee)) == {'1'}, counts_shown(attendee)


# The page's own pagehide handler would leave the room politely; a crash does not.
NO_PAGEHIDE = """
window.addEventListener('pagehide', (event) => event.stopImmediatePropagation(), true);
"""
# A participant whose connection is gone for good leaves the count within this
# many seconds: local_video keeps it RESUME_GRACE seconds after it last heard from
# it (a socket that closed, or one silent for that long), then the callback, the
# webhook and the state stream take well under a second.
GONE_DEADLINE = RESUME_GRACE + 5.0


@pytest.mark.slow
def test_attendees_gone_for_good_leave_the_count(api, open_page):
    presentation = create_presentation(api, 'Lost souls')
    presenter = present(open_page, presentation)
    crashed, offline = open_page(), open_page()
    crashed.context.add_init_script(NO_PAGEHIDE)
    for page in (crashed, offline):
        page.goto(presentation['attendee_url'])
        page.click('#join')
        wait_video_playing(page, '#screen-video')
    wait_until(
        lambda: presenter.inner_text('#attendee-count') == '2',
        10,
        what='both attendees to be counted',
    )
    presenter.evaluate(RECORD_COUNTS)

    # One tab dies without a word; the other's network goes away and stays away.
    crashed.close(run_before_unload=False)
    offline.context.set_offline(True)
    wait_until(
        lambda: presenter.inner_text('#attendee-count') == '0',
        GONE_DEADLINE,
        interval=0.2,
        what='both attendees to leave the count',
    )
    # One at a time or both at once, never below zero nor back up.
    assert counts_shown(presenter) in (['2', '1', '0'], ['2', '0']), counts_shown(
        presenter
    )
