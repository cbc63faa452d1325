"""Who may publish media in a presentation's room: a pure policy.

Only the presenter talks. Twilio lets every token holder publish, so the
webhooks service removes anyone else who does (webhooks/publish_guard.py);
local_video refuses such a publish itself. `speakers` is for a later "invite on
stage": identities the presenter let on stage, kept in Redis by whoever adds it.
"""

from __future__ import annotations

from collections.abc import Collection

from podium import room_state


def may_publish(identity: str, speakers: Collection[str] = ()) -> bool:
    """Return whether the participant `identity` may publish tracks."""
    return room_state.is_presenter(identity) or identity in speakers
