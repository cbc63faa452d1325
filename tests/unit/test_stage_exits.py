"""Through the webhooks endpoint: speakers publish; leaving frees their slot."""

from __future__ import annotations

from datetime import UTC, datetime

import pytest
from falcon import testing

from podium import stage
from podium.store import AudienceStore
from tests.unit.test_publish_guard import FakeRoomsClient
from tests.unit.test_webhooks import (
    PRESENTATION,
    ROOM,
    callback,
    participant,
    seed,
    send,
    track,
)
from webhooks.app import create_app

SPEAKER = 'PA' + '5' * 32
LATER_SPEAKER = 'PA' + '6' * 32


def at_second(second: int) -> int:
    """The callback helper's Timestamp for `second`, in epoch milliseconds."""
    moment = datetime(2024, 5, 1, 12, second // 60, second % 60, tzinfo=UTC)
    return int(moment.timestamp() * 1000)


@pytest.fixture
def rooms_client() -> FakeRoomsClient:
    return FakeRoomsClient()


@pytest.fixture
def audience(store) -> AudienceStore:
    return AudienceStore(store)


@pytest.fixture
def client(webhooks_config, store, rooms_client) -> testing.TestClient:
    seed(store)
    return testing.TestClient(
        create_app(webhooks_config, store=store, client_factory=lambda _: rooms_client)
    )


def on_stage(audience: AudienceStore, identity: str, name: str, second: int) -> str:
    """Invite and accept `identity`; return its slot."""
    audience.change_stage(
        PRESENTATION,
        lambda s: stage.invite(s, identity, name, slots=3, at_ms=at_second(second)),
        now=1.0,
    )
    outcome = audience.change_stage(
        PRESENTATION,
        lambda s: stage.accept(s, identity, at_ms=at_second(second)),
        now=1.0,
    )
    return outcome.result


def speakers(audience: AudienceStore) -> list[str]:
    state, _ = audience.read_stage(PRESENTATION)
    return [seat['identity'] for seat in state['slots'].values()]


def test_an_accepted_speaker_publishes_and_an_unaccepted_slot_is_removed(
    client, audience, rooms_client
):
    assert on_stage(audience, 'attendee-a', 'Ann', 1) == '1'
    speaker = participant(SPEAKER, 'speaker-1')
    assert (
        send(client, callback('track-added', 2, **speaker, **track())).status_code
        == 204
    )
    assert rooms_client.updates == []

    stray = participant(LATER_SPEAKER, 'speaker-2')  # nobody accepted slot 2
    assert (
        send(client, callback('track-added', 3, **stray, **track())).status_code == 204
    )
    assert rooms_client.updates == [(ROOM, LATER_SPEAKER, {'status': 'disconnected'})]


def test_the_speaker_connection_leaving_frees_the_slot_once(client, audience, store):
    on_stage(audience, 'attendee-a', 'Ann', 1)
    speaker = participant(SPEAKER, 'speaker-1')
    send(client, callback('participant-connected', 2, **speaker))
    _, version = audience.read_stage(PRESENTATION)

    left = callback('participant-disconnected', 9, **speaker)
    assert send(client, left).status_code == 204
    assert speakers(audience) == []
    _, freed_version = audience.read_stage(PRESENTATION)
    assert freed_version > version

    assert send(client, left).status_code == 204  # a retry: nothing more changes
    assert audience.read_stage(PRESENTATION)[1] == freed_version


def test_a_late_disconnect_of_an_earlier_speaker_keeps_the_new_one(
    client, audience, rooms_client
):
    on_stage(audience, 'attendee-b', 'Bob', 20)  # slot 1, accepted at :20
    earlier = participant(SPEAKER, 'speaker-1')
    # Ann's connection on slot 1 left at :10; its callback arrives only now.
    assert (
        send(client, callback('participant-disconnected', 10, **earlier)).status_code
        == 204
    )
    assert speakers(audience) == ['attendee-b']


def test_an_invitation_is_not_withdrawn_by_a_disconnect(client, audience):
    audience.change_stage(
        PRESENTATION,
        lambda s: stage.invite(s, 'attendee-a', 'Ann', slots=3, at_ms=at_second(1)),
        now=1.0,
    )
    send(
        client,
        callback('participant-disconnected', 5, **participant(SPEAKER, 'speaker-1')),
    )
    assert speakers(audience) == ['attendee-a']


def test_attendees_leaving_leave_the_stage_alone(client, audience):
    on_stage(audience, 'attendee-a', 'Ann', 1)
    attendee = participant('PA' + '7' * 32, 'attendee-a')
    send(client, callback('participant-disconnected', 5, **attendee))
    assert speakers(audience) == ['attendee-a']
