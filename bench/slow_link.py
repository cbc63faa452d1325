"""Adaptive layers bench: what a slow attendee gets, and what it costs the others.

The slow-link test bed of tests/network: the local stack behind nginx (TLS) and
coturn on a veth pair; one attendee's Chromium in its own network namespace, all its
media through the TURN relay on the veth, its downlink shaped there (tc tbf for the
rate, iptables statistic for loss; this kernel has no netem, so no added delay); one
unshaped attendee and the presenter (Chromium's fake camera + screen, 720p) here.

Per condition: the link is shaped at t0; the slow attendee's camera is sampled every
second until its decoded height drops (step-down time), then after SETTLE seconds
both attendees are measured over WINDOW seconds (decoded fps and height of camera
and screen, freezes per minute and frozen seconds from inbound-rtp freezeCount /
totalFreezesDuration, audio concealment = concealedSamples / totalSamplesReceived),
with the presenter's video send bitrate; then the shaping is removed and the time
until the camera is back on its top layer is the step-up time. Run as root from the
repository root, on a quiet machine (one media scenario at a time):

    .venv/bin/python -m bench.slow_link [--quick] [--json out.json]
"""

from __future__ import annotations

import argparse
import json
import os
import secrets
import ssl
import sys
import tempfile
import time
from pathlib import Path

import httpx

from launcher import Ports, Stack
from local_video.janus_config import detect_interface_ip
from tests.browser.browser_support import CHROMIUM, CHROMIUM_ARGS, new_page
from tests.integration.conftest import SMALL_STACK
from tests.network import shaping
from tests.network.certificates import self_signed
from tests.network.netns import NamespaceHost
from tests.network.turn_server import TurnServer

# (label, --only name, shaping)
CONDITIONS = (
    ('300 kbit/s', '300', {'kbit': 300}),
    ('800 kbit/s', '800', {'kbit': 800}),
    ('2 Mbit/s', '2000', {'kbit': 2000}),
    ('5 % loss', 'loss5', {'loss': 5}),
)

# Cumulative receive counters of the camera, screen and voice, by element.
RECEIVED = """async () => {
  const ids = {};
  for (const [name, id] of [['camera', 'camera-video'], ['screen', 'screen-video'],
                            ['audio', 'presenter-audio']]) {
    const el = document.getElementById(id);
    const track = el && el.srcObject && el.srcObject.getTracks()[0];
    if (track) ids[track.id] = name;
  }
  const out = { at: performance.now() / 1000 };
  for (const pc of (window.__pcs || [])) {
    if (pc.connectionState === 'closed') continue;
    (await pc.getStats()).forEach((s) => {
      if (s.type !== 'inbound-rtp' || !ids[s.trackIdentifier]) return;
      out[ids[s.trackIdentifier]] = {
        frames: s.framesDecoded || 0, height: s.frameHeight || 0,
        freezes: s.freezeCount || 0, frozen: s.totalFreezesDuration || 0,
        concealed: s.concealedSamples || 0, samples: s.totalSamplesReceived || 0,
        lost: s.packetsLost || 0, received: s.packetsReceived || 0,
        bytes: s.bytesReceived || 0, pli: s.pliCount || 0, nack: s.nackCount || 0,
        jitter: 1000 * (s.jitter || 0),
      };
    });
  }
  return out;
}"""

# Bytes the presenter's video encoders have sent, all layers.
SENT = """async () => {
  let bytes = 0, keyframes = 0;
  for (const pc of (window.__pcs || [])) {
    if (pc.connectionState === 'closed') continue;
    (await pc.getStats()).forEach((s) => {
      if (s.type !== 'outbound-rtp' || s.kind !== 'video') return;
      bytes += s.bytesSent || 0;
      keyframes += s.keyFramesEncoded || 0;
    });
  }
  return { at: performance.now() / 1000, bytes, keyframes };
}"""


