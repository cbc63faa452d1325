"""Status callbacks: every Twilio field, signed over the exact URL, retried."""

from __future__ import annotations

import asyncio
import re

from twilio.request_validator import RequestValidator

from local_video.callbacks import CallbackSender
from local_video.rooms import Registry

from .conftest import CallbackSink
from .helpers import Signal, make_token

COMMON = {
    'AccountSid',
    'RoomName',
    'RoomSid',
    'RoomStatus',
    'RoomType',
    'StatusCallbackEvent',
    'Timestamp',
    'SequenceNumber',
}
TIMESTAMP = re.compile(r'^\d{4}-\d\d-\d\dT\d\d:\d\d:\d\d\.\d{3}Z$')


def test_room_and_participant_callbacks_are_signed(
    twilio, rest_server, lv_config, sink
):
    _, url = rest_server
    room = twilio.video.v1.rooms.create(unique_name='cb', status_callback=sink.url)
    alice = Signal(url, make_token(lv_config, 'alice', 'cb'))
    alice.leave()
    twilio.video.v1.rooms(room.sid).update(status='completed')
    seen = sink.until('room-ended')
    validator = RequestValidator(lv_config.auth_token)
    events = [s['params']['StatusCallbackEvent'] for s in seen]
    assert events == [
        'room-created',
        'participant-connected',
        'participant-disconnected',
        'room-ended',
    ]
    for item in seen:
        params = item['params']
        assert item['content_type'] == 'application/x-www-form-urlencoded'
        assert validator.validate(sink.url, params, item['signature'])
        assert not validator.validate(sink.url + '?x=1', params, item['signature'])
        assert COMMON <= set(params)
        assert params['RoomSid'] == room.sid and params['RoomName'] == 'cb'
        assert params['AccountSid'] == lv_config.account_sid
        assert TIMESTAMP.match(params['Timestamp'])
    connected, disconnected, ended = (s['params'] for s in seen[1:])
    assert connected['ParticipantIdentity'] == 'alice'
    assert connected['ParticipantStatus'] == 'connected'
    assert disconnected['ParticipantSid'] == connected['ParticipantSid']
    assert disconnected['ParticipantStatus'] == 'disconnected'
    assert disconnected['ParticipantDuration'].isdigit()
    assert ended['RoomStatus'] == 'completed' and ended['RoomDuration'].isdigit()
    assert [int(s['params']['SequenceNumber']) for s in seen] == [0, 1, 2, 3]


def test_unused_room_times_out(twilio, sink):
    # The rest_server fixture makes one timeout minute last 0.2 s.
    room = twilio.video.v1.rooms.create(
        unique_name='idle', unused_room_timeout=1, status_callback=sink.url
    )
    seen = sink.until('room-ended', timeout=10)
    assert seen[-1]['params']['RoomSid'] == room.sid
    assert twilio.video.v1.rooms(room.sid).fetch().status == 'completed'


def test_empty_room_times_out_after_the_last_participant(
    twilio, rest_server, lv_config, sink
):
    _, url = rest_server
    room = twilio.video.v1.rooms.create(
        unique_name='empty',
        empty_room_timeout=1,
        unused_room_timeout=60,
        status_callback=sink.url,
    )
    Signal(url, make_token(lv_config, 'alice', 'empty')).leave()
    events = [s['params']['StatusCallbackEvent'] for s in sink.until('room-ended')]
    assert events[-2:] == ['participant-disconnected', 'room-ended']
    assert twilio.video.v1.rooms(room.sid).fetch().status == 'completed'


def test_a_failing_receiver_is_retried():
    """The first two deliveries fail with 503; the third arrives."""

    class Flaky(CallbackSink):
        pass

    sink = Flaky()
    failures = {'left': 2}
    original = sink.server.RequestHandlerClass.do_POST

    def do_post(handler):
        if failures['left'] > 0:
            failures['left'] -= 1
            handler.rfile.read(int(handler.headers.get('Content-Length') or 0))
            handler.send_response(503)
            handler.end_headers()
            return
        original(handler)

    sink.server.RequestHandlerClass.do_POST = do_post

    async def run():
        sender = CallbackSender(
            'AC' + '0' * 32, 'token', retry_delays=(0.01, 0.01, 0.01)
        )
        registry = Registry(sender)
        await sender.start()
        registry.create_room('retry', status_callback=sink.url)
        await asyncio.to_thread(sink.next, 10)
        await sender.stop()

    try:
        asyncio.run(run())
        assert failures['left'] == 0
    finally:
        sink.server.shutdown()
        sink.server.server_close()
