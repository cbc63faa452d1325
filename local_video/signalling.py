"""The browser signalling WebSocket at /video/signal.

Protocol (JSON messages with a `type`):
  browser -> service: connect {token, room?, automaticSubscription?, resume?},
      publish {seq, sdp, tracks: [{mid, name, kind}]}, subscriberAnswer {sdp},
      setTrackEnabled {track: <track SID>, enabled: bool} (mute/unmute),
      resetMedia {target: publisher|subscriber}, ping, disconnect
  service -> browser: connected {room, participant, participants, resumed},
      participantConnected, participantDisconnected, trackPublished, trackUnpublished,
      trackEnabled, trackDisabled {participant, track},
      publishAnswer {seq, sdp, tracks}, publishError {seq, message, code?},
      subscriberOffer {sdp, streams: [{mid, participant, track, name, kind}]},
      subscriberReset, mediaReconnecting, mediaReconnected, pong,
      disconnected {code, message} (then the socket closes), error {code, message}.
The Janus API never reaches the browser: only SDP crosses this socket.
"""

from __future__ import annotations

import asyncio
import contextlib
import logging

import falcon
from falcon.asgi import WebSocket

from .access_token import verify_token
from .config import LocalVideoConfig
from .errors import (
    ROOM_NOT_FOUND,
    SIGNALING_ERROR,
    TOKEN_GRANTS_INVALID,
    TRACK_INVALID,
    TwilioError,
)
from .janus_api import JanusError
from .media import JanusMedia, MediaUnavailable
from .participant_media import ParticipantMedia
from .publishing import may_publish
from .rooms import Participant, Registry

log = logging.getLogger(__name__)

FIRST_MESSAGE_TIMEOUT = 10.0
CLIENT_CLOSE_WAIT = 0.5  # seconds a leaving browser gets to close its socket itself
# Seconds a participant survives after we last heard from it: after its socket
# closed, or since its last message when the socket went silent (a network that
# vanished closes nothing). Either way the room sees it leave RESUME_GRACE seconds
# after it went away, and a browser back within that time resumes.
RESUME_GRACE = 15.0
# The client pings every 5 s: three missed pings make a silent socket dead. Kept
# equal to RESUME_GRACE so a silent participant leaves the moment it is found dead,
# not PING_TIMEOUT + RESUME_GRACE after it went away.
PING_TIMEOUT = RESUME_GRACE
OUTBOX_LIMIT = 200
MAX_MESSAGE = 256 * 1024
TRACK_KINDS = ('audio', 'video')


