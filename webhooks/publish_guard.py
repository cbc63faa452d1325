"""Remove participants who publish without being allowed to.

Twilio lets every holder of an access token publish. When a `track-added`
callback comes from someone `podium.publishing.may_publish` refuses, the
participant is disconnected through the Rooms API (the same call reaches
local_video, which implements it too).

Once only: a Redis marker (`Store.claim_kick`, SET NX with a TTL) makes
duplicate and retried callbacks, in any worker, leave the REST call to the
first one. A failed call releases the marker, so the next callback about the
participant (its other track, a retry) tries again.

In the request, after the merge, not after answering: work left running after
the answer would be lost with its worker. On the event-loop worker the check
runs in a thread (`asyncio.to_thread`), so only this callback waits for it. The
kick is one REST call (~100 ms) bounded by KICK_TIMEOUT for connecting and again
for reading, so 8 s at worst: inside Twilio's 15 s callback timeout and the
worker's own 15 s. If it ever ran over, Twilio's retry finds the marker and is
answered at once.
"""

from __future__ import annotations

import logging
from collections.abc import Callable, Collection

import requests
from twilio.http.http_client import TwilioHttpClient
from twilio.rest import Client

from podium import publishing, room_state, stage
from podium.config import WebhooksConfig
from podium.room_state import RoomEvent
from podium.store import AudienceStore, Store
from podium.video_api import VIDEO_ERRORS, video_client

log = logging.getLogger(__name__)

DISCONNECTED = 'disconnected'
KICK_TIMEOUT = 4  # seconds, to connect and again to read (see above)


def kick_client(config: WebhooksConfig) -> Client:
    """Return the twilio-python client the guard removes participants with."""
    # The rebuild's client (podium.rebuild.rooms_client), with a shorter timeout.
    return video_client(config, TwilioHttpClient(timeout=KICK_TIMEOUT))


def no_speakers(event: RoomEvent) -> Collection[str]:
    """Return who besides the presenter may publish in the event's room: nobody yet."""
    return ()


def stage_speakers(
    audience: AudienceStore, slots: int
) -> Callable[[RoomEvent], Collection[str]]:
    """Return the policy admitting the slot identities of accepted speakers, read
    from the stage state in Redis at each callback: a replayed slot token cannot
    publish once its slot is freed (docs/stage.md)."""

    def speakers(event: RoomEvent) -> Collection[str]:
        presentation_id = room_state.presentation_id_for(event.room_name)
        if presentation_id is None or stage.slot_of(event.identity, slots) is None:
            return ()  # only slot identities can be speakers: no Redis read
        state, _ = audience.read_stage(presentation_id)
        return [
            identity
            for identity in stage.slot_identities(slots)
            if stage.may_publish_from(state, identity, slots)
        ]

    return speakers


class PublishGuard:
    """Disconnect a participant whose first track the policy does not allow."""

    def __init__(
        self,
        store: Store,
        client: Client,
        speakers: Callable[[RoomEvent], Collection[str]] = no_speakers,
    ):
        self._store = store
        self._client = client
        self._speakers = speakers

    @staticmethod
    def concerns(event: RoomEvent) -> bool:
        """Return whether `check` has anything to do for `event`, without I/O.

        The presenter's tracks need no look-up: the event loop answers them
        inline and hands only the rest (a speaker's slot, a forbidden publish,
        which read Redis or call the Rooms API) to a thread.
        """
        return event.name == 'track-added' and not room_state.is_presenter(
            event.identity
        )

    def check(self, event: RoomEvent) -> bool:
        """Remove the event's participant if it may not publish; True if we did now."""
        if not self.concerns(event):
            return False
        if publishing.may_publish(event.identity, self._speakers(event)):
            return False
        if not self._store.claim_kick(event.room_sid, event.participant_sid):
            return False  # a duplicate, or another worker is at it
        try:
            participant = self._client.video.v1.rooms(event.room_sid).participants(
                event.participant_sid
            )
            participant.update(status=DISCONNECTED)
        except VIDEO_ERRORS as ex:
            if ex.status == 404:
                return False  # gone already (or the room ended): nothing to retry
            self._released(event, ex)
            return False
        except requests.RequestException as ex:  # unreachable, or timed out
            self._released(event, ex)
            return False
        log.warning(
            'removed participant %s from room %s: %s may not publish (%s track)',
            event.participant_sid,
            event.room_sid,
            event.identity,
            event.track_kind,
        )
        return True

    def _released(self, event: RoomEvent, ex: Exception) -> None:
        self._store.release_kick(event.room_sid, event.participant_sid)
        log.error(
            'could not remove participant %s from room %s (%s status=%s code=%s); '
            'the next callback about it tries again',
            event.participant_sid,
            event.room_sid,
            type(ex).__name__,
            getattr(ex, 'status', None),
            getattr(ex, 'code', None),
        )
