"""Free a stage slot when the speaker's connection leaves the room.

A speaker publishes from a second connection named after its slot
(`speaker-2`, docs/stage.md). When that connection's `participant-disconnected`
arrives (the speaker reloaded, closed the tab, lost the network for good, or
the presenter removed them), the slot is free again and the attendee is an
attendee again: the pure transition `podium.stage.slot_left`, stamped with the
callback's time so a late callback about an earlier speaker of the slot leaves
the current one alone. Duplicates change nothing and publish nothing.
"""

from __future__ import annotations

import logging
import time
from collections.abc import Callable

from podium import room_state, stage
from podium.room_state import RoomEvent
from podium.store import AudienceStore

log = logging.getLogger(__name__)


class StageExits:
    """Turn a slot connection's disconnect into the stage transition `slot_left`."""

    def __init__(
        self,
        audience: AudienceStore,
        slots: int,
        clock: Callable[[], float] = time.time,
    ):
        self._audience = audience
        self._slots = slots
        self._clock = clock

    def concerns(self, event: RoomEvent) -> bool:
        """Return whether `check` has anything to do for `event`, without I/O."""
        return (
            event.name == 'participant-disconnected'
            and stage.slot_of(event.identity, self._slots) is not None
            and room_state.presentation_id_for(event.room_name) is not None
        )

    def check(self, event: RoomEvent) -> bool:
        """Free the event's slot if a speaking slot connection left; True if it did."""
        if not self.concerns(event):
            return False
        slot = stage.slot_of(event.identity, self._slots)
        presentation_id = room_state.presentation_id_for(event.room_name)

        def left(state: dict) -> tuple[dict, bool]:
            after = stage.slot_left(state, slot, event.timestamp)
            return after, after != state

        outcome = self._audience.change_stage(presentation_id, left, now=self._clock())
        freed = outcome.status == 'ok' and bool(outcome.result)
        if freed:
            log.info(
                'stage slot %s of %s freed: its speaker left', slot, presentation_id
            )
        return freed