class ParticipantSession:
    """A participant's signalling state; outlives its socket by up to RESUME_GRACE s."""

    def __init__(self, hub: SignalHub) -> None:
        self._hub = hub
        self.participant: Participant | None = None
        self.media: ParticipantMedia | None = None
        self.socket: SignalSocket | None = None
        self._outbox: list[dict] = []
        self._grace: asyncio.TimerHandle | None = None
        self._publish_lock = asyncio.Lock()
        self.ended = False

    # What the registry calls (rooms.Connection) ------------------------------------

    def notify(self, message: dict) -> None:
        self.send(message)

    def kick(self, code: int, message: str) -> None:
        self.send({'type': 'disconnected', 'code': code, 'message': message})
        self._hub.end(self, leave=False)

    def resubscribe(self) -> None:
        if self.media is not None:
            self.media.resubscribe()

    # What the media backend calls around a Janus restart ------------------------------

    def media_down(self) -> None:
        if self.media is not None:
            self.media.reset()
        self.send({'type': 'mediaReconnecting', 'reason': 'media server restarting'})

    def media_up(self) -> None:
        self.send({'type': 'mediaReconnected'})
        self.resubscribe()

    # Sockets -----------------------------------------------------------------------

    def send(self, message: dict) -> None:
        if self.socket is not None:
            self.socket.queue(message)
        elif len(self._outbox) < OUTBOX_LIMIT:
            self._outbox.append(message)

    def attach(self, socket: SignalSocket) -> None:
        if self._grace is not None:
            self._grace.cancel()
            self._grace = None
        if self.socket is not None and self.socket is not socket:
            self.socket.close_soon()
        self.socket = socket

    def detach(self, socket: SignalSocket, *, silent_for: float = 0.0) -> None:
        """Forget a socket that closed, or was silent for `silent_for` seconds."""
        if self.socket is not socket or self.ended:
            return
        self.socket = None
        self._grace = asyncio.get_running_loop().call_later(
            max(RESUME_GRACE - silent_for, 0.0), self._hub.end, self
        )

    def flush_outbox(self) -> None:
        pending, self._outbox = self._outbox, []
        for message in pending:
            self.send(message)
        if self.media is not None and self.media.pending_offer() is not None:
            self.send(self.media.pending_offer())

    # Browser requests ----------------------------------------------------------

    async def handle(self, message: dict) -> None:
        kind = message.get('type')
        if kind == 'ping':
            self.send({'type': 'pong'})
        elif kind == 'publish':
            await self._publish(message)
        elif kind == 'subscriberAnswer':
            if self.media is not None and isinstance(message.get('sdp'), str):
                self.media.answer(message['sdp'])
        elif kind == 'resetMedia':
            await self._reset_media(message.get('target'))
        elif kind == 'setTrackEnabled':
            self._set_track_enabled(message)
        elif kind in ('linkStats', 'setQuality'):
            await self._layers(message)
        elif kind == 'disconnect':
            self._hub.end(self)
        else:
            self.send(
                {
                    'type': 'error',
                    'code': SIGNALING_ERROR,
                    'message': f'unknown message type {kind!r}',
                }
            )

    async def _publish(self, message: dict) -> None:
        seq = message.get('seq')
        participant = self.participant
        if not may_publish(
            participant.identity, participant.room.speakers, self._hub.stage_slots
        ):
            # Refused before anything reaches Janus: an attendee's offer never
            # becomes a publisher there, so no one could subscribe to it.
            log.warning('publish by %s refused: not a speaker', participant.sid)
            self.send(
                {
                    'type': 'publishError',
                    'seq': seq,
                    'code': TRACK_INVALID,
                    'message': f'{TRACK_INVALID.message}: only the presenter '
                    'and invited speakers may publish in this room',
                }
            )
            return
        try:
            sdp, tracks = _publish_request(message)
            if self.media is None:
                raise MediaUnavailable('no media server in this service')
            async with self._publish_lock:
                answer = await self.media.publish(sdp, tracks)
                self._hub.registry.set_tracks(
                    self.participant, [(t['mid'], t['name'], t['kind']) for t in tracks]
                )
        except (ValueError, JanusError, MediaUnavailable) as ex:
            log.info('publish by %s failed: %s', self.participant.sid, ex)
            self.send({'type': 'publishError', 'seq': seq, 'message': str(ex)})
            return
        by_mid = {t.mid: t for t in self.participant.tracks.values()}
        self.send(
            {
                'type': 'publishAnswer',
                'seq': seq,
                'sdp': answer,
                'tracks': [
                    {'mid': t['mid'], **by_mid[t['mid']].as_json()}
                    for t in tracks
                    if t['mid'] in by_mid
                ],
            }
        )

    async def _layers(self, message: dict) -> None:
        """An attendee's link report or quality choice: pick its layers."""
        if self.media is None:
            return
        try:
            if message['type'] == 'setQuality':
                await self.media.layers.set_mode(message.get('mode'))
            else:
                bps = message.get('availableIncomingBitrate')
                await self.media.layers.report(
                    message.get('streams') or [],
                    float(bps) if isinstance(bps, int | float) else None,
                )
        except ValueError as ex:
            self.send({'type': 'error', 'code': SIGNALING_ERROR, 'message': str(ex)})
        except (JanusError, MediaUnavailable) as ex:
            log.info('layer switch for %s failed: %s', self.participant.sid, ex)

    def _set_track_enabled(self, message: dict) -> None:
        track, enabled = message.get('track'), message.get('enabled')
        if not isinstance(track, str) or not isinstance(enabled, bool):
            self.send(
                {
                    'type': 'error',
                    'code': SIGNALING_ERROR,
                    'message': 'setTrackEnabled needs a track SID and enabled: '
                    'true or false',
                }
            )
            return
        if not self._hub.registry.set_track_enabled(self.participant, track, enabled):
            self.send(
                {
                    'type': 'error',
                    'code': TRACK_INVALID,
                    'message': f'{TRACK_INVALID.message}: you publish no track {track}',
                }
            )

    async def _reset_media(self, target: object) -> None:
        if self.media is None:
            return
        if target == 'publisher':
            await self.media.reset_publisher()
            self._hub.resubscribe_room(self.participant.room)
        elif target == 'subscriber':
            await self.media.reset_subscriber()


