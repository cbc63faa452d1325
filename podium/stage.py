"""Who is on stage: invitations, speakers and their slots, as pure transitions.

A presentation has a fixed number of stage slots (PODIUM_STAGE_SLOTS, default 3),
each with an identity reserved for it: `speaker-1` ... `speaker-N`. Every
attendee's subscribe rules, set once at join, include those identities, so
putting someone on stage changes nobody's rules: on Twilio an invitation costs
a constant number of REST calls whatever the audience size (docs/stage.md).

The state is a plain JSON-ready dict, `{'slots': {slot: seat}}`, where a seat is
`{'identity', 'name', 'status': 'invited'|'speaking', 'muted', 'at'}` and slot is
'1'..'N' as a string (a Redis hash field). An invited attendee holds a slot until
they accept, decline or are removed, so at most N people are ever invited or
speaking. Every transition returns a new state and leaves its input alone; the
store runs them on what it read and writes the result (keys in podium/store.py).
"""

from __future__ import annotations

from collections.abc import Mapping

from podium.room_state import ATTENDEE_PREFIX, PRESENTER_IDENTITY

SPEAKER_PREFIX = 'speaker-'
DEFAULT_SLOTS = 3
MAX_SLOTS = 10  # with the presenter, far below Twilio's 20 subscribe rules
INVITED = 'invited'
SPEAKING = 'speaking'


class StageError(Exception):
    """A stage change that cannot happen; `status` is the HTTP status to answer."""

    def __init__(self, status: int, message: str) -> None:
        super().__init__(message)
        self.status = status
        self.message = message


def slot_identity(slot: str) -> str:
    """Return the identity a speaker connects with to publish from `slot`."""
    return f'{SPEAKER_PREFIX}{slot}'


def slot_of(identity: str, slots: int) -> str | None:
    """Return the slot an identity like `speaker-2` names, or None."""
    number = identity.removeprefix(SPEAKER_PREFIX)
    if number == identity or not number.isdigit() or number != str(int(number)):
        return None
    return number if 1 <= int(number) <= slots else None


def slot_identities(slots: int) -> list[str]:
    return [slot_identity(str(n)) for n in range(1, slots + 1)]


def audience_rules(slots: int) -> list[dict]:
    """Subscribe rules for an attendee: the presenter and every stage slot."""
    return [
        {'type': 'include', 'publisher': identity}
        for identity in [PRESENTER_IDENTITY, *slot_identities(slots)]
    ]


def empty() -> dict:
    return {'slots': {}}


def _seats(state: Mapping) -> dict[str, dict]:
    return {slot: dict(seat) for slot, seat in state.get('slots', {}).items()}


def seat_of(state: Mapping, identity: str) -> tuple[str, dict] | None:
    """Return (slot, seat) of an attendee who is invited or speaking, or None."""
    for slot, seat in state.get('slots', {}).items():
        if seat['identity'] == identity:
            return slot, dict(seat)
    return None


def invite(
    state: Mapping, identity: str, name: str, *, slots: int, at_ms: int
) -> tuple[dict, str]:
    """Invite an attendee into the lowest free slot; return (state, slot)."""
    if not identity.startswith(ATTENDEE_PREFIX):
        raise StageError(400, 'Only attendees can be invited on stage.')
    if seat_of(state, identity) is not None:
        raise StageError(409, 'This attendee is already invited or on stage.')
    seats = _seats(state)
    free = [str(n) for n in range(1, slots + 1) if str(n) not in seats]
    if not free:
        raise StageError(
            409,
            f'The stage is full ({slots} speakers at most): remove a speaker '
            'or withdraw an invitation first.',
        )
    slot = free[0]
    seats[slot] = {
        'identity': identity,
        'name': name,
        'status': INVITED,
        'muted': False,
        'at': at_ms,
    }
    return {'slots': seats}, slot


def accept(state: Mapping, identity: str, *, at_ms: int) -> tuple[dict, str]:
    """The invited attendee accepts; return (state, slot). Accepting twice is fine."""
    found = seat_of(state, identity)
    if found is None:
        raise StageError(
            409,
            'You are not invited on stage (the invitation may have been withdrawn).',
        )
    slot, seat = found
    if seat['status'] == SPEAKING:
        return {'slots': _seats(state)}, slot
    seats = _seats(state)
    seats[slot] = {**seat, 'status': SPEAKING, 'at': at_ms}
    return {'slots': seats}, slot


def leave(state: Mapping, identity: str) -> dict:
    """Decline, leave, or be removed: the slot is free again. Unknown: no change."""
    seats = {
        slot: seat
        for slot, seat in _seats(state).items()
        if seat['identity'] != identity
    }
    return {'slots': seats}


def slot_left(state: Mapping, slot: str, at_ms: int | None = None) -> dict:
    """The slot's connection disconnected (reload, closed tab): free the slot.

    Only a speaking seat is freed: an invitation waits for its answer, and no
    connection uses the slot before the attendee accepts. `at_ms`, the time of
    the disconnect, keeps a late callback about an earlier speaker of the same
    slot from freeing the seat of whoever accepted it since.
    """
    seats = _seats(state)
    seat = seats.get(slot)
    if seat is None or seat['status'] != SPEAKING:
        return {'slots': seats}
    if at_ms is None or at_ms >= seat['at']:
        del seats[slot]
    return {'slots': seats}


def mute(state: Mapping, slot: str, muted: bool) -> dict:
    """The presenter mutes (or allows to unmute) a speaker."""
    seats = _seats(state)
    seat = seats.get(slot)
    if seat is None or seat['status'] != SPEAKING:
        raise StageError(404, f'Nobody speaks from stage slot {slot}.')
    seats[slot] = {**seat, 'muted': muted}
    return {'slots': seats}


def may_publish_from(state: Mapping, identity: str, slots: int) -> bool:
    """Whether a connection named `identity` may publish: the presenter, or a slot
    whose seat has accepted (the publish guard asks this on Twilio)."""
    if identity == PRESENTER_IDENTITY:
        return True
    slot = slot_of(identity, slots)
    seat = state.get('slots', {}).get(slot) if slot else None
    return seat is not None and seat['status'] == SPEAKING


def stage_view(state: Mapping, version: int) -> dict:
    """Return the public `stage` section of the event stream, by slot order."""
    ordered = sorted(state.get('slots', {}).items(), key=lambda item: int(item[0]))
    return {
        'version': version,
        'speakers': [
            {
                'slot': slot,
                'slot_identity': slot_identity(slot),
                'identity': seat['identity'],
                'name': seat['name'],
                'status': seat['status'],
                'muted': seat['muted'],
            }
            for slot, seat in ordered
        ],
    }
