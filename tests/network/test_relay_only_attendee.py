"""An attendee on another network, whose firewall lets through only https and TURN,
watches the presentation through the TURN relay.

The test builds that network itself: a namespace `podium-att-<hex>` (the
attendee's machine) joined to this one by a veth pair in 10.213.0.0/16. nginx (TLS,
with a throwaway certificate only the two browsers trust) and coturn listen on the
host side of the pair; iptables in the namespace drops UDP and TCP to and from
Janus's media address. The attendee's Chromium runs inside the namespace; the
presenter's runs here, as usual.
"""

from __future__ import annotations

import os
import secrets
import shutil
import socket
import ssl
import subprocess
import sys
from pathlib import Path

import httpx
import pytest

from launcher import Ports, Stack, StackError
from local_video.janus_config import detect_interface_ip
from tests.browser.browser_support import (
    CHROMIUM,
    CHROMIUM_ARGS,
    new_page,
    wait_media_flowing,
    wait_video_playing,
)
from tests.integration.conftest import HTTP_TIMEOUT, SMALL_STACK
from tests.network.certificates import self_signed
from tests.network.netns import NamespaceHost
from tests.network.turn_server import TurnServer

pytestmark = [pytest.mark.browser, pytest.mark.slow, pytest.mark.timeout(90)]

# The selected ICE candidate pair of every open connection: local candidate type.
SELECTED_CANDIDATES = """
async () => {
  const out = [];
  for (const pc of (window.__pcs || [])) {
    if (pc.connectionState !== 'connected') continue;
    const stats = await pc.getStats();
    let pair = null;
    stats.forEach((s) => {
      if (s.type === 'transport' && s.selectedCandidatePairId) {
        pair = stats.get(s.selectedCandidatePairId);
      }
    });
    if (!pair) {
      stats.forEach((s) => {
        if (s.type === 'candidate-pair' && s.nominated && s.state === 'succeeded') {
          pair = s;
        }
      });
    }
    const local = pair && stats.get(pair.localCandidateId);
    const remote = pair && stats.get(pair.remoteCandidateId);
    out.push({
      local: local ? local.candidateType : null,
      relayProtocol: local ? local.relayProtocol || null : null,
      remote: remote ? `${remote.address}:${remote.port}` : null,
    });
  }
  return out;
}
"""


# What each recorded connection looks like, for failure reports.
CONNECTIONS = """
async () => {
  const out = [];
  for (const pc of (window.__pcs || [])) {
    const candidates = [];
    (await pc.getStats()).forEach((s) => {
      if (s.type.endsWith('candidate')) {
        candidates.push(`${s.type} ${s.candidateType} ${s.address}:${s.port}`);
      }
    });
    out.push({state: pc.connectionState, ice: pc.iceConnectionState,
              servers: pc.getConfiguration().iceServers.map((s) => s.urls),
              candidates});
  }
  return out;
}
"""


def free_port_on(host: str, kind: int = socket.SOCK_STREAM) -> int:
    with socket.socket(socket.AF_INET, kind) as sock:
        sock.bind((host, 0))
        return sock.getsockname()[1]


def reachable_from(attendee: NamespaceHost, host: str, port: int) -> str:
    """Connect over TCP from inside the namespace: 'open', 'refused' or 'dropped'."""
    probe = (
        'import socket,sys\n'
        's=socket.socket(); s.settimeout(1.5)\n'
        'try:\n'
        f'    s.connect(({host!r}, {port})); print("open")\n'
        'except ConnectionRefusedError: print("refused")\n'
        'except OSError: print("dropped")\n'
    )
    out = subprocess.run(
        attendee.exec_argv(sys.executable, '-c', probe),
        capture_output=True, text=True, timeout=10, check=True,
    )  # fmt: skip
    return out.stdout.strip()


@pytest.fixture(scope='module')
def janus_ip() -> str:
    return detect_interface_ip(os.environ.get('PODIUM_JANUS_INTERFACE', ''))


@pytest.fixture(scope='module')
def attendee_host(janus_ip):
    if os.geteuid() != 0:
        pytest.skip('building a network namespace needs root')
    for binary in ('ip', 'iptables', 'janus', 'nginx', 'redis-server', 'openssl'):
        if shutil.which(binary) is None:
            pytest.fail(f'{binary} is not installed: run bin/podium test')
    # The namespace gets a route to Janus's address only so that the firewall,
    # not a missing route, is what keeps the attendee from reaching it.
    with NamespaceHost(routes=[janus_ip], blocked=[janus_ip]) as host:
        yield host


@pytest.fixture(scope='module')
def certificate(attendee_host, tmp_path_factory):
    return self_signed(tmp_path_factory.mktemp('tls'), attendee_host.host_ip)