def _publish_request(message: dict) -> tuple[str, list[dict]]:
    sdp = message.get('sdp')
    tracks = message.get('tracks')
    if not isinstance(sdp, str) or not sdp.startswith('v=0'):
        raise ValueError('publish needs an SDP offer')
    if not isinstance(tracks, list) or len(tracks) > 16:
        raise ValueError('publish needs a list of at most 16 tracks')
    clean = []
    for track in tracks:
        if not isinstance(track, dict):
            raise ValueError('each track must be an object')
        mid, name, kind = track.get('mid'), track.get('name'), track.get('kind')
        if not (
            isinstance(mid, str)
            and mid
            and isinstance(name, str)
            and 0 < len(name) <= 128
            and kind in TRACK_KINDS
        ):
            raise ValueError(
                'each track needs a mid, a name (1-128 characters) '
                'and a kind of audio or video'
            )
        clean.append({'mid': mid, 'name': name, 'kind': kind})
    if len({t['name'] for t in clean}) != len(clean):
        raise ValueError('track names must be unique')
    return sdp, clean


class SignalSocket:
    """One browser WebSocket."""

    def __init__(self, ws: WebSocket) -> None:
        self._ws = ws
        self._outgoing: asyncio.Queue = asyncio.Queue()

    def queue(self, message: dict) -> None:
        self._outgoing.put_nowait(message)

    def close_soon(self) -> None:
        self._outgoing.put_nowait(None)

    async def pump(self) -> None:
        """Send queued messages; a None closes the socket after what came before."""
        while True:
            message = await self._outgoing.get()
            if message is None:
                with contextlib.suppress(Exception):
                    await self._ws.close(1000)
                return
            try:
                await self._ws.send_media(message)
            except (falcon.WebSocketDisconnected, RuntimeError):
                return


