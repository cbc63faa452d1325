"""Join latency of the real pages on the local video backend.

    python -m bench.media.join_latency [--runs N] [--start-runs M] [--json FILE]

Starts Podium in local mode (`launcher.Stack`: Redis, the three services,
local_video with Janus, nginx, all on 127.0.0.1) and drives Debian's Chromium
with fake camera, microphone and screen through the pages, as users click:

(a) join: a presenter is live; an attendee page, loaded, clicks Join. Measured
    from the click to the first frame of the presenter's screen shown in
    `#screen-video` (requestVideoFrameCallback), and to the first decoded frame
    of that track (inbound-rtp framesDecoded > 0, polled every 10 ms in the page).
    One attendee at a time; each is closed after its run. N runs (default 20),
    after one warm-up run that is reported but not counted.
(b) start: an attendee joined and waits; the presenter, camera ready, clicks
    Start presenting. Measured from that click (presenter page) to the first
    frame shown at the waiting attendee. M runs (default 5), each on a new
    presentation. Both pages run in one browser on one machine, so their
    clocks (performance.timeOrigin + now) agree.

Times cover everything in between: screen capture (b), token request, the
signalling WebSocket, SDP with Janus, ICE/DTLS on loopback, subscribe rules,
the first key frame and its decoding. `run(runs)` returns a dict; the CLI prints
a table as well.
"""

from __future__ import annotations

import argparse
import os
import secrets
import shutil
import tempfile
import time
from pathlib import Path

import httpx

from bench.stats import percentile, print_report
from launcher import Ports, Stack
from tests.browser.browser_support import CHROMIUM
from tests.browser.browser_support import CHROMIUM_ARGS as TEST_CHROMIUM_ARGS

# The tests' flags, plus no throttling of background pages: several contexts
# share one browser here and their timers must run at full rate to be measured.
CHROMIUM_ARGS = [
    *TEST_CHROMIUM_ARGS,
    '--disable-background-timer-throttling',
    '--disable-renderer-backgrounding',
    '--disable-backgrounding-occluded-windows',
]
DEFAULT_RUNS = 20
DEFAULT_START_RUNS = 5
FRAME_TIMEOUT = 30.0

# Records the page's peer connections, so the page can read the receiver's stats.
RECORD_PEER_CONNECTIONS = """
(() => {
  const Original = window.RTCPeerConnection;
  if (!Original || Original.__podiumRecorded) return;
  window.__pcs = [];
  function Recorded(...args) {
    const pc = new Original(...args);
    window.__pcs.push(pc);
    return pc;
  }
  Recorded.prototype = Original.prototype;
  Object.setPrototypeOf(Recorded, Original);
  Recorded.__podiumRecorded = true;
  window.RTCPeerConnection = Recorded;
})();
"""

# In an attendee page: note when the screen first shows a frame and when its
# track first decodes one, as epoch milliseconds (`performance.timeOrigin` based).
WATCH_FIRST_FRAME = """() => {
  const clock = () => performance.timeOrigin + performance.now();
  const video = document.querySelector('#screen-video');
  const result = {attachedAt: null, shownAt: null, decodedAt: null};
  window.__firstFrame = result;
  video.requestVideoFrameCallback((now, meta) => {
    result.shownAt = performance.timeOrigin + (meta.presentationTime || now);
  });
  const timer = setInterval(async () => {
    const stream = video.srcObject;
    const track = stream && stream.getVideoTracks()[0];
    if (!track || result.decodedAt) return;
    if (!result.attachedAt) result.attachedAt = clock();
    for (const pc of window.__pcs || []) {
      const receiver = pc.getReceivers().find((r) => r.track === track);
      if (!receiver) continue;
      const askedAt = clock(); // the snapshot is at least this recent
      (await receiver.getStats()).forEach((s) => {
        if (s.type === 'inbound-rtp' && s.framesDecoded > 0 && !result.decodedAt) {
          result.decodedAt = askedAt;
          clearInterval(timer);
        }
      });
    }
  }, 10);
}"""

# In the presenter page: note when the page shows it is live (the Stop button).
WATCH_LIVE = """() => {
  window.__liveAt = null;
  const stop = document.querySelector('#stop');
  new MutationObserver((changes, observer) => {
    if (!stop.hidden) {
      window.__liveAt = performance.timeOrigin + performance.now();
      observer.disconnect();
    }
  }).observe(stop, {attributes: true});
}"""

# Notes when a button is clicked (capture phase: before the page's own handler).
WATCH_CLICK = """(selector) => {
  window.__clickedAt = null;
  document.querySelector(selector).addEventListener('click', () => {
    window.__clickedAt = performance.timeOrigin + performance.now();
  }, {capture: true, once: true});
}"""

