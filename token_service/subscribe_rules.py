"""Subscribe rules: attendees receive the presenter's and the stage's tracks only.

Every attendee's rules name the presenter and every stage slot identity
(`speaker-1..N`), set once at join: inviting someone on stage changes nobody's
rules (docs/stage.md). The presenter hears the stage and nothing else; a
speaker's slot connection only publishes.

Browsers connect with `automaticSubscription: false` (exclude all), then ask
here for their rules, so no attendee ever receives another attendee's media.

Each set is a Twilio REST write (about 20 a second per account), so requests
are limited per identity and per presentation (`rate_limits.Budget`), and a
request whose rules were already sent is answered without one. "Already sent"
is per access token: pages ask for a new token for every connection, and a new
connection (a new participant, with default rules) must get its rules again.
"""

from __future__ import annotations

import hashlib
import logging
from collections.abc import Callable

import falcon

from podium import room_state, stage
from podium.config import TokenServiceConfig
from podium.store import Store
from token_service import access
from token_service.rate_limits import WINDOW, Budget, RateLimitSettings
from token_service.rooms import VIDEO_ERRORS, Rooms, room_name_of
from token_service.tokens import InvalidToken, verify_token

log = logging.getLogger(__name__)

PARTICIPANT_NOT_FOUND = 53204


def rules_for(identity: str, slots: int = stage.DEFAULT_SLOTS) -> list[dict]:
    """Return the subscribe rules of a participant, with `slots` stage slots."""
    if room_state.is_presenter(identity):
        # The presenter hears the speakers on stage; never its own stream.
        return [
            {'type': 'include', 'publisher': speaker}
            for speaker in stage.slot_identities(slots)
        ]
    if stage.slot_of(identity, slots) is not None:
        # A slot connection only publishes: its page watches on its attendee one.
        return [{'type': 'exclude', 'all': True}]
    return stage.audience_rules(slots)


def bearer_token(req: falcon.Request) -> str:
    scheme, _, token = (req.auth or '').partition(' ')
    if scheme.lower() != 'bearer' or not token.strip():
        raise falcon.HTTPUnauthorized(
            title='Access token required',
            description='Send the access token from /tokens as '
            '"Authorization: Bearer <token>".',
            challenges=['Bearer'],
        )
    return token.strip()


def token_fingerprint(token: str) -> str:
    """Return a short digest naming an access token (never stored itself)."""
    return hashlib.sha256(token.encode('utf-8')).hexdigest()[:32]


class SubscribeRules:
    """`POST /api/presentations/{id}/subscribe-rules`: set the caller's rules."""

    def __init__(
        self,
        config: TokenServiceConfig,
        store: Store,
        rooms: Rooms,
        clock: Callable[[], float],
        limits: RateLimitSettings | None = None,
    ):
        self._config = config
        self._store = store
        self._rooms = rooms
        self._clock = clock
        limits = limits or RateLimitSettings()
        self._per_identity = Budget(
            'subscribe-rules',
            limits.subscribe_rules_per_minute,
            WINDOW,
            'A participant may ask for its subscribe rules at most {limit} times '
            'a minute. Try again in {retry_after} s.',
        )
        self._per_presentation = Budget(
            'subscribe-rules-writes',
            limits.subscribe_rules_per_presentation_per_second,
            1,
            'Too many participants of this presentation are asking for subscribe '
            'rules at once (at most {limit} a second). Try again in {retry_after} s.',
        )

    def on_post(self, req: falcon.Request, resp: falcon.Response, presentation_id: str):
        now = self._clock()
        token = bearer_token(req)
        presentation = access.find_presentation(self._store, presentation_id)
        room_name = room_name_of(presentation)
        try:
            identity = verify_token(self._config, token, room_name, now)
        except InvalidToken as ex:
            log.info('rejected access token for %s: %s', presentation_id, ex)
            raise falcon.HTTPUnauthorized(
                title='Invalid access token',
                description='The access token is expired or not for this '
                'presentation. Reload the page to get a new one.',
                challenges=['Bearer'],
            ) from None
        self._per_identity.spend(self._store, f'{presentation_id}/{identity}', now)
        access.require_open(presentation)
        rules = rules_for(identity, self._config.stage_slots)
        sent = {'token': token_fingerprint(token), 'rules': rules}
        # A retry or a duplicate finds the participant has these rules already.
        if self._store.sent_rules(presentation_id, identity) != sent:
            self._send(presentation_id, room_name, identity, sent, now)
        resp.cache_control = ['no-store']
        resp.media = {'identity': identity, 'rules': rules}

    def _send(
        self,
        presentation_id: str,
        room_name: str,
        identity: str,
        sent: dict,
        now: float,
    ) -> None:
        """Set the rules through the Rooms API, within the presentation's budget."""
        self._per_presentation.spend(self._store, presentation_id, now)
        rules = sent['rules']
        try:
            self._rooms.set_subscribe_rules(room_name, identity, rules)
        except VIDEO_ERRORS as ex:
            if ex.status != 404 and ex.code != PARTICIPANT_NOT_FOUND:
                raise
            raise falcon.HTTPConflict(
                title='Not connected',
                description='Connect to the room first, then ask for subscribe rules.',
            ) from None
        # Only after Twilio took them; for as long as the token can connect.
        self._store.remember_rules(
            presentation_id, identity, sent, self._config.token_ttl
        )