def window_figures(first: dict, last: dict) -> dict:
    """Rates over a window from two RECEIVED samples."""
    seconds = last['at'] - first['at']
    out = {'seconds': round(seconds, 1)}
    for name in ('camera', 'screen'):
        a, b = first.get(name), last.get(name)
        if not a or not b:
            out[name] = None
            continue
        out[name] = {
            'fps': round((b['frames'] - a['frames']) / seconds, 1),
            'height': b['height'],
            'freezes_per_min': round((b['freezes'] - a['freezes']) * 60 / seconds, 1),
            'frozen_s': round(b['frozen'] - a['frozen'], 1),
            'loss_pct': _loss(a, b),
            'kbps': round((b['bytes'] - a['bytes']) * 8 / 1000 / seconds),
            'jitter_ms': round(b['jitter'], 1),
        }
    a, b = first.get('audio'), last.get('audio')
    if a and b and b['samples'] > a['samples']:
        out['audio_concealed_pct'] = round(
            100 * (b['concealed'] - a['concealed']) / (b['samples'] - a['samples']), 1
        )
    else:
        out['audio_concealed_pct'] = None  # no audio received at all
    return out


def timeline_rows(first: dict, samples: list[dict]) -> list[str]:
    """One line per second: camera and screen height, frames and freezes in it."""
    rows, before = [], first
    for now in samples:
        cells = [f'{now["at"] - first["at"]:5.1f}s']
        for name in ('camera', 'screen'):
            a, b = before.get(name) or {}, now.get(name) or {}
            cells.append(
                f'{name} {b.get("height", 0)}p'
                f' {b.get("frames", 0) - a.get("frames", 0):2d}f'
                f' {b.get("freezes", 0) - a.get("freezes", 0)}z'
                f' {b.get("lost", 0) - a.get("lost", 0):3d}lost'
                f' {b.get("jitter", 0):5.1f}ms'
                f' {b.get("pli", 0) - a.get("pli", 0)}pli'
                f' {b.get("nack", 0) - a.get("nack", 0):2d}nack'
            )
        if 'sent' in now and 'sent' in before:  # the presenter's keyframes, all layers
            cells.append(f'{now["sent"]["keyframes"] - before["sent"]["keyframes"]}kf')
        rows.append(' | '.join(cells))
        before = now
    return rows


def _loss(a: dict, b: dict) -> float:
    lost, got = b['lost'] - a['lost'], b['received'] - a['received']
    return round(100 * lost / (lost + got), 1) if lost + got > 0 else 0.0


def send_kbps(first: dict, last: dict) -> float:
    seconds = last['at'] - first['at']
    return round((last['bytes'] - first['bytes']) * 8 / 1000 / seconds)


def janus_pid(stack) -> int | None:
    """The Janus that local_video started (a child of its process)."""
    parent = stack.process('local_video').pid
    for entry in Path('/proc').iterdir():
        if not entry.name.isdigit():
            continue
        try:
            fields = (entry / 'stat').read_text().rsplit(')', 1)[1].split()
            comm = (entry / 'comm').read_text().strip()
        except OSError:
            continue
        if comm == 'janus' and int(fields[1]) == parent:
            return int(entry.name)
    return None


def cpu_seconds(pid: int | None) -> float:
    if pid is None:
        return 0.0
    fields = Path(f'/proc/{pid}/stat').read_text().rsplit(')', 1)[1].split()
    return (int(fields[11]) + int(fields[12])) / os.sysconf('SC_CLK_TCK')


def wait_for(predicate, timeout: float, interval: float = 0.5):
    """Poll; return (value, seconds waited) or (None, timeout)."""
    start = time.monotonic()
    while time.monotonic() - start < timeout:
        value = predicate()
        if value:
            return value, time.monotonic() - start
        time.sleep(interval)
    return None, timeout


