"""nginx terminating TLS in front of the whole local-backend stack: every absolute
URL Podium hands out comes from PODIUM_PUBLIC_URL and works over https.

A throwaway self-signed certificate for 127.0.0.1 stands in for Let's Encrypt's;
clients here trust exactly that certificate.
"""

from __future__ import annotations

import base64
import hashlib
import hmac
import json
import secrets
import shutil
import ssl
import tempfile
import time
from pathlib import Path

import httpx
import pytest
from websockets.sync.client import connect

from launcher import Ports, Stack, StackError
from tests.browser.browser_support import wait_until
from tests.integration.conftest import (
    HTTP_TIMEOUT,
    SMALL_STACK,
    Callbacks,
    participant_sid,
    twilio_signature,
)
from tests.network.certificates import self_signed

pytestmark = [pytest.mark.integration, pytest.mark.slow]

TURN_SECRET = secrets.token_urlsafe(32)


@pytest.fixture(scope='module')
def stack(tmp_path_factory):
    for binary in ('janus', 'nginx', 'redis-server', 'openssl'):
        if shutil.which(binary) is None:
            pytest.fail(f'{binary} is not installed: run bin/podium test')
    certificate = self_signed(tmp_path_factory.mktemp('tls'), '127.0.0.1')
    ports = Ports.free()
    env = {
        **SMALL_STACK,
        'PODIUM_SECRET_KEY': secrets.token_urlsafe(32),
        'PODIUM_PUBLIC_URL': f'https://127.0.0.1:{ports.https}',
        'PODIUM_TLS_CERT': str(certificate.cert),
        'PODIUM_TLS_KEY': str(certificate.key),
        # local_video posts status callbacks to the public https URL.
        'SSL_CERT_FILE': str(certificate.cert),
        'PODIUM_STUN_URLS': 'stun:127.0.0.1:3478',
        'PODIUM_TURN_URLS': 'turn:127.0.0.1:3478?transport=udp',
        'PODIUM_TURN_SECRET': TURN_SECRET,
        'PODIUM_TURN_TTL': '600',
    }
    # nginx's workers run as nobody when the tests run as root: the challenge
    # folder must be readable by anyone, as /var/www/letsencrypt is.
    webroot = Path(tempfile.mkdtemp(prefix='podium-acme-'))
    webroot.chmod(0o755)
    env['PODIUM_ACME_WEBROOT'] = str(webroot)
    running = Stack(env, tmp_path_factory.mktemp('tls-stack'), ports)
    try:
        running.start()
    except StackError as ex:
        shutil.rmtree(webroot, ignore_errors=True)
        pytest.fail(f'the stack did not start: {ex}')
    try:
        yield running
    finally:
        running.stop()
        shutil.rmtree(webroot, ignore_errors=True)


@pytest.fixture(scope='module')
def trusted(stack) -> ssl.SSLContext:
    return ssl.create_default_context(cafile=stack.settings['PODIUM_TLS_CERT'])


@pytest.fixture
def api(stack, trusted):
    with httpx.Client(base_url=stack.url, timeout=HTTP_TIMEOUT, verify=trusted) as c:
        yield c


def create(api) -> dict:
    response = api.post('/api/presentations', json={'title': 'Over TLS'})
    assert response.status_code == 201, response.text
    return response.json()


