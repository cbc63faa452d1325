"""Twilio Access Tokens: issuing them, and checking the ones browsers send back."""

from __future__ import annotations

import asyncio
import secrets
from collections.abc import Callable
from dataclasses import dataclass

import falcon
import jwt

from podium import audience, ids, metrics, room_state
from podium.config import TokenServiceConfig
from podium.store import AsyncTokenStore, Store, SyncTokenStore
from podium.turn import ice_servers
from token_service import access
from token_service.bodies import read_json_object_async
from token_service.rate_limits import WINDOW, RateLimiter
from token_service.rooms import (
    UNREAD,
    Rooms,
    current_room,
    ensure_room_for,
    room_name_of,
)
from token_service.signing import sign_video_token

MAX_NAME_LENGTH = audience.MAX_NAME_LENGTH
ROLES = ('attendee', 'presenter')


class InvalidToken(Exception):
    """An access token is forged, expired, or for another room."""


@dataclass(frozen=True)
class IssuedToken:
    jwt: str
    expires_at: int  # Unix seconds


def new_attendee_identity() -> str:
    # Never client-chosen: a chosen identity could kick (53205) the presenter.
    return room_state.ATTENDEE_PREFIX + secrets.token_hex(8)


def issue_token(
    config: TokenServiceConfig,
    identity: str,
    room_name: str,
    now: float,
    *,
    ttl: int | None = None,
) -> IssuedToken:
    """Return a Video access token for `identity`, valid in `room_name` only,
    for `ttl` seconds (default: the configured token TTL)."""
    ttl = config.token_ttl if ttl is None else ttl
    issued_at = int(now)
    expires_at = issued_at + ttl
    # What AccessToken + VideoGrant(room=room_name) produce, signed by hand
    # (token_service/signing.py says why, a test proves they are the same).
    token = sign_video_token(
        account_sid=config.account_sid,
        api_key_sid=config.api_key_sid,
        api_key_secret=config.api_key_secret,
        identity=identity,
        room_name=room_name,
        issued_at=issued_at,
        expires_at=expires_at,
    )
    return IssuedToken(jwt=token, expires_at=expires_at)


def verify_token(
    config: TokenServiceConfig, token: str, room_name: str, now: float
) -> str:
    """Return the identity in a token we issued for `room_name`; else InvalidToken."""
    try:
        # exp/nbf are checked below against the app's clock, not the wall clock.
        claims = jwt.decode(
            token,
            config.api_key_secret,
            algorithms=['HS256'],
            options={
                'verify_exp': False,
                'verify_nbf': False,
                'require': ['exp', 'iss', 'grants'],
            },
        )
    except jwt.PyJWTError as ex:
        raise InvalidToken(type(ex).__name__) from None
    if claims['iss'] != config.api_key_sid or claims.get('sub') != config.account_sid:
        raise InvalidToken('issuer')
    if not isinstance(claims['exp'], int | float) or claims['exp'] <= now:
        raise InvalidToken('expired')
    grants = claims['grants']
    video = grants.get('video') if isinstance(grants, dict) else None
    if not isinstance(video, dict) or video.get('room') != room_name:
        raise InvalidToken('room')
    identity = grants.get('identity')
    if not isinstance(identity, str) or not (
        room_state.is_presenter(identity)
        or identity.startswith(room_state.ATTENDEE_PREFIX)
    ):
        raise InvalidToken('identity')
    return identity


def display_name(body: dict) -> str | None:
    """Return the attendee's display name (optional: absent or blank is none)."""
    value = body.get('name')
    if value is None or (isinstance(value, str) and not value.strip()):
        return None
    try:
        return audience.clean_text(value, 'name', MAX_NAME_LENGTH)
    except audience.InvalidInput as ex:
        raise falcon.HTTPBadRequest(title='Invalid name', description=str(ex)) from None


class Tokens:
    """`POST /api/presentations/{id}/tokens`: join a presentation's room.

    Every audience member asks for a token within seconds of a talk starting, so
    this is the hot path, a coroutine on the event loop: one Redis round trip on
    `fast` (count the request, read the presentation and its room record), then
    sign. The rare steps that need more (restoring a lost presentation for its
    presenter, asking the Rooms API when the room check is due) run the sync
    `store` and Rooms API in a thread.
    """

    def __init__(
        self,
        config: TokenServiceConfig,
        store: Store,
        rooms: Rooms,
        clock: Callable[[], float],
        limiter: RateLimiter | None = None,
        *,
        fast: AsyncTokenStore | SyncTokenStore | None = None,
    ):
        self._config = config
        self._store = store
        self._fast = fast or SyncTokenStore(store)
        self._rooms = rooms
        self._clock = clock
        # Counts this route's requests here, in the same round trip as the reads,
        # when its Limit says `counted_by_resource`.
        self._limiter = limiter

    async def on_post(self, req, resp: falcon.Response, presentation_id: str):
        now = self._clock()
        counted = self._limiter.counted(req) if self._limiter else None
        reads = await self._fast.count_and_read_presentation(
            presentation_id if ids.is_presentation_id(presentation_id) else None,
            (counted[0].scope, counted[1]) if counted else None,
            WINDOW,
            now,
        )
        if counted:  # before anything else: invalid requests count too
            self._limiter.enforce(counted[0], reads.count, reads.retry_after)
        body = await read_json_object_async(req)
        role = body.get('role')
        if role not in ROLES:
            raise falcon.HTTPBadRequest(
                title='Invalid role',
                description='"role" must be "attendee" or "presenter".',
            )
        now_ms = int(now * 1000)
        presentation, room = reads.presentation, reads.room
        if presentation is None and role == 'presenter':
            presentation = await asyncio.to_thread(
                access.find_presentation_as_presenter,
                self._store,
                self._config.secret_key,
                presentation_id,
                body.get('key'),
                now_ms=now_ms,
            )
            room = UNREAD
        presentation = access.require_found(presentation)
        access.require_open(presentation)
        if role == 'presenter':
            access.require_presenter(
                self._config.secret_key, presentation, body.get('key')
            )
            identity = room_state.PRESENTER_IDENTITY
            name = None
        else:
            name = display_name(body)
            identity = new_attendee_identity()

        if room is UNREAD or not current_room(
            presentation, config=self._config, now_ms=now_ms, room=room
        ):
            await asyncio.to_thread(
                ensure_room_for,
                presentation,
                rooms=self._rooms,
                store=self._store,
                config=self._config,
                now_ms=now_ms,
                room=room,
            )
        room_name = room_name_of(presentation)
        if name:
            await self._fast.set_display_name(presentation['id'], identity, name)
        issued = issue_token(self._config, identity, room_name, now)
        metrics.TOKENS.labels(role).inc()
        local = self._config.video_backend == 'local'
        resp.cache_control = ['no-store']
        resp.media = {
            'token': issued.jwt,
            'identity': identity,
            'name': name,
            'room': room_name,
            'backend': self._config.video_backend,
            'ttl': self._config.token_ttl,
            'expires_at': issued.expires_at,
            'signal_url': self._config.signal_url if local else None,
            # twilio-video gets STUN/TURN from Twilio's Network Traversal Service.
            'ice_servers': ice_servers(self._config, identity, now) if local else None,
        }