def run(quick: bool, conditions=CONDITIONS, timeline: bool = False) -> dict:
    window = 20 if quick else 60
    settle = 8 if quick else 15
    janus_ip = detect_interface_ip(os.environ.get('PODIUM_JANUS_INTERFACE', ''))
    folder = Path(tempfile.mkdtemp(prefix='podium-slow-link-'))
    # local_video.log there has a line per layer decision ("layers ... rung a -> b").
    print(f'stack folder: {folder}', file=sys.stderr, flush=True)
    from playwright.sync_api import sync_playwright

    results: dict = {'window_s': window, 'settle_s': settle, 'conditions': {}}
    with NamespaceHost(routes=[janus_ip], blocked=[janus_ip]) as host:
        cert = self_signed(folder / 'tls', host.host_ip)
        base = 50000 + 100 * secrets.randbelow(99)
        turn_settings = {
            'PODIUM_TURN_SECRET': secrets.token_urlsafe(32),
            'PODIUM_TURN_LISTEN_IP': host.host_ip,
            'PODIUM_TURN_RELAY_IP': janus_ip,
            'PODIUM_TURN_PEER_IP': janus_ip,
            'PODIUM_TURN_PORT': str(40000 + secrets.randbelow(9000)),
            'PODIUM_TURN_MIN_PORT': str(base),
            'PODIUM_TURN_MAX_PORT': str(base + 99),
            'PODIUM_PUBLIC_URL': f'https://{host.host_ip}',
        }
        with TurnServer(turn_settings, folder / 'coturn') as turn:
            ports = Ports.free()
            port = turn.settings['PODIUM_TURN_PORT']
            env = {
                **SMALL_STACK,
                'PODIUM_SECRET_KEY': secrets.token_urlsafe(32),
                'PODIUM_PUBLIC_URL': f'https://{host.host_ip}:{ports.https}',
                'PODIUM_NGINX_LISTEN': host.host_ip,
                'PODIUM_TLS_CERT': str(cert.cert),
                'PODIUM_TLS_KEY': str(cert.key),
                'SSL_CERT_FILE': str(cert.cert),
                'PODIUM_TURN_URLS': f'turn:{host.host_ip}:{port}?transport=udp',
                'PODIUM_TURN_SECRET': turn.settings['PODIUM_TURN_SECRET'],
                'PODIUM_TURN_TTL': '600',
            }
            stack = Stack(env, folder / 'stack', ports)
            stack.start()
            try:
                with sync_playwright() as playwright:
                    results['conditions'] = _measure(
                        playwright,
                        stack,
                        host,
                        cert,
                        window,
                        settle,
                        conditions,
                        timeline,
                    )
            finally:
                stack.stop()
    return results


