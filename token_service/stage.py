"""Inviting an attendee on stage: the presenter invites, mutes and removes; the
attendee accepts (and gets a token for their stage slot), declines or leaves.

The decisions are podium.stage's pure transitions, applied by the store with
compare-and-set; this module authenticates and answers. On Twilio an invitation
costs no REST call, a removal one (docs/stage.md): attendees' subscribe rules
already cover every slot identity.
"""

from __future__ import annotations

from collections.abc import Callable

import falcon

from podium import room_state, stage
from podium.config import TokenServiceConfig
from podium.store import AudienceStore, StageOutcome
from token_service.audience_access import (
    IDENTITY,
    REFUSALS,
    attendee_identity,
    boolean,
    read_body,
    require_presenter_key,
)
from token_service.rate_limits import RateLimitSettings
from token_service.rooms import Rooms
from token_service.tokens import issue_token

# Twilio checks a token only when it connects: the page connects at once, so a
# slot token that leaks is useless minutes later (and the publish guard still
# removes it once the slot is freed).
SPEAKER_TOKEN_TTL = 300  # seconds


def _refuse(ex: stage.StageError) -> falcon.HTTPError:
    titles = {
        400: ('Cannot invite', falcon.HTTPBadRequest),
        404: ('Nobody on this slot', falcon.HTTPNotFound),
        409: ('Stage unchanged', falcon.HTTPConflict),
    }
    title, error = titles.get(ex.status, titles[409])
    return error(title=title, description=ex.message)


def _check(outcome: StageOutcome) -> StageOutcome:
    if outcome.status == 'ok':
        return outcome
    raise REFUSALS[outcome.status](outcome, 'change the stage')


class StageResource:
    """What every stage endpoint needs, injected."""

    def __init__(
        self,
        config: TokenServiceConfig,
        store: AudienceStore,
        clock: Callable[[], float],
        limits: RateLimitSettings,
        rooms: Rooms,
    ):
        self._config = config
        self._store = store
        self._clock = clock
        self._limits = limits
        self._rooms = rooms

    def _change(
        self, presentation_id: str, transition: Callable[[dict], tuple[dict, object]]
    ) -> StageOutcome:
        try:
            return _check(
                self._store.change_stage(presentation_id, transition, now=self._clock())
            )
        except stage.StageError as ex:
            raise _refuse(ex) from None

    def _slot(self, slot: str) -> str:
        if stage.slot_of(stage.slot_identity(slot), self._config.stage_slots) is None:
            raise falcon.HTTPNotFound(
                title='No such stage slot',
                description=f'Stage slots are 1 to {self._config.stage_slots}; '
                'see the stage section of the event stream.',
            )
        return slot


def _seat_answer(outcome: StageOutcome, slot: str) -> dict:
    seat = outcome.state['slots'].get(slot)
    return {
        'slot': slot,
        'slot_identity': stage.slot_identity(slot),
        'identity': seat['identity'] if seat else None,
        'status': seat['status'] if seat else None,
        'muted': seat['muted'] if seat else False,
        'version': outcome.version,
    }


class Stage(StageResource):
    """`/api/presentations/{id}/stage` POST `{identity}`: the presenter invites."""

    def on_post(self, req, resp, presentation_id: str):
        require_presenter_key(req, self._config, presentation_id)
        identity = read_body(req).get('identity')
        if not isinstance(identity, str) or not IDENTITY.fullmatch(identity):
            raise falcon.HTTPBadRequest(
                title='Invalid identity',
                description='"identity" must be an attendee identity '
                '(attendee-<hex>) from the hand queue.',
            )
        name = self._store.read_names(presentation_id).get(identity, '')
        at_ms = int(self._clock() * 1000)
        outcome = self._change(
            presentation_id,
            lambda state: stage.invite(
                state, identity, name, slots=self._config.stage_slots, at_ms=at_ms
            ),
        )
        resp.status = falcon.HTTP_201
        resp.cache_control = ['no-store']
        resp.media = _seat_answer(outcome, outcome.result)


class StageAccept(StageResource):
    """`/api/presentations/{id}/stage/accept` POST: the invited attendee accepts
    and gets an access token whose identity is their slot's."""

    def on_post(self, req, resp, presentation_id: str):
        now = self._clock()
        identity = attendee_identity(req, self._config, presentation_id, now)
        if room_state.is_presenter(identity):
            raise falcon.HTTPForbidden(
                title='Presenters are always on stage',
                description='Accepting an invitation is for attendees.',
            )
        outcome = self._change(
            presentation_id,
            lambda state: stage.accept(state, identity, at_ms=int(now * 1000)),
        )
        slot = outcome.result
        room_name = room_state.room_name_for(presentation_id)
        ttl = min(SPEAKER_TOKEN_TTL, self._config.token_ttl)
        issued = issue_token(
            self._config, stage.slot_identity(slot), room_name, now, ttl=ttl
        )
        resp.cache_control = ['no-store']
        resp.media = {
            **_seat_answer(outcome, slot),
            'token': issued.jwt,
            'room': room_name,
            'ttl': ttl,
            'expires_at': issued.expires_at,
        }


class StageLeave(StageResource):
    """`/api/presentations/{id}/stage/decline` and `.../stage/leave` POST: the
    attendee declines an invitation or steps off stage; the slot is free."""

    def on_post(self, req, resp, presentation_id: str):
        identity = attendee_identity(req, self._config, presentation_id, self._clock())
        before = {}

        def transition(state):
            before['seat'] = stage.seat_of(state, identity)
            return stage.leave(state, identity), None

        outcome = self._change(presentation_id, transition)
        resp.cache_control = ['no-store']
        resp.media = {
            'identity': identity,
            'on_stage': False,
            'changed': before['seat'] is not None,
            'version': outcome.version,
        }


class StageSlotMute(StageResource):
    """`/api/presentations/{id}/stage/{slot}/mute` POST `{muted}`: the presenter
    mutes a speaker (state only: the speaker's page disables its track)."""

    def on_post(self, req, resp, presentation_id: str, slot: str):
        require_presenter_key(req, self._config, presentation_id)
        slot = self._slot(slot)
        muted = boolean(read_body(req), 'muted', default=True)
        outcome = self._change(
            presentation_id, lambda state: (stage.mute(state, slot, muted), None)
        )
        resp.cache_control = ['no-store']
        resp.media = _seat_answer(outcome, slot)


class StageSlot(StageResource):
    """`/api/presentations/{id}/stage/{slot}` DELETE: the presenter withdraws an
    invitation or takes a speaker off stage (one REST call: disconnect the slot)."""

    def on_delete(self, req, resp, presentation_id: str, slot: str):
        require_presenter_key(req, self._config, presentation_id)
        slot = self._slot(slot)
        removed = {}

        def transition(state):
            seat = state['slots'].get(slot)
            removed['seat'] = seat
            return (stage.leave(state, seat['identity']) if seat else state), None

        outcome = self._change(presentation_id, transition)
        seat = removed['seat']
        if seat is not None and seat['status'] == stage.SPEAKING:
            self._rooms.disconnect(
                room_state.room_name_for(presentation_id), stage.slot_identity(slot)
            )
        resp.cache_control = ['no-store']
        resp.media = {
            'slot': slot,
            'slot_identity': stage.slot_identity(slot),
            'identity': seat['identity'] if seat else None,
            'removed': seat is not None,
            'version': outcome.version,
        }
