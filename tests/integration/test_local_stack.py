"""The stack with no Twilio account: local_video (and Janus) behind the same nginx.

Proves the plumbing the launcher owns in local mode: credentials made up for the
run are shared by the token service, local_video and the webhooks service, so a
room made through the Rooms REST API reports back through nginx with a valid
signature.
"""

from __future__ import annotations

import httpx
import pytest

from launcher import Ports, Stack, StackError
from tests.integration.conftest import HTTP_TIMEOUT, SMALL_STACK, next_state, sse_events

pytestmark = [pytest.mark.integration, pytest.mark.timeout(60)]


@pytest.fixture(scope='module')
def local_stack(tmp_path_factory):
    ports = Ports.free()
    env = {**SMALL_STACK, 'PODIUM_PUBLIC_URL': f'http://127.0.0.1:{ports.http}'}
    running = Stack(env, tmp_path_factory.mktemp('local-stack'), ports)
    assert running.backend == 'local'
    try:
        running.start()
    except StackError as ex:
        pytest.fail(f'the local stack did not start: {ex}')
    try:
        yield running
    finally:
        running.stop()


def test_local_backend_reports_room_events_through_nginx(local_stack):
    with httpx.Client(base_url=local_stack.url, timeout=HTTP_TIMEOUT) as client:
        assert client.get('/video/healthz').status_code == 200
        presentation = client.post('/api/presentations', json={'title': 'Local'}).json()
        pid = presentation['id']
        grant = client.post(
            f'/api/presentations/{pid}/tokens', json={'role': 'attendee'}
        )
        assert grant.status_code == 200, grant.text
        assert grant.json()['backend'] == 'local'
        assert grant.json()['signal_url'] == (
            f'ws://127.0.0.1:{local_stack.ports.http}/video/signal'
        )

        with client.stream('GET', f'/live/presentations/{pid}/events') as stream:
            events = sse_events(stream)
            assert next_state(events)['room']['sid']
            ended = client.post(
                f'/api/presentations/{pid}/end',
                json={'key': presentation['presenter_key']},
            )
            assert ended.status_code == 200, ended.text
            # room-ended comes from local_video, signed with this run's auth token.
            final = next_state(events, lambda v: v['room']['status'] == 'completed')
            assert final['status'] == 'ended'
