"""Only the presenter publishes: anyone else is removed once, whatever the retries."""

from __future__ import annotations

import logging
from types import SimpleNamespace

import fakeredis
import pytest
import requests
from falcon import testing
from twilio.base.exceptions import TwilioRestException

from podium import publishing
from podium.room_state import RoomEvent
from podium.store import KICK_MARKER_TTL, Store, kick_key
from tests.unit.test_webhooks import (
    ATTENDEE,
    PRESENTER,
    ROOM,
    callback,
    participant,
    seed,
    send,
    track,
)
from webhooks.app import create_app
from webhooks.publish_guard import PublishGuard


class FakeRoomsClient:
    """Stands in for twilio-python's Client: records participant updates."""

    def __init__(self):
        self.updates: list[tuple[str, str, dict]] = []
        self.errors: list[Exception] = []
        self.video = SimpleNamespace(v1=SimpleNamespace(rooms=self._room))

    def _room(self, room_sid: str):
        def participants(participant_sid: str):
            def update(**fields):
                self.updates.append((room_sid, participant_sid, fields))
                if self.errors:
                    raise self.errors.pop(0)

            return SimpleNamespace(update=update)

        return SimpleNamespace(participants=participants)


def track_added(
    sid: str = ATTENDEE, identity: str = 'attendee-1', kind: str = 'audio'
) -> RoomEvent:
    return RoomEvent(
        'track-added',
        room_sid=ROOM,
        room_name='podium-abc',
        timestamp=1,
        participant_sid=sid,
        identity=identity,
        track_sid='MT' + kind,
        track_kind=kind,
    )


def twilio_error(status: int, code: int) -> TwilioRestException:
    return TwilioRestException(status, 'https://video.twilio.com/v1/Rooms', 'x', code)


@pytest.fixture
def rooms_client() -> FakeRoomsClient:
    return FakeRoomsClient()


@pytest.fixture
def guard(store, rooms_client) -> PublishGuard:
    return PublishGuard(store, rooms_client)


# The policy -------------------------------------------------------------------------


def test_only_the_presenter_may_publish():
    assert publishing.may_publish('presenter')
    assert not publishing.may_publish('attendee-1')
    assert not publishing.may_publish('')
    assert not publishing.may_publish('Presenter')


def test_invited_speakers_may_publish_too():
    assert publishing.may_publish('attendee-1', {'attendee-1'})
    assert not publishing.may_publish('attendee-2', {'attendee-1'})


# The marker (fakeredis) -------------------------------------------------------------


def test_a_kick_is_claimed_once_and_expires(store):
    assert store.claim_kick(ROOM, ATTENDEE)
    assert not store.claim_kick(ROOM, ATTENDEE)
    assert store.claim_kick(ROOM, PRESENTER)  # per participant
    ttl = store.client.ttl(kick_key(ROOM, ATTENDEE))
    assert 0 < ttl <= KICK_MARKER_TTL


def test_a_released_kick_can_be_claimed_again(store):
    assert store.claim_kick(ROOM, ATTENDEE)
    store.release_kick(ROOM, ATTENDEE)
    assert store.claim_kick(ROOM, ATTENDEE)


def test_the_marker_is_shared_by_every_store_on_one_redis():
    server = fakeredis.FakeServer()
    first, second = (
        Store(fakeredis.FakeRedis(server=server, decode_responses=True))
        for _ in range(2)
    )
    assert first.claim_kick(ROOM, ATTENDEE)
    assert not second.claim_kick(ROOM, ATTENDEE)


def test_a_marker_is_not_mistaken_for_an_open_room(store):
    store.claim_kick(ROOM, ATTENDEE)
    assert store.open_room_sids() == []


# The guard --------------------------------------------------------------------------


def test_an_attendee_publishing_is_disconnected_once(guard, rooms_client):
    assert guard.check(track_added())
    assert not guard.check(track_added())  # a duplicate callback
    assert not guard.check(track_added(kind='video'))  # its second track

    assert rooms_client.updates == [(ROOM, ATTENDEE, {'status': 'disconnected'})]


