"""The real stack for integration tests: redis-server, gunicorn, nginx, FakeTwilio.

The stack is `launcher.Stack`, the same code `bin/podium up` runs, on free
ports in a temporary run directory, in Twilio mode pointed at `FakeTwilio`.
"""

from __future__ import annotations

import base64
import hashlib
import hmac
import json
import os
import secrets
from collections.abc import Iterator
from datetime import UTC, datetime, timedelta
from pathlib import Path

import httpx
import pytest

from launcher import OWN_PREFIXES, Ports, Stack, StackError
from tests.conftest import TEST_ENV
from tests.fake_twilio import FakeTwilio

# One process per service keeps start-up under a second on two cores.
SMALL_STACK = {
    'PODIUM_TOKEN_WORKERS': '1',
    'PODIUM_WEBHOOKS_WORKERS': '1',
    'PODIUM_WEB_WORKERS': '1',
    'PODIUM_GRACEFUL_TIMEOUT': '3',
}
WEBHOOK_PATH = '/webhooks/room-events'
# Bounds every wait on the stack, so a broken stream fails instead of hanging.
HTTP_TIMEOUT = httpx.Timeout(10.0)


def stack_env(fake_twilio: FakeTwilio, ports: Ports, **extra: str) -> dict[str, str]:
    """Return the settings of a test stack on `ports`, in Twilio mode at the fake."""
    return {
        **TEST_ENV,
        **SMALL_STACK,
        'PODIUM_PUBLIC_URL': f'http://127.0.0.1:{ports.http}',
        'PODIUM_VIDEO_API_URL': fake_twilio.url,
        **extra,
    }


def launcher_environ(settings: dict[str, str], ports: Ports) -> dict[str, str]:
    """Return an environment for `python -m launcher up` in a subprocess."""
    env = {k: v for k, v in os.environ.items() if not k.startswith(OWN_PREFIXES)}
    env.update(settings)
    env.update(ports.as_env(settings.get('PODIUM_REDIS_URL')))
    return env


@pytest.fixture(scope='module')
def fake_twilio() -> Iterator[FakeTwilio]:
    with FakeTwilio(
        TEST_ENV['TWILIO_ACCOUNT_SID'],
        TEST_ENV['TWILIO_API_KEY_SID'],
        TEST_ENV['TWILIO_API_KEY_SECRET'],
    ) as fake:
        yield fake


@pytest.fixture(scope='module')
def stack(fake_twilio, tmp_path_factory) -> Iterator[Stack]:
    """Start the whole stack once per module; stop it (and check that) at the end."""
    ports = Ports.free()
    run_dir: Path = tmp_path_factory.mktemp('stack')
    running = Stack(stack_env(fake_twilio, ports), run_dir, ports)
    try:
        running.start()
    except StackError as ex:
        pytest.fail(f'the stack did not start: {ex}')
    try:
        yield running
    finally:
        running.stop()


@pytest.fixture
def client(stack) -> Iterator[httpx.Client]:
    """Return an HTTP client that talks to nginx, the stack's only public door."""
    with httpx.Client(base_url=stack.url, timeout=HTTP_TIMEOUT) as http:
        yield http


# Room status callbacks, signed the way Twilio signs them ---------------------------


def twilio_signature(auth_token: str, url: str, params: dict[str, str]) -> str:
    """Return X-Twilio-Signature: base64 HMAC-SHA1 of the URL plus sorted params."""
    message = url + ''.join(name + params[name] for name in sorted(params))
    digest = hmac.new(auth_token.encode(), message.encode(), hashlib.sha1).digest()
    return base64.b64encode(digest).decode()


class Callbacks:
    """Build the room status callbacks Twilio would send for one room."""

    def __init__(self, account_sid: str, room_sid: str, room_name: str):
        self.account_sid = account_sid
        self.room_sid = room_sid
        self.room_name = room_name
        self._sequence = 0
        self._start = datetime.now(UTC)

    def _next_timestamp(self) -> str:
        # Strictly increasing, so order never depends on arrival.
        moment = self._start + timedelta(milliseconds=10 * self._sequence)
        return moment.isoformat(timespec='milliseconds').replace('+00:00', 'Z')

    def event(self, name: str, **fields: str) -> dict[str, str]:
        form = {
            'AccountSid': self.account_sid,
            'RoomName': self.room_name,
            'RoomSid': self.room_sid,
            'RoomStatus': 'completed' if name == 'room-ended' else 'in-progress',
            'RoomType': 'group',
            'StatusCallbackEvent': name,
            'Timestamp': self._next_timestamp(),
            'SequenceNumber': str(self._sequence),
            **fields,
        }
        self._sequence += 1
        return form

    def participant(self, name: str, sid: str, identity: str) -> dict[str, str]:
        status = 'disconnected' if name == 'participant-disconnected' else 'connected'
        return self.event(
            name,
            ParticipantSid=sid,
            ParticipantIdentity=identity,
            ParticipantStatus=status,
        )

    def track(self, name: str, participant_sid: str, identity: str, kind: str) -> dict:
        return self.event(
            name,
            ParticipantSid=participant_sid,
            ParticipantIdentity=identity,
            ParticipantStatus='connected',
            TrackSid='MT' + secrets.token_hex(16),
            TrackKind=kind,
            TrackName=f'{kind}-main',
        )


def participant_sid() -> str:
    return 'PA' + secrets.token_hex(16)


def post_callback(
    client: httpx.Client,
    public_url: str,
    auth_token: str,
    form: dict[str, str],
    *,
    signed_url: str | None = None,
) -> httpx.Response:
    """POST a callback through nginx, signed against `signed_url` (default: public)."""
    signature = twilio_signature(
        auth_token, signed_url or public_url + WEBHOOK_PATH, form
    )
    return client.post(
        WEBHOOK_PATH,
        data=form,
        headers={
            'X-Twilio-Signature': signature,
            # What a TLS terminator in front of nginx would add; nginx overwrites the
            # scheme and appends to the chain, and the check must not care.
            'X-Forwarded-For': '203.0.113.7',
            'X-Forwarded-Proto': 'https',
            'User-Agent': 'TwilioProxy/1.1',
        },
    )


# Server-Sent Events ----------------------------------------------------------------


def sse_events(response: httpx.Response) -> Iterator[dict[str, str]]:
    """Yield the events of an SSE response as dicts (event, id, data, retry)."""
    event: dict[str, str] = {}
    for line in response.iter_lines():
        if not line:
            if event:
                yield event
            event = {}
            continue
        if line.startswith(':'):
            continue  # a comment, e.g. keep-alive
        name, _, value = line.partition(':')
        value = value[1:] if value.startswith(' ') else value
        event[name] = (
            event[name] + '\n' + value if name == 'data' and name in event else value
        )


def next_state(events: Iterator[dict[str, str]], predicate=lambda view: True) -> dict:
    """Return the view of the next `state` event that satisfies `predicate`.

    The client's read timeout bounds the wait: a missing event fails the test.
    """
    for event in events:
        if event.get('event') != 'state':
            continue
        view = json.loads(event['data'])
        # The id holds the version of each kind: state first (web_service.live).
        assert event['id'].split('.')[0] == str(view['version'])
        if predicate(view):
            return view
    raise AssertionError('the event stream ended')
