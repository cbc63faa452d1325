"""Drive Debian's Chromium with fake camera, microphone and screen through Playwright.

`playwright install` cannot download a browser here, so tests launch
`/usr/bin/chromium`. An init script records every RTCPeerConnection a page makes,
so tests can read WebRTC statistics without the page exposing anything.
"""

from __future__ import annotations

import time

CHROMIUM = '/usr/bin/chromium'
CHROMIUM_ARGS = [
    '--use-fake-device-for-media-stream',
    '--use-fake-ui-for-media-stream',
    '--autoplay-policy=no-user-gesture-required',
    '--no-sandbox',
    '--disable-gpu',
    '--no-first-run',
    '--disable-background-networking',
    '--disable-component-update',
    '--disable-sync',
    '--disable-quic',
    # Pages in background tabs keep decoding at full rate.
    '--disable-background-timer-throttling',
    '--disable-renderer-backgrounding',
    '--disable-backgrounding-occluded-windows',
]

# Keeps a list of the page's peer connections for statistics.
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

# Returns {video: [...], audio: [...]} for the inbound RTP streams of open connections;
# `key` (connection index + SSRC) follows one stream from one sample to the next.
INBOUND_STATS = """
async () => {
  const out = {video: [], audio: []};
  const pcs = window.__pcs || [];
  for (let i = 0; i < pcs.length; i += 1) {
    const pc = pcs[i];
    if (pc.connectionState === 'closed' || pc.signalingState === 'closed') continue;
    const report = await pc.getStats();
    report.forEach((s) => {
      if (s.type !== 'inbound-rtp') return;
      const key = `${i}:${s.ssrc}`;
      if (s.kind === 'video') {
        out.video.push({key, framesDecoded: s.framesDecoded || 0,
                        frameWidth: s.frameWidth || 0, mid: s.mid || '',
                        trackIdentifier: s.trackIdentifier || ''});
      } else if (s.kind === 'audio') {
        out.audio.push({key, packetsReceived: s.packetsReceived || 0,
                        mid: s.mid || '',
                        trackIdentifier: s.trackIdentifier || ''});
      }
    });
  }
  return out;
}
"""

# Returns what the page sends: [{kind, packetsSent}] of open connections.
OUTBOUND_STATS = """
async () => {
  const out = [];
  for (const pc of (window.__pcs || [])) {
    if (pc.signalingState === 'closed') continue;
    (await pc.getStats()).forEach((s) => {
      if (s.type !== 'outbound-rtp') return;
      out.push({kind: s.kind, packetsSent: s.packetsSent || 0});
    });
  }
  return out;
}
"""

# True once every recorded connection is closed and every track it received ended.
MEDIA_STOPPED = """
() => (window.__pcs || []).every((pc) => pc.signalingState === 'closed'
  && pc.getReceivers().every((r) => r.track.readyState === 'ended'))
"""

VIDEO_STATE = """
(selector) => {
  const v = document.querySelector(selector);
  if (!v) return null;
  const q = v.getVideoPlaybackQuality
    ? v.getVideoPlaybackQuality() : {totalVideoFrames: 0};
  const tracks = v.srcObject ? v.srcObject.getTracks() : [];
  return {width: v.videoWidth, frames: q.totalVideoFrames,
          track: tracks.length ? tracks[0].id : null,
          live: tracks.some((t) => t.readyState === 'live')};
}
"""


def launch(playwright):
    """Launch Chromium with fake media devices; return the Browser.

    Playwright gives every launch a fresh, temporary user-data-dir.
    """
    return playwright.chromium.launch(
        executable_path=CHROMIUM, headless=True, args=CHROMIUM_ARGS
    )


def new_page(browser):
    """Open a page in a fresh context that records its peer connections.

    `page.errors` collects uncaught exceptions and unhandled rejections.
    """
    context = browser.new_context(permissions=['camera', 'microphone'])
    context.add_init_script(RECORD_PEER_CONNECTIONS)
    page = context.new_page()
    page.errors = []
    page.on('pageerror', lambda ex: page.errors.append(str(ex)))
    return page


def video_state(page, selector: str) -> dict | None:
    return page.evaluate(VIDEO_STATE, selector)


def inbound_stats(page) -> dict:
    return page.evaluate(INBOUND_STATS)


def outbound_stats(page) -> list[dict]:
    return page.evaluate(OUTBOUND_STATS)


def media_stopped(page) -> bool:
    return page.evaluate(MEDIA_STOPPED)


def wait_until(
    predicate, timeout: float, interval: float = 0.1, what: str = 'condition'
):
    """Poll `predicate` until it returns a truthy value; return that value."""
    deadline = time.monotonic() + timeout
    last = None
    while True:
        last = predicate()
        if last:
            return last
        if time.monotonic() >= deadline:
            break
        time.sleep(interval)
    raise AssertionError(
        f'timed out after {timeout} s waiting for {what}; last value: {last!r}'
    )


def wait_video_playing(page, selector: str, timeout: float = 20.0) -> dict:
    """Wait until a <video> shows decoded frames that keep coming; return its state."""
    first = wait_until(
        lambda: (
            (s := video_state(page, selector))
            and s['live']
            and s['width'] > 0
            and s['frames'] > 0
            and s
        ),
        timeout,
        what=f'{selector} to show video',
    )
    return wait_until(
        lambda: (
            (s := video_state(page, selector))
            and s['track'] == first['track']
            and s['frames'] > first['frames']
            and s
        ),
        timeout,
        what=f'{selector} frames to keep rising',
    )


def wait_media_flowing(page, videos: int, audios: int, timeout: float = 20.0) -> dict:
    """Wait until `videos` inbound video streams decode more and more frames and
    `audios` audio streams receive more and more packets; return the last stats."""

    def flowing(stats: dict) -> bool:
        return (
            len([v for v in stats['video'] if v['framesDecoded'] > 0]) >= videos
            and len([a for a in stats['audio'] if a['packetsReceived'] > 0]) >= audios
        )

    first = wait_until(
        lambda: (s := inbound_stats(page)) and flowing(s) and s,
        timeout,
        what=f'{videos} video and {audios} audio streams to arrive',
    )
    before = {s['key']: s for s in first['video'] + first['audio']}

    def rising(stats: dict) -> bool:
        video = [
            v
            for v in stats['video']
            if v['key'] in before
            and v['framesDecoded'] > before[v['key']]['framesDecoded']
        ]
        audio = [
            a
            for a in stats['audio']
            if a['key'] in before
            and a['packetsReceived'] > before[a['key']]['packetsReceived']
        ]
        return len(video) >= videos and len(audio) >= audios

    return wait_until(
        lambda: (s := inbound_stats(page)) and rising(s) and s,
        timeout,
        what='decoded frames and audio packets to keep rising',
    )