def test_every_link_and_url_derives_from_the_public_https_url(stack, api, trusted):
    public = stack.url
    assert public.startswith('https://')
    presentation = create(api)
    pid = presentation['id']
    assert presentation['attendee_url'] == f'{public}/presentations/{pid}'
    assert presentation['presenter_url'].startswith(f'{public}/presentations/{pid}/')
    # Both links open over https.
    for link in (presentation['attendee_url'], presentation['presenter_url']):
        assert api.get(link.split('#')[0]).status_code == 200

    grant = api.post(f'/api/presentations/{pid}/tokens', json={'role': 'attendee'})
    assert grant.status_code == 200, grant.text
    body = grant.json()
    host = public.removeprefix('https://')
    assert body['signal_url'] == f'wss://{host}/video/signal'

    # The StatusCallback the token service gave the video service.
    video = httpx.get(
        f'http://127.0.0.1:{stack.ports.local_video}/v1/Rooms/{body["room"]}',
        auth=(
            stack.settings['TWILIO_API_KEY_SID'],
            stack.settings['TWILIO_API_KEY_SECRET'],
        ),
        timeout=HTTP_TIMEOUT,
    )
    assert video.status_code == 200, video.text
    assert video.json()['status_callback'] == f'{public}/webhooks/room-events'

    # The wss:// URL pages get works through nginx's TLS; joining makes local_video
    # post a signed callback to the public https URL, and the page's view counts it.
    with connect(body['signal_url'], ssl=trusted, open_timeout=5) as ws:
        ws.send(json.dumps({'type': 'connect', 'token': body['token']}))
        assert json.loads(ws.recv(timeout=5))['type'] == 'connected'
        wait_until(
            lambda: (
                api.get(f'/live/presentations/{pid}').json()['attendees']['count'] == 1
            ),
            10,
            what='the participant-connected callback to arrive over https',
        )


def test_callback_signatures_are_checked_against_the_public_url(stack, api):
    presentation = create(api)
    token = api.post(
        f'/api/presentations/{presentation["id"]}/tokens', json={'role': 'attendee'}
    ).json()
    callbacks = Callbacks(
        stack.settings['TWILIO_ACCOUNT_SID'],
        'RM' + secrets.token_hex(16),
        token['room'],
    )
    auth_token = stack.settings['TWILIO_AUTH_TOKEN']
    path = '/webhooks/room-events'

    def post(signed_url: str) -> int:
        form = callbacks.participant(
            'participant-connected',
            participant_sid(),
            'attendee-' + secrets.token_hex(8),
        )
        signature = twilio_signature(auth_token, signed_url, form)
        return api.post(path, data=form, headers={'X-Twilio-Signature': signature})

    # What nginx sees (http on loopback behind the TLS listener) must not matter.
    wrong = stack.url.replace('https://', 'http://') + path
    assert post(wrong).status_code == 403
    assert post(stack.url + path).status_code == 204


def test_turn_credentials_are_minted_per_participant(api):
    presentation = create(api)
    before = int(time.time())
    body = api.post(
        f'/api/presentations/{presentation["id"]}/tokens', json={'role': 'attendee'}
    ).json()
    stun, turn = body['ice_servers']
    assert stun == {'urls': ['stun:127.0.0.1:3478']}
    assert turn['urls'] == ['turn:127.0.0.1:3478?transport=udp']
    expiry, _, identity = turn['username'].partition(':')
    assert identity == body['identity']
    assert before + 600 <= int(expiry) <= int(time.time()) + 600
    digest = hmac.new(TURN_SECRET.encode(), turn['username'].encode(), hashlib.sha1)
    assert turn['credential'] == base64.b64encode(digest.digest()).decode()


def test_plain_http_serves_acme_challenges_and_redirects_the_rest(stack, api):
    plain = f'http://127.0.0.1:{stack.ports.http}'
    challenge = secrets.token_urlsafe(16)
    # What certbot --webroot -w PODIUM_ACME_WEBROOT writes.
    folder = Path(stack.settings['PODIUM_ACME_WEBROOT'], '.well-known/acme-challenge')
    folder.mkdir(mode=0o755, parents=True, exist_ok=True)
    (folder / challenge).write_text('proof-' + challenge)
    (folder / challenge).chmod(0o644)

    with httpx.Client(timeout=HTTP_TIMEOUT) as client:
        answer = client.get(f'{plain}/.well-known/acme-challenge/{challenge}')
        assert answer.status_code == 200
        assert answer.text == 'proof-' + challenge
        moved = client.get(f'{plain}/presentations/abc?x=1')
    assert moved.status_code == 301
    assert moved.headers['location'] == f'{stack.url}/presentations/abc?x=1'

    secure = api.get('/live/healthz')
    assert secure.status_code == 200
    assert secure.headers['strict-transport-security'] == 'max-age=63072000'
    assert secure.extensions['http_version'] in (b'HTTP/1.1', b'HTTP/2')