@pytest.mark.parametrize(
    'event',
    [
        track_added(PRESENTER, 'presenter'),
        RoomEvent('participant-connected', ROOM, 'podium-abc', 1, ATTENDEE, 'a-1'),
        RoomEvent(
            'track-enabled', ROOM, 'podium-abc', 1, ATTENDEE, 'a-1', 'MT1', 'audio'
        ),
    ],
)
def test_the_presenter_and_other_events_are_left_alone(guard, rooms_client, event):
    assert not guard.check(event)
    assert rooms_client.updates == []


def test_speakers_from_the_policy_are_left_alone(store, rooms_client):
    guard = PublishGuard(store, rooms_client, speakers=lambda event: {'attendee-1'})
    assert not guard.check(track_added(identity='attendee-1'))
    assert guard.check(track_added('PA' + '9' * 32, identity='attendee-2'))
    assert [u[1] for u in rooms_client.updates] == ['PA' + '9' * 32]


@pytest.mark.parametrize(
    'error', [twilio_error(500, 20500), twilio_error(429, 20429), requests.Timeout()]
)
def test_a_failed_kick_leaves_no_marker_so_the_next_callback_retries(
    guard, rooms_client, store, error, caplog
):
    rooms_client.errors.append(error)

    with caplog.at_level(logging.ERROR, logger='webhooks.publish_guard'):
        assert not guard.check(track_added())
    assert 'tries again' in caplog.text
    assert store.client.exists(kick_key(ROOM, ATTENDEE)) == 0

    assert guard.check(track_added())
    assert len(rooms_client.updates) == 2


def test_a_participant_already_gone_is_not_retried(guard, rooms_client, store):
    rooms_client.errors.append(twilio_error(404, 20404))

    assert not guard.check(track_added())
    assert not guard.check(track_added())

    assert len(rooms_client.updates) == 1


# Through the webhooks endpoint ------------------------------------------------------


@pytest.fixture
def client(webhooks_config, store, rooms_client) -> testing.TestClient:
    seed(store)
    return testing.TestClient(
        create_app(webhooks_config, store=store, client_factory=lambda _: rooms_client)
    )


def test_the_callback_is_merged_and_answered_even_if_the_kick_fails(
    client, store, rooms_client
):
    rooms_client.errors.append(requests.ConnectionError())
    form = callback('track-added', 2, **participant(ATTENDEE, 'attendee-1'), **track())

    assert send(client, form).status_code == 204
    stored = store.connected_participants(ROOM)
    assert [p['sid'] for p in stored] == [ATTENDEE]
    assert store.client.exists(kick_key(ROOM, ATTENDEE)) == 0

    assert send(client, form).status_code == 204  # Twilio's duplicate: retried
    assert len(rooms_client.updates) == 2
    assert send(client, form).status_code == 204
    assert len(rooms_client.updates) == 2


def test_the_presenters_tracks_are_never_kicked(client, rooms_client):
    form = callback('track-added', 2, **participant(PRESENTER, 'presenter'), **track())
    assert send(client, form).status_code == 204
    assert rooms_client.updates == []


def test_the_stage_policy_admits_only_accepted_slots():
    import fakeredis

    from podium import room_state as rs
    from podium import stage
    from podium.store import AudienceStore
    from podium.store import Store as RedisStore
    from webhooks.publish_guard import stage_speakers

    base = RedisStore(fakeredis.FakeRedis(decode_responses=True))
    base.create_presentation({'id': 'p1', 'title': 'T', 'created_at': '1'})
    audience = AudienceStore(base)
    policy = stage_speakers(audience, 3)

    def event(identity):
        return rs.RoomEvent(
            name='track-added',
            room_sid='RM1',
            room_name=rs.room_name_for('p1'),
            timestamp=0,
            identity=identity,
        )

    assert policy(event('speaker-1')) == []  # uninvited slot token: refused
    audience.change_stage(
        'p1',
        lambda s: stage.invite(s, 'attendee-a', 'Ann', slots=3, at_ms=0),
        now=1.0,
    )
    assert policy(event('speaker-1')) == []  # invited, not accepted yet
    audience.change_stage(
        'p1', lambda s: stage.accept(s, 'attendee-a', at_ms=0), now=1.0
    )
    assert policy(event('speaker-1')) == ['speaker-1']
    assert policy(event('speaker-2')) == ['speaker-1']  # not speaker-2
