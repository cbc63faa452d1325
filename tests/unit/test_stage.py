"""Stage transitions (podium.stage), without Redis: slots, limits, leaving."""

from __future__ import annotations

import copy

import pytest

from podium import stage

A, B, C, D = (f'attendee-{c * 8}' for c in 'abcd')


def full_stage(slots: int = 3) -> dict:
    state = stage.empty()
    for number, identity in enumerate([A, B, C][:slots]):
        state, _ = stage.invite(
            state, identity, f'P{number}', slots=slots, at_ms=number
        )
    return state


def test_invitations_take_the_lowest_free_slot_up_to_the_limit():
    state, slot = stage.invite(stage.empty(), A, 'Ann', slots=3, at_ms=1)
    assert slot == '1'
    state, slot = stage.invite(state, B, 'Bob', slots=3, at_ms=2)
    assert slot == '2'
    state, slot = stage.invite(state, C, '', slots=3, at_ms=3)
    assert slot == '3'
    with pytest.raises(stage.StageError) as full:
        stage.invite(state, D, 'Dee', slots=3, at_ms=4)
    assert full.value.status == 409 and '3 speakers at most' in full.value.message
    # A freed slot is the next one given.
    state = stage.leave(state, B)
    state, slot = stage.invite(state, D, 'Dee', slots=3, at_ms=5)
    assert slot == '2'


def test_invite_refuses_the_presenter_slots_and_the_same_attendee_twice():
    state, _ = stage.invite(stage.empty(), A, 'Ann', slots=3, at_ms=1)
    for identity in ('presenter', 'speaker-1'):
        with pytest.raises(stage.StageError) as wrong:
            stage.invite(state, identity, '', slots=3, at_ms=2)
        assert wrong.value.status == 400
    with pytest.raises(stage.StageError) as twice:
        stage.invite(state, A, 'Ann', slots=3, at_ms=2)
    assert twice.value.status == 409


def test_accept_makes_a_speaker_who_may_publish_from_their_slot_only():
    state, slot = stage.invite(stage.empty(), A, 'Ann', slots=3, at_ms=1)
    assert not stage.may_publish_from(state, 'speaker-1', 3)  # invited is not enough
    state, accepted = stage.accept(state, A, at_ms=2)
    assert accepted == slot == '1'
    assert stage.may_publish_from(state, 'speaker-1', 3)
    assert stage.may_publish_from(state, 'presenter', 3)
    for identity in ('speaker-2', 'speaker-01', 'speaker-9', A, 'speaker-'):
        assert not stage.may_publish_from(state, identity, 3), identity
    assert stage.accept(state, A, at_ms=3) == (state, '1')  # twice: no change
    with pytest.raises(stage.StageError):
        stage.accept(state, B, at_ms=3)


def test_leaving_or_reloading_frees_a_speakers_slot_but_not_an_invitation():
    state, _ = stage.invite(stage.empty(), A, 'Ann', slots=3, at_ms=1)
    state, _ = stage.invite(state, B, 'Bob', slots=3, at_ms=1)
    state, _ = stage.accept(state, A, at_ms=2)
    # Slot 2's connection cannot exist before Bob accepts: a stray one frees nothing.
    assert stage.slot_left(state, '2') == state
    state = stage.slot_left(state, '1')
    assert stage.seat_of(state, A) is None
    assert stage.seat_of(state, B)[0] == '2'
    assert stage.leave(state, 'attendee-unknown') == state


def test_mute_is_for_speakers():
    state, _ = stage.invite(stage.empty(), A, 'Ann', slots=3, at_ms=1)
    with pytest.raises(stage.StageError) as invited:
        stage.mute(state, '1', True)
    assert invited.value.status == 404
    state, _ = stage.accept(state, A, at_ms=2)
    state = stage.mute(state, '1', True)
    assert stage.stage_view(state, 7)['speakers'][0]['muted'] is True
    assert stage.mute(state, '1', False)['slots']['1']['muted'] is False


def test_transitions_leave_their_input_alone():
    state = full_stage()
    before = copy.deepcopy(state)
    stage.accept(state, A, at_ms=9)
    stage.leave(state, B)
    stage.slot_left(state, '3')
    assert state == before


def test_view_and_rules_cover_every_slot_in_order():
    state = full_stage()
    state, _ = stage.accept(state, C, at_ms=9)
    view = stage.stage_view(state, 4)
    assert view['version'] == 4
    assert [(s['slot'], s['slot_identity'], s['status']) for s in view['speakers']] == [
        ('1', 'speaker-1', 'invited'),
        ('2', 'speaker-2', 'invited'),
        ('3', 'speaker-3', 'speaking'),
    ]
    rules = stage.audience_rules(3)
    assert [r['publisher'] for r in rules] == [
        'presenter',
        'speaker-1',
        'speaker-2',
        'speaker-3',
    ]
    assert all(r['type'] == 'include' for r in rules)
    # Twilio allows 20 rules: the largest stage still fits.
    assert len(stage.audience_rules(stage.MAX_SLOTS)) <= 20


def test_a_disconnect_from_before_the_accept_keeps_the_seat():
    state, _ = stage.invite(stage.empty(), A, 'Ann', slots=3, at_ms=1)
    state, _ = stage.accept(state, A, at_ms=50)
    assert stage.slot_left(state, '1', at_ms=49) == state
    assert stage.seat_of(stage.slot_left(state, '1', at_ms=50), A) is None