@pytest.fixture(scope='module')
def turn(attendee_host, janus_ip, tmp_path_factory):
    base = 50000 + 100 * secrets.randbelow(99)
    settings = {
        'PODIUM_TURN_SECRET': secrets.token_urlsafe(32),
        'PODIUM_TURN_LISTEN_IP': attendee_host.host_ip,
        # Relayed media leaves from Janus's own address, as on a one-machine
        # install (relay-ip = the interface address). A relay address on the veth
        # would not work here: Janus's replies to a local address take that
        # address as their source, and coturn only lets in packets from Janus.
        'PODIUM_TURN_RELAY_IP': janus_ip,
        'PODIUM_TURN_PEER_IP': janus_ip,
        'PODIUM_TURN_PORT': str(free_port_on(attendee_host.host_ip)),
        'PODIUM_TURN_MIN_PORT': str(base),
        'PODIUM_TURN_MAX_PORT': str(base + 99),
        'PODIUM_PUBLIC_URL': f'https://{attendee_host.host_ip}',
    }
    with TurnServer(settings, tmp_path_factory.mktemp('coturn')) as server:
        yield server


@pytest.fixture(scope='module')
def stack(attendee_host, certificate, turn, tmp_path_factory):
    ports = Ports.free()
    host = attendee_host.host_ip
    turn_port = turn.settings['PODIUM_TURN_PORT']
    env = {
        **SMALL_STACK,
        'PODIUM_SECRET_KEY': secrets.token_urlsafe(32),
        # The one public URL: what both browsers open, on the veth address.
        'PODIUM_PUBLIC_URL': f'https://{host}:{ports.https}',
        'PODIUM_NGINX_LISTEN': host,
        'PODIUM_TLS_CERT': str(certificate.cert),
        'PODIUM_TLS_KEY': str(certificate.key),
        # local_video posts status callbacks to the public https URL.
        'SSL_CERT_FILE': str(certificate.cert),
        'PODIUM_TURN_URLS': (
            f'turn:{host}:{turn_port}?transport=udp,turn:{host}:{turn_port}?transport=tcp'
        ),
        'PODIUM_TURN_SECRET': turn.settings['PODIUM_TURN_SECRET'],
        'PODIUM_TURN_TTL': '600',
    }
    running = Stack(env, tmp_path_factory.mktemp('network-stack'), ports)
    assert running.backend == 'local'
    try:
        running.start()
    except StackError as ex:
        pytest.fail(f'the stack did not start: {ex}')
    try:
        yield running
    finally:
        running.stop()


@pytest.fixture(scope='module')
def browsers(attendee_host, certificate, tmp_path_factory):
    """(presenter's Chromium here, attendee's Chromium inside the namespace)."""
    sync_api = pytest.importorskip('playwright.sync_api')
    if not Path(CHROMIUM).exists():
        pytest.skip('Debian chromium is not installed')
    wrapper = attendee_host.wrapper(tmp_path_factory.mktemp('bin'), CHROMIUM)
    # Only this test's certificate is trusted, by its key; no blanket ignore.
    args = CHROMIUM_ARGS + certificate.chromium_args()
    with sync_api.sync_playwright() as playwright:
        presenter = playwright.chromium.launch(
            executable_path=CHROMIUM, headless=True, args=args
        )
        try:
            attendee = playwright.chromium.launch(
                executable_path=str(wrapper), headless=True, args=args
            )
            try:
                yield presenter, attendee
            finally:
                attendee.close()
        finally:
            presenter.close()


def test_attendee_behind_a_firewall_watches_through_the_turn_relay(
    stack, attendee_host, janus_ip, turn, browsers
):
    presenter_browser, attendee_browser = browsers
    # The attendee's firewall: Janus's address is dropped (a connection times out
    # instead of being refused), nginx on the veth address answers.
    assert reachable_from(attendee_host, janus_ip, 9) == 'dropped'
    assert reachable_from(attendee_host, attendee_host.host_ip, stack.ports.https) == (
        'open'
    )

    with httpx.Client(timeout=HTTP_TIMEOUT, verify=trusting(stack)) as api:
        created = api.post(stack.url + '/api/presentations', json={'title': 'Far away'})
    assert created.status_code == 201, created.text
    presentation = created.json()

    pages = []
    try:
        presenter = new_page(presenter_browser)
        pages.append(presenter)
        presenter.goto(presentation['presenter_url'])
        presenter.click('#start')
        presenter.wait_for_selector('#stop', state='visible')

        attendee = new_page(attendee_browser)
        pages.append(attendee)
        attendee.goto(presentation['attendee_url'])
        attendee.click('#join')
        wait_video_playing(attendee, '#screen-video', timeout=20)
        wait_video_playing(attendee, '#camera-video', timeout=20)
        stats = wait_media_flowing(attendee, videos=2, audios=1, timeout=20)
        assert len(stats['video']) == 2

        selected = attendee.evaluate(SELECTED_CANDIDATES)
        assert selected, 'the attendee has no connected peer connection'
        assert all(pair['local'] == 'relay' for pair in selected), selected
        # Relayed to Janus's own address, the one the attendee cannot reach.
        assert all(pair['remote'].startswith(janus_ip + ':') for pair in selected)
        errors = [(p.url, e) for p in pages for e in p.errors]
        assert not errors, f'uncaught errors in pages: {errors}'
    except AssertionError:
        print('coturn log:\n' + turn.log_tail())
        for page in pages:
            print(page.url, page.evaluate(CONNECTIONS))
        raise
    finally:
        for page in pages:
            page.context.close()


def trusting(stack: Stack) -> ssl.SSLContext:
    """Return a TLS context that trusts exactly the stack's certificate."""
    return ssl.create_default_context(cafile=stack.settings['PODIUM_TLS_CERT'])