# When the attendee page's token and subscribe-rules requests ended (epoch ms).
REQUESTS_DONE = """() => {
  const ends = {};
  for (const entry of performance.getEntriesByType('resource')) {
    const at = performance.timeOrigin + entry.responseEnd;
    if (entry.name.endsWith('/tokens')) ends.token = at;
    if (entry.name.endsWith('/subscribe-rules')) ends.rules = at;
  }
  return ends;
}"""


def _wait(predicate, timeout: float, what: str, interval: float = 0.02):
    deadline = time.monotonic() + timeout
    while time.monotonic() < deadline:
        value = predicate()
        if value:
            return value
        time.sleep(interval)
    raise TimeoutError(f'timed out after {timeout} s waiting for {what}')


def _stats(values: list[float]) -> dict:
    return {
        'n': len(values),
        'p50': round(percentile(values, 50), 1),
        'p95': round(percentile(values, 95), 1),
        'min': round(min(values), 1) if values else None,
        'max': round(max(values), 1) if values else None,
        'samples': [round(v, 1) for v in values],
    }


class Bench:
    """One local-mode stack and one Chromium; pages each in their own context."""

    def __init__(self, browser, stack: Stack):
        self.browser = browser
        self.stack = stack
        self.http = httpx.Client(base_url=stack.url, timeout=10.0)

    def page(self, url: str):
        context = self.browser.new_context(permissions=['camera', 'microphone'])
        context.add_init_script(RECORD_PEER_CONNECTIONS)
        page = context.new_page()
        page.goto(url)
        return page

    def create(self, title: str) -> dict:
        response = self.http.post('/api/presentations', json={'title': title})
        response.raise_for_status()
        return response.json()

    def end(self, presentation: dict) -> None:
        self.http.post(
            f'/api/presentations/{presentation["id"]}/end',
            json={'key': presentation['presenter_key']},
        )

    def present(self, presentation: dict):
        page = self.page(presentation['presenter_url'])
        page.click('#start')
        page.wait_for_selector('#stop', state='visible')
        return page

    @staticmethod
    def first_frame(page) -> dict:
        return _wait(
            lambda: (
                (r := page.evaluate('window.__firstFrame'))
                and r['shownAt']
                and r['decodedAt']
                and r
            ),
            FRAME_TIMEOUT,
            'the first frame of the screen',
        )

    def one_join(self, presentation: dict) -> dict:
        """Join once; return click -> first frame shown / decoded, in ms."""
        page = self.page(presentation['attendee_url'])
        try:
            page.wait_for_selector('#join:enabled')
            page.evaluate(WATCH_FIRST_FRAME)
            page.evaluate(WATCH_CLICK, '#join')
            page.click('#join')
            frame = self.first_frame(page)
            clicked = page.evaluate('window.__clickedAt')
            done = page.evaluate(REQUESTS_DONE)
            return {
                'shown_ms': frame['shownAt'] - clicked,
                'decoded_ms': frame['decodedAt'] - clicked,
                'attached_ms': frame['attachedAt'] - clicked,
                'token_ms': done.get('token', clicked) - clicked,
                'rules_ms': done.get('rules', clicked) - clicked,
            }
        finally:
            page.context.close()

    def one_start(self, number: int) -> dict:
        """Start presenting to one waiting attendee; return click -> first frame."""
        presentation = self.create(f'Start latency {number}')
        attendee = self.page(presentation['attendee_url'])
        presenter = self.page(presentation['presenter_url'])
        try:
            attendee.click('#join')
            _wait(
                lambda: attendee.inner_text('#status') == 'Waiting for the presenter',
                FRAME_TIMEOUT,
                'the attendee to wait for the presenter',
            )
            attendee.evaluate(WATCH_FIRST_FRAME)
            presenter.wait_for_selector('#start:enabled')
            presenter.evaluate(WATCH_CLICK, '#start')
            presenter.evaluate(WATCH_LIVE)
            presenter.click('#start')
            frame = self.first_frame(attendee)
            clicked = presenter.evaluate('window.__clickedAt')
            live = presenter.evaluate('window.__liveAt') or clicked
            return {
                'shown_ms': frame['shownAt'] - clicked,
                'decoded_ms': frame['decodedAt'] - clicked,
                'live_ms': live - clicked,
                'attached_ms': frame['attachedAt'] - clicked,
            }
        finally:
            presenter.context.close()
            attendee.context.close()
            self.end(presentation)

    def close(self) -> None:
        self.http.close()