def _measure(
    playwright, stack, host, cert, window, settle, conditions, timeline
) -> dict:
    args = CHROMIUM_ARGS + cert.chromium_args()
    here = playwright.chromium.launch(executable_path=CHROMIUM, args=args)
    wrapper = host.wrapper(Path(tempfile.mkdtemp()), CHROMIUM)
    far = playwright.chromium.launch(executable_path=str(wrapper), args=args)
    tls = ssl.create_default_context(cafile=str(cert.cert))
    with httpx.Client(verify=tls, timeout=10) as api:
        presentation = api.post(
            stack.url + '/api/presentations', json={'title': 'Bench'}
        ).json()
    presenter = new_page(here)
    presenter.goto(presentation['presenter_url'])
    presenter.click('#start')
    presenter.wait_for_selector('#stop', state='visible')
    fast, slow = new_page(here), new_page(far)
    for page in (fast, slow):
        page.goto(presentation['attendee_url'])
        page.click('#join')

    def camera_height(page) -> int:
        return (page.evaluate(RECEIVED).get('camera') or {}).get('height', 0)

    _, _ = wait_for(lambda: min(camera_height(fast), camera_height(slow)) >= 540, 60)
    top = camera_height(fast)
    out = {}
    janus = janus_pid(stack)
    # Baseline: the presenter's send rate with every attendee on a clean link.
    s0, c0, t0 = presenter.evaluate(SENT), cpu_seconds(janus), time.monotonic()
    time.sleep(10)
    out['clean'] = {
        'presenter_send_kbps': send_kbps(s0, presenter.evaluate(SENT)),
        'janus_cpu_pct': round(
            100 * (cpu_seconds(janus) - c0) / (time.monotonic() - t0), 1
        ),
    }
    for label, _, shape in conditions:
        print(f'-- {label}', file=sys.stderr, flush=True)
        if 'kbit' in shape:
            shaping.limit_rate(host, shape['kbit'])
        if 'loss' in shape:
            shaping.add_loss(host, shape['loss'])
        _, down = wait_for(lambda: 0 < camera_height(slow) < top, 30)
        stepped = camera_height(slow) < top
        time.sleep(settle)
        a_slow, a_fast, a_sent = (
            slow.evaluate(RECEIVED),
            fast.evaluate(RECEIVED),
            presenter.evaluate(SENT),
        )
        c0, t0 = cpu_seconds(janus), time.monotonic()
        seconds = []
        while time.monotonic() - t0 < window:
            time.sleep(1)
            if timeline:  # the slow attendee second by second
                seconds.append(
                    {**slow.evaluate(RECEIVED), 'sent': presenter.evaluate(SENT)}
                )
        cpu = 100 * (cpu_seconds(janus) - c0) / (time.monotonic() - t0)
        b_slow, b_fast, b_sent = (
            slow.evaluate(RECEIVED),
            fast.evaluate(RECEIVED),
            presenter.evaluate(SENT),
        )
        shaping.clear(host)
        cleared, after = time.monotonic(), []
        while timeline and time.monotonic() - cleared < 3:  # before it climbs
            time.sleep(1)
            after.append(slow.evaluate(RECEIVED))
        wait_for(lambda: camera_height(slow) >= top, 45)
        up = time.monotonic() - cleared
        out[label] = {
            'step_down_s': round(down, 1) if stepped else None,
            'step_up_s': round(up, 1) if camera_height(slow) >= top else None,
            'slow': window_figures(a_slow, b_slow),
            'unshaped': window_figures(a_fast, b_fast),
            'presenter_send_kbps': send_kbps(a_sent, b_sent),
            'janus_cpu_pct': round(cpu, 1),
        }
        if timeline:
            out[label]['timeline'] = timeline_rows({**a_slow, 'sent': a_sent}, seconds)
            out[label]['recovered'] = timeline_rows(b_slow, after)
        print(json.dumps(out[label]), file=sys.stderr, flush=True)
        time.sleep(5)  # both back on top before the next condition
    for browser in (far, here):
        browser.close()
    return out


def main(argv: list[str] | None = None) -> None:
    parser = argparse.ArgumentParser(description=__doc__.split('\n\n')[0])
    parser.add_argument('--quick', action='store_true', help='20 s windows')
    parser.add_argument('--json', type=Path, help='write the figures here')
    parser.add_argument(
        '--only', help='conditions to run, e.g. 300,800,2000,loss5 (default: all)'
    )
    parser.add_argument(
        '--timeline', action='store_true', help="the slow attendee's every second"
    )
    options = parser.parse_args(argv)
    if os.geteuid() != 0:
        sys.exit('bench.slow_link builds a network namespace: run it as root')
    only = set(options.only.split(',')) if options.only else None
    conditions = [c for c in CONDITIONS if only is None or c[1] in only]
    if not conditions:
        sys.exit(f'--only names none of {", ".join(c[1] for c in CONDITIONS)}')
    results = run(options.quick, conditions, options.timeline)
    text = json.dumps(results, indent=2)
    if options.json:
        options.json.write_text(text)
    print(text)


if __name__ == '__main__':
    main()
