"""End to end: real Janus, real Chromium, media through the local video service."""

from __future__ import annotations

import os
import shutil
import signal as signal_module
import threading
import time
from functools import partial
from http.server import SimpleHTTPRequestHandler, ThreadingHTTPServer
from pathlib import Path

import pytest
from twilio.rest import Client

from local_video.app import build_service
from tests.conftest import free_port

from .conftest import serve
from .helpers import make_token

pytestmark = [pytest.mark.browser, pytest.mark.slow]

JS_DIR = Path(__file__).resolve().parents[2] / 'web_service' / 'static' / 'js'
CHROMIUM = '/usr/bin/chromium'
FLAGS = [
    '--use-fake-device-for-media-stream',
    '--use-fake-ui-for-media-stream',
    '--autoplay-policy=no-user-gesture-required',
    '--no-sandbox',
    '--headless=new',
    '--disable-gpu',
    '--no-first-run',
    '--disable-background-networking',
    '--disable-component-update',
    '--disable-sync',
    '--disable-quic',
]
PAGE = """<!doctype html><meta charset="utf-8"><title>local video test</title>
<script type="module">
import { connect } from '/js/local-video.js';
window.lv = { connect, events: [] };
window.lvReady = true;
</script>"""

# Runs in the page: connect and keep what the test looks at on window.
JOIN = """async ([token, signalUrl, options]) => {
  const room = await window.lv.connect(token, { signalUrl, ...options });
  window.room = room;
  window.subscribed = [];
  room.on('trackSubscribed', (track, publication, participant) => {
    window.subscribed.push({ name: track.name, kind: track.kind, sid: track.sid,
                             identity: participant.identity });
  });
  room.on('disconnected', (r, error) => window.lv.events.push(
    ['disconnected', error && error.code]));
  room.on('reconnecting', () => window.lv.events.push(['reconnecting']));
  room.on('reconnected', () => window.lv.events.push(['reconnected']));
  return { sid: room.localParticipant.sid, room: room.sid };
}"""

PUBLISH = """async (withScreen) => {
  const md = navigator.mediaDevices;
  const camMic = await md.getUserMedia({ audio: true, video: true });
  const lp = window.room.localParticipant;
  const jobs = [
    lp.publishTrack(camMic.getVideoTracks()[0], { name: 'camera' }),
    lp.publishTrack(camMic.getAudioTracks()[0], { name: 'microphone' }),
  ];
  if (withScreen) {
    const screen = await navigator.mediaDevices.getDisplayMedia({ video: true });
    jobs.push(lp.publishTrack(screen.getVideoTracks()[0], { name: 'screen' }));
  }
  const publications = await Promise.all(jobs);
  return publications.map((p) => [p.trackName, p.trackSid]);
}"""

REFUSED = """async () => {
  const stream = await navigator.mediaDevices.getUserMedia({ video: true });
  try {
    await window.room.localParticipant.publishTrack(stream.getVideoTracks()[0]);
    return null;
  } catch (error) {
    return [error.name, error.code, error.message];
  }
}"""

# Inbound RTP stats of the receiving PeerConnection, by kind.
STATS = """async () => {
  const pc = window.room._subPc;
  if (!pc) return [];
  const out = [];
  (await pc.getStats()).forEach((s) => {
    if (s.type === 'inbound-rtp') out.push({ kind: s.kind, mid: s.mid,
      framesDecoded: s.framesDecoded || 0, packetsReceived: s.packetsReceived || 0 });
  });
  return out;
}"""


class QuietHandler(SimpleHTTPRequestHandler):
    def log_message(self, *args):
        pass


@pytest.fixture(scope='module')
def static_site():
    """Serve the test page and web_service/static/js on 127.0.0.1."""
    root = Path(__file__).parent / '_site'
    if root.exists():
        shutil.rmtree(root)
    root.mkdir()
    (root / 'index.html').write_text(PAGE)
    (root / 'js').symlink_to(JS_DIR)
    port = free_port()
    handler = partial(QuietHandler, directory=str(root))
    server = ThreadingHTTPServer(('127.0.0.1', port), handler)
    threading.Thread(target=server.serve_forever, daemon=True).start()
    yield f'http://127.0.0.1:{port}/index.html'
    server.shutdown()
    server.server_close()
    shutil.rmtree(root)


@pytest.fixture(scope='module')
def browser():
    playwright = pytest.importorskip('playwright.sync_api')
    if not Path(CHROMIUM).exists():
        pytest.skip('Debian chromium is not installed')
    with playwright.sync_playwright() as p:
        # launch() gives every run a fresh, temporary user-data-dir.
        browser = p.chromium.launch(executable_path=CHROMIUM, args=FLAGS)
        yield browser
        browser.close()


@pytest.fixture
def janus_service(lv_config, sink):
    if shutil.which('janus') is None:
        pytest.skip('janus is not installed')
    service = build_service(lv_config)
    with serve(service.app, lv_config.port) as url:
        client = Client(
            lv_config.api_key_sid, lv_config.api_key_secret, lv_config.account_sid
        )
        client.video.base_url = url
        yield service, url, client


def open_page(browser, site):
    page = browser.new_context().new_page()
    page.goto(site)
    page.wait_for_function('window.lvReady === true')
    return page


