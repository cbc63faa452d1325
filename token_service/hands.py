"""Raised hands and reactions: the audience's quick signals."""

from __future__ import annotations

import falcon

from podium import audience, room_state
from token_service.audience_access import (
    IDENTITY,
    attendee_identity,
    check,
    counted,
    invalid,
    read_body_async,
    require_presenter_key,
)
from token_service.questions import AudienceResource
from token_service.rate_limits import WINDOW

REACTION_WINDOW = 1  # second: reactions are limited per second


class Hand(AudienceResource):
    """`/api/presentations/{id}/hand`: raise (PUT) or lower (DELETE) your own."""

    def _change(self, req, resp, presentation_id: str, operation: str):
        now = self._clock()
        identity = attendee_identity(req, self._config, presentation_id, now)
        if room_state.is_presenter(identity):
            raise falcon.HTTPForbidden(
                title='Presenters do not raise hands',
                description='Raising a hand is for attendees.',
            )
        check(
            self._store.change_hand(
                presentation_id,
                operation,
                identity,
                now=now,
                counted=counted(
                    'hands', identity, WINDOW, self._limits.hands_per_minute
                ),
            ),
            f'raise or lower your hand (at most {self._limits.hands_per_minute} '
            'times a minute)',
        )
        resp.cache_control = ['no-store']
        resp.media = {'identity': identity, 'raised': operation == 'raise'}

    def on_put(self, req, resp, presentation_id: str):
        self._change(req, resp, presentation_id, 'raise')

    def on_delete(self, req, resp, presentation_id: str):
        self._change(req, resp, presentation_id, 'lower')


class Hands(AudienceResource):
    """`/api/presentations/{id}/hands` DELETE: the presenter lowers every hand."""

    def on_delete(self, req, resp, presentation_id: str):
        require_presenter_key(req, self._config, presentation_id)
        outcome = check(
            self._store.change_hand(
                presentation_id, 'clear', now=self._clock(), counted=None
            ),
            'lower hands',
        )
        resp.cache_control = ['no-store']
        resp.media = {'lowered': 'all', 'changed': bool(outcome.result[0])}


class HandOf(AudienceResource):
    """`/api/presentations/{id}/hands/{identity}` DELETE: the presenter lowers one."""

    def on_delete(self, req, resp, presentation_id: str, identity: str):
        require_presenter_key(req, self._config, presentation_id)
        if not IDENTITY.fullmatch(identity):
            raise falcon.HTTPNotFound(
                title='No such attendee',
                description='Attendee identities look like attendee-<hex>; see the '
                'hand queue on the event stream.',
            )
        outcome = check(
            self._store.change_hand(
                presentation_id, 'lower', identity, now=self._clock(), counted=None
            ),
            'lower hands',
        )
        resp.cache_control = ['no-store']
        resp.media = {
            'identity': identity,
            'raised': False,
            'changed': bool(outcome.result[0]),
        }


class Reactions(AudienceResource):
    """`/api/presentations/{id}/reactions` POST: one emoji from the fixed set.

    Counted in short windows, never stored per person: pages get one event per
    window with the counts, however many people react.
    """

    async def on_post(self, req, resp, presentation_id: str):
        now = self._clock()
        identity = attendee_identity(req, self._config, presentation_id, now)
        body = await read_body_async(req)
        emoji = body.get('emoji')
        if emoji not in audience.REACTIONS:
            raise invalid(
                audience.InvalidInput(
                    'emoji',
                    '"emoji" must be one of ' + ' '.join(audience.REACTIONS) + '.',
                )
            )
        per_second = self._limits.reactions_per_second
        check(
            await self._writes.react(
                presentation_id,
                emoji,
                audience.reaction_bucket(int(now * 1000)),
                now=now,
                counted=counted('reactions', identity, REACTION_WINDOW, per_second),
            ),
            f'react (at most {per_second} times a second)',
        )
        resp.status = falcon.HTTP_202
        resp.cache_control = ['no-store']
        resp.media = {'emoji': emoji}