class SignalHub:
    """Routes sockets to participant sessions; the `/video/signal` resource."""

    def __init__(
        self, registry: Registry, config: LocalVideoConfig, media: JanusMedia | None
    ) -> None:
        self.registry = registry
        self._config = config
        self._media = media
        self._sessions: dict[str, ParticipantSession] = {}

    @property
    def stage_slots(self) -> int:
        """How many `speaker-k` identities may publish (PODIUM_STAGE_SLOTS)."""
        return self._config.stage_slots

    async def on_websocket(self, req, ws: WebSocket) -> None:
        await ws.accept()
        socket = SignalSocket(ws)
        pump = asyncio.create_task(socket.pump())
        session = None
        silent_for = 0.0
        try:
            try:
                first = await asyncio.wait_for(
                    ws.receive_media(), FIRST_MESSAGE_TIMEOUT
                )
                session = self._open(first, socket)
            except TwilioError as ex:
                socket.queue({'type': 'error', 'code': ex.code, 'message': ex.message})
                socket.close_soon()
                return
            except TimeoutError:
                socket.queue(
                    {
                        'type': 'error',
                        'code': SIGNALING_ERROR,
                        'message': 'send a connect message with a token first',
                    }
                )
                socket.close_soon()
                return
            except ValueError:
                socket.queue(
                    {
                        'type': 'error',
                        'code': SIGNALING_ERROR,
                        'message': 'messages must be JSON objects',
                    }
                )
                socket.close_soon()
                return
            while not session.ended and session.socket is socket:
                try:
                    message = await asyncio.wait_for(ws.receive_media(), PING_TIMEOUT)
                except TimeoutError:
                    silent_for = PING_TIMEOUT
                    raise
                if isinstance(message, dict):
                    await session.handle(message)
        except (falcon.WebSocketDisconnected, TimeoutError, ValueError):
            pass
        finally:
            if session is not None:
                session.detach(socket, silent_for=silent_for)
            if not ws.closed:
                # A browser that said "disconnect" hangs up right after: let it go
                # first. Closing a socket the client already closed fails, and
                # Falcon then logs an "Unhandled exception" for a normal leave.
                with contextlib.suppress(Exception):
                    await asyncio.wait_for(ws.receive_media(), CLIENT_CLOSE_WAIT)
            socket.close_soon()
            with contextlib.suppress(asyncio.TimeoutError, asyncio.CancelledError):
                await asyncio.wait_for(pump, 2)

    def _open(self, first: object, socket: SignalSocket) -> ParticipantSession:
        if not isinstance(first, dict) or first.get('type') != 'connect':
            raise TwilioError(
                SIGNALING_ERROR,
                'the first message must be {"type": "connect", "token": ...}',
            )
        grant = verify_token(
            first.get('token'),
            api_key_sid=self._config.api_key_sid,
            api_key_secret=self._config.api_key_secret,
            account_sid=self._config.account_sid,
        )
        name = first.get('room') or grant.room
        if not isinstance(name, str) or not name:
            raise TwilioError(ROOM_NOT_FOUND, 'Room not found: name a room', status=400)
        room = self.registry.find_room(name)
        if room is None or not room.in_progress:
            raise TwilioError(ROOM_NOT_FOUND, 'Room not found')
        if grant.room and grant.room not in (room.sid, room.unique_name):
            raise TwilioError(
                TOKEN_GRANTS_INVALID,
                'Invalid Access Token grants: not valid for this room',
            )
        resume = self._sessions.get(first.get('resume') or '')
        if (
            resume is not None
            and not resume.ended
            and resume.participant.room is room
            and resume.participant.identity == grant.identity
        ):
            resume.attach(socket)
            socket.queue(self._snapshot(resume, resumed=True))
            resume.flush_outbox()
            return resume
        session = ParticipantSession(self)
        session.attach(socket)
        participant = self.registry.join(
            room.unique_name,
            grant.identity,
            session,
            automatic_subscription=first.get('automaticSubscription') is not False,
        )
        session.participant = participant
        self._sessions[participant.sid] = session
        if self._media is not None:
            session.media = ParticipantMedia(
                participant,
                self._media,
                session.send,
                lambda: self._peers(participant.room),
            )
            self._media.add_listener(session)
            session.resubscribe()  # tracks already published may match the rules
        socket.queue(self._snapshot(session, resumed=False))
        return session

    def _snapshot(self, session: ParticipantSession, *, resumed: bool) -> dict:
        participant = session.participant
        room = participant.room
        return {
            'type': 'connected',
            'resumed': resumed,
            'room': {'sid': room.sid, 'name': room.unique_name},
            'participant': {'sid': participant.sid, 'identity': participant.identity},
            'participants': [
                p.as_json() for p in room.connected() if p is not participant
            ],
        }

    def _peers(self, room) -> list:
        peers = []
        for participant in room.connected():
            session = self._sessions.get(participant.sid)
            peers.append((participant, session.media if session else None))
        return peers

    def media_of(self, participant) -> ParticipantMedia | None:
        """The media side of a connected participant's session, if it has one."""
        session = self._sessions.get(participant.sid)
        return session.media if session is not None else None

    def resubscribe_room(self, room) -> None:
        for participant in room.connected():
            session = self._sessions.get(participant.sid)
            if session is not None:
                session.resubscribe()

    def end(self, session: ParticipantSession, *, leave: bool = True) -> None:
        """End a session: leave the room, close the socket, release Janus."""
        if session.ended:
            return
        session.ended = True
        if session._grace is not None:
            session._grace.cancel()
        participant = session.participant
        if participant is not None:
            self._sessions.pop(participant.sid, None)
            if leave:
                self.registry.leave(participant)
        if session.socket is not None:
            session.socket.close_soon()
        if self._media is not None:
            self._media.remove_listener(session)
        if session.media is not None:
            asyncio.ensure_future(session.media.close())

    async def close_all(self) -> None:
        for session in list(self._sessions.values()):
            session.send(
                {
                    'type': 'disconnected',
                    'code': SIGNALING_ERROR,
                    'message': 'the video service is stopping',
                }
            )
            self.end(session)
