"""Who may publish media into a room: the presenter, and no one else yet.

Podium is a presentation: one presenter sends, attendees only watch. The
token service stamps the identity `presenter` only into the presenter's
Access Token (attendees get `attendee-...`), and local_video verifies the
token's signature before it believes any identity, so the identity is what
the policy looks at.

Extension point (not built): invited speakers. `Room.speakers` is the set of
further identities allowed to publish in one room; a future REST call or room
rule adds an identity to it (and removes it again), and `may_publish` lets
them in with no change here. Until then the set stays empty.
"""

from __future__ import annotations

from collections.abc import Set

from podium.room_state import PRESENTER_IDENTITY


def may_publish(identity: str, speakers: Set[str] = frozenset()) -> bool:
    """Return whether `identity` may publish, given the room's invited speakers."""
    return identity == PRESENTER_IDENTITY or identity in speakers
