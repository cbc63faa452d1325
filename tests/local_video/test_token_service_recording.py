"""The token service's recording calls, through twilio-python, against local_video.

The same calls go to Twilio; here local_video answers them. Recordings are seeded
(no Janus): the point is the shape of the Recording Rules and Compositions calls
and that the composition's callbacks reach the StatusCallback.
"""

from __future__ import annotations

import time
from types import SimpleNamespace

import httpx

from local_video.clock import utcnow
from local_video.recordings import Recording, recording_sid
from local_video.sids import track_sid
from tests.contract import openapi_schemas
from token_service.rooms import RECORD_ALL, RECORD_NONE, Rooms

from .test_compositions import tiny_sources

__all__ = ['tiny_sources']  # a fixture this module uses


def test_recording_on_off_and_the_composition(rest_server, twilio, sink, tiny_sources):
    service, _ = rest_server
    rooms = Rooms(twilio, SimpleNamespace(status_callback_url=sink.url))
    room = twilio.video.v1.rooms.create(unique_name='podium-rec-contract')
    rooms.set_recording(room.sid, True)
    assert twilio.video.v1.rooms(room.sid).recording_rules.fetch().rules == RECORD_ALL
    rooms.set_recording(room.sid, False)
    assert twilio.video.v1.rooms(room.sid).recording_rules.fetch().rules == RECORD_NONE

    start_us = int(time.time() * 1e6)
    for source in tiny_sources:
        service.recorder.book.add(
            Recording(
                sid=recording_sid(),
                room_sid=room.sid,
                participant_sid='PA' + '1' * 32,
                track_sid=track_sid(),
                track_name=source.track_name,
                kind=source.kind,
                mid='0',
                created_at=utcnow(),
                base='/nowhere',
                status='completed',
                started_at_us=start_us + int(source.start * 1e6),
                duration=source.duration,
                media_path=source.path,
            )
        )
    rooms.complete(room.sid)
    sid = rooms.compose(room.sid)
    assert sid.startswith('CJ')
    events = []
    while 'composition-available' not in events:
        params = sink.next(30)['params']
        if params.get('CompositionSid') == sid:
            events.append(params['StatusCallbackEvent'])
    assert events[0] == 'composition-enqueued'
    composition = twilio.video.v1.compositions(sid).fetch()
    assert composition.status == 'completed'
    assert composition.resolution == '1280x720'
    assert composition.audio_sources == ['microphone']
    assert set(composition.video_layout) == {'screen', 'camera'}

    # local_video's JSON fits Twilio's published schemas.
    auth = (twilio.username, twilio.password)
    base = twilio.video.base_url
    raw = httpx.get(f'{base}/v1/Compositions/{sid}', auth=auth).json()
    openapi_schemas.validate(raw, 'video.v1.composition')
    page = httpx.get(f'{base}/v1/Compositions', auth=auth).json()
    openapi_schemas.validate_list(page, 'compositions', 'video.v1.composition')
    recordings = httpx.get(f'{base}/v1/Rooms/{room.sid}/Recordings', auth=auth).json()
    openapi_schemas.validate_list(
        recordings, 'recordings', 'video.v1.room.room_recording'
    )
    one = recordings['recordings'][0]['sid']
    raw = httpx.get(f'{base}/v1/Recordings/{one}', auth=auth).json()
    openapi_schemas.validate(raw, 'video.v1.recording')
