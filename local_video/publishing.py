"""Who may publish media into a room: the presenter and the stage slots.

Podium is a presentation: the presenter sends, attendees only watch, and up to
N invited attendees speak from a stage slot (docs/stage.md). The token service
stamps the identity `presenter` only into the presenter's Access Token, and
`speaker-k` only into the token it hands an attendee who accepted an invitation
to slot k (attendees get `attendee-...`). local_video verifies the token's
signature before it believes any identity, so the identity is what the policy
looks at. A slot token lives at most 300 s; on Twilio the webhooks' publish
guard also checks the slot is still taken, which local_video leaves to the
token's short life and the removal's participant disconnect.

`Room.speakers` admits further identities in one room (tests and the REST
extension point); it stays empty otherwise.
"""

from __future__ import annotations

from collections.abc import Set

from podium import stage
from podium.room_state import PRESENTER_IDENTITY


def may_publish(
    identity: str, speakers: Set[str] = frozenset(), slots: int = stage.DEFAULT_SLOTS
) -> bool:
    """Return whether `identity` may publish: the presenter, a stage slot
    `speaker-1..slots`, or one of the room's extra `speakers`."""
    return (
        identity == PRESENTER_IDENTITY
        or stage.slot_of(identity, slots) is not None
        or identity in speakers
    )