def run(
    runs: int = DEFAULT_RUNS,
    start_runs: int = DEFAULT_START_RUNS,
    *,
    keep_logs: bool = False,
) -> dict:
    """Measure join and start latency; return the results as a dict."""
    from playwright.sync_api import sync_playwright

    if runs < 1 or start_runs < 1:
        raise ValueError('runs and start_runs must be at least 1')
    for binary in ('janus', 'nginx', 'redis-server'):
        if shutil.which(binary) is None:
            raise RuntimeError(f'{binary} is not installed')
    run_dir = Path(tempfile.mkdtemp(prefix='podium-join-latency-'))
    ports = Ports.free()
    # No TWILIO_* settings: the stack picks the local backend with its own credentials.
    env = {
        'PODIUM_PUBLIC_URL': f'http://127.0.0.1:{ports.http}',
        'PODIUM_GRACEFUL_TIMEOUT': '3',
        'PODIUM_SECRET_KEY': secrets.token_urlsafe(32),
    }
    stack = Stack(env, run_dir, ports)
    stack.start()
    try:
        with sync_playwright() as playwright:
            browser = playwright.chromium.launch(
                executable_path=CHROMIUM, headless=True, args=CHROMIUM_ARGS
            )
            bench = Bench(browser, stack)
            try:
                presentation = bench.create('Join latency')
                presenter = bench.present(presentation)
                warmup = bench.one_join(presentation)
                joins = [bench.one_join(presentation) for _ in range(runs)]
                presenter.context.close()
                bench.end(presentation)
                starts = [bench.one_start(n) for n in range(start_runs)]
            finally:
                bench.close()
                browser.close()
    finally:
        stack.stop()
        if keep_logs:
            print(f'logs kept in {run_dir / "logs"}')
        else:
            shutil.rmtree(run_dir, ignore_errors=True)
    return {
        'join': {
            'click_to_first_frame_shown_ms': _stats([j['shown_ms'] for j in joins]),
            'click_to_first_frame_decoded_ms': _stats([j['decoded_ms'] for j in joins]),
            'click_to_token_ms': _stats([j['token_ms'] for j in joins]),
            'click_to_track_attached_ms': _stats([j['attached_ms'] for j in joins]),
            'click_to_subscribe_rules_ms': _stats([j['rules_ms'] for j in joins]),
            'warmup_shown_ms': round(warmup['shown_ms'], 1),
        },
        'start': {
            'click_to_presenter_live_ms': _stats([s['live_ms'] for s in starts]),
            'click_to_track_attached_ms': _stats([s['attached_ms'] for s in starts]),
            'click_to_first_frame_shown_ms': _stats([s['shown_ms'] for s in starts]),
            'click_to_first_frame_decoded_ms': _stats(
                [s['decoded_ms'] for s in starts]
            ),
        },
        'setup': {
            'backend': 'local (local_video + Janus VideoRoom), through nginx',
            'browser': 'Debian Chromium, headless, fake devices, one context per page',
            'cpus': os.cpu_count(),
        },
    }


def table(report: dict) -> str:
    """Format the results as a Markdown table."""
    rows = [
        ('Join → screen frame shown', report['join']['click_to_first_frame_shown_ms']),
        (
            'Join → screen frame decoded',
            report['join']['click_to_first_frame_decoded_ms'],
        ),
        ('Join → token received', report['join']['click_to_token_ms']),
        ('Join → subscribe rules set', report['join']['click_to_subscribe_rules_ms']),
        ('Join → screen track attached', report['join']['click_to_track_attached_ms']),
        ('Start → presenter page live', report['start']['click_to_presenter_live_ms']),
        (
            'Start → track attached at waiting attendee',
            report['start']['click_to_track_attached_ms'],
        ),
        (
            'Start → frame shown at waiting attendee',
            report['start']['click_to_first_frame_shown_ms'],
        ),
        (
            'Start → frame decoded at waiting attendee',
            report['start']['click_to_first_frame_decoded_ms'],
        ),
    ]
    lines = [
        '| measure (ms) | n | p50 | p95 | min | max |',
        '|---|---|---|---|---|---|',
    ]
    for name, s in rows:
        lines.append(
            f'| {name} | {s["n"]} | {s["p50"]} | {s["p95"]} | {s["min"]} | {s["max"]} |'
        )
    return '\n'.join(lines)


def main(argv: list[str] | None = None) -> None:
    parser = argparse.ArgumentParser(description=__doc__.split('\n\n')[0])
    parser.add_argument(
        '--runs', type=int, default=DEFAULT_RUNS, help='joins to measure (>= 10)'
    )
    parser.add_argument(
        '--start-runs',
        type=int,
        default=DEFAULT_START_RUNS,
        help='presenter starts to measure (>= 5)',
    )
    parser.add_argument('--json', help='also write the results to this file')
    parser.add_argument(
        '--keep-logs', action='store_true', help="keep the stack's logs"
    )
    args = parser.parse_args(argv)
    report = run(args.runs, args.start_runs, keep_logs=args.keep_logs)
    print_report(report, table(report), args.json)


if __name__ == '__main__':
    main()