def wait_until(page, script: str, arg=None, timeout: float = 20.0):
    """Poll a page function until it returns something truthy; return that."""
    deadline = time.monotonic() + timeout
    while True:
        value = page.evaluate(script, arg)
        if value:
            return value
        if time.monotonic() > deadline:
            raise AssertionError(f'timed out waiting for {script[:60]}...')
        page.wait_for_timeout(100)


def test_presenter_media_reaches_a_viewer_with_an_include_rule(
    browser, static_site, janus_service, lv_config, sink
):
    service, url, client = janus_service
    signal = url.replace('http://', 'ws://') + '/video/signal'
    room = client.video.v1.rooms.create(
        unique_name='podium-e2e', status_callback=sink.url
    )

    presenter = open_page(browser, static_site)
    other = open_page(browser, static_site)
    viewer = open_page(browser, static_site)
    quiet = {'audio': False, 'video': False}
    presenter.evaluate(
        JOIN, [make_token(lv_config, 'presenter', 'podium-e2e'), signal, quiet]
    )
    published = dict(presenter.evaluate(PUBLISH, True))
    assert set(published) == {'camera', 'microphone', 'screen'}
    assert all(sid.startswith('MT') for sid in published.values())

    # A second publisher for the rules to leave out: only the presenter may
    # publish, unless invited as a speaker (local_video.publishing).
    service.registry.find_room('podium-e2e').speakers.add('attendee-other')
    other.evaluate(
        JOIN, [make_token(lv_config, 'attendee-other', 'podium-e2e'), signal, quiet]
    )
    other.evaluate(PUBLISH, False)

    viewer.evaluate(
        JOIN,
        [
            make_token(lv_config, 'attendee-viewer', 'podium-e2e'),
            signal,
            {**quiet, 'automaticSubscription': False},
        ],
    )
    # An attendee who tries anyway gets Twilio's 53300 from publishTrack().
    assert viewer.evaluate(REFUSED)[:2] == ['TwilioError', 53300]
    started = time.monotonic()
    client.video.v1.rooms(room.sid).participants(
        'attendee-viewer'
    ).subscribe_rules.update(rules=[{'type': 'include', 'publisher': 'presenter'}])

    stats = wait_until(
        viewer,
        """async () => {
      const stats = await ("""
        + STATS
        + """)();
      const videos = stats.filter((s) => s.kind === 'video' && s.framesDecoded > 0);
      const audio = stats.filter((s) => s.kind === 'audio' && s.packetsReceived > 0);
      return videos.length >= 2 && audio.length >= 1 ? stats : null;
    }""",
    )
    first_frames = time.monotonic() - started
    print(
        f'subscribe rule -> both videos decoded, audio arriving: {first_frames:.2f} s'
    )

    subscribed = viewer.evaluate('window.subscribed')
    assert sorted(t['name'] for t in subscribed) == ['camera', 'microphone', 'screen']
    assert {t['identity'] for t in subscribed} == {'presenter'}
    assert {t['sid'] for t in subscribed} == set(published.values())
    # The other publisher's camera is not received at all.
    assert len([s for s in stats if s['kind'] == 'video']) == 2

    # Callbacks told the webhooks side about every track, with its name.
    names = set()
    deadline = time.monotonic() + 10
    while len(names) < 4 and time.monotonic() < deadline:
        params = sink.next()['params']
        if params['StatusCallbackEvent'] == 'track-added':
            names.add((params['ParticipantIdentity'], params['TrackName']))
    assert {
        ('presenter', 'camera'),
        ('presenter', 'microphone'),
        ('presenter', 'screen'),
        ('attendee-other', 'camera'),
    } <= names

    for page in (presenter, other, viewer):
        page.evaluate('window.room.disconnect()')
        page.context.close()


def test_media_comes_back_after_janus_dies(
    browser, static_site, janus_service, lv_config
):
    service, url, client = janus_service
    signal = url.replace('http://', 'ws://') + '/video/signal'
    client.video.v1.rooms.create(unique_name='podium-restart')
    presenter = open_page(browser, static_site)
    viewer = open_page(browser, static_site)
    quiet = {'audio': False, 'video': False}
    presenter.evaluate(
        JOIN, [make_token(lv_config, 'presenter', 'podium-restart'), signal, quiet]
    )
    presenter.evaluate(PUBLISH, True)
    viewer.evaluate(
        JOIN, [make_token(lv_config, 'viewer', 'podium-restart'), signal, quiet]
    )
    decoded = (
        """async () => {
      const stats = await ("""
        + STATS
        + """)();
      return stats.filter((s) => s.kind === 'video' && s.framesDecoded > 0).length >= 2;
    }"""
    )
    wait_until(viewer, decoded)
    old_pc = viewer.evaluate('window.room._subPc !== null')
    assert old_pc

    process = service.media.process
    os.kill(process.pid, signal_module.SIGKILL)  # our own child, by its pid
    for page in (presenter, viewer):
        wait_until(
            page, """() => window.lv.events.some((e) => e[0] === 'reconnected')"""
        )
    assert process.restarts == 1
    for page in (presenter, viewer):
        kinds = [e[0] for e in page.evaluate('window.lv.events')]
        assert kinds[:2] == ['reconnecting', 'reconnected']
    wait_until(viewer, decoded)
    for page in (presenter, viewer):
        page.evaluate('window.room.disconnect()')
        page.context.close()
