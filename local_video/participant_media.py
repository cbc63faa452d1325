"""One participant's media in Janus: a publisher handle and a subscriber handle.

The publisher handle carries every track the browser publishes (camera, microphone,
screen) in one PeerConnection; the browser offers, Janus answers. The subscriber
handle receives exactly the tracks the participant's subscribe rules select; Janus
1.1.2 only accepts *its own* offers for subscribers, so Janus offers and the browser
answers. A single reconcile loop per participant compares what the rules select with
what the handle receives and sends Janus `update` requests, one renegotiation at a
time.
"""

from __future__ import annotations

import asyncio
import logging
import secrets
from collections.abc import Callable

from .janus_api import JanusError, JanusGone, JanusHandle, JanusSession
from .layer_control import LayerControl
from .media import JanusMedia, MediaUnavailable
from .rooms import Participant

log = logging.getLogger(__name__)

ANSWER_TIMEOUT = 15.0


class ParticipantMedia:
    """Publisher and subscriber handles of one participant, driven by signalling."""

    def __init__(
        self,
        participant: Participant,
        media: JanusMedia,
        send: Callable[[dict], None],
        peers: Callable[[], list],
    ) -> None:
        self.participant = participant
        self._media = media
        self._send = send
        self._peers = peers  # -> [(Participant, ParticipantMedia)] of the room
        self._janus: JanusSession | None = None
        self._janus_lock = asyncio.Lock()
        self._pub: JanusHandle | None = None
        self._pub_lock = asyncio.Lock()
        self.feed_id: int | None = None
        self.published = False  # Janus has our publisher's streams
        # Janus's PeerConnection with our publisher is up ("webrtcup"). Only then
        # does Janus accept subscriptions to our feed: before, a subscriber's join
        # fails with 428 "No such feed" and costs it a reset and a retry.
        self.media_up = False
        self._sub: JanusHandle | None = None
        self._sub_streams: list[dict] = []
        self._answer: asyncio.Future | None = None
        self._offer_message: dict | None = None
        self._unsolicited: list[tuple[dict, dict]] = []
        self._dirty = asyncio.Event()
        self._loop_task = asyncio.create_task(self._reconcile_loop())
        self._closed = False
        # mid -> {'substream', 'temporal'} as Janus last reported relaying them.
        self.received_layers: dict[str, dict[str, int]] = {}
        self.layers = LayerControl(
            self._configure_layer,
            self._received_names,
            lambda: self.received_layers,
            label=participant.sid,
        )

    # Lifecycle ------------------------------------------------------------------

    async def close(self) -> None:
        self._closed = True
        self._loop_task.cancel()
        self._fail_answer()
        janus, self._janus = self._janus, None
        self._pub = self._sub = None
        self.published = self.media_up = False
        if janus is not None:
            await janus.destroy()

    def reset(self) -> None:
        """Forget every Janus object (Janus restarted or our session was lost)."""
        janus, self._janus = self._janus, None
        self._pub = self._sub = None
        self._sub_streams = []
        self.received_layers = {}
        self._unsolicited.clear()
        self.published = self.media_up = False
        self.feed_id = None
        self._fail_answer()
        if janus is not None and not janus.closed:
            asyncio.ensure_future(janus.destroy())

    def _fail_answer(self) -> None:
        if self._answer is not None and not self._answer.done():
            self._answer.set_exception(JanusGone(0, 'renegotiation abandoned'))
        self._offer_message = None

    async def _session(self) -> JanusSession:
        async with self._janus_lock:
            if self._janus is None or self._janus.closed:
                self._janus = await self._media.new_session(on_lost=self._session_lost)
            return self._janus

    def _session_lost(self) -> None:
        if self._closed or self._janus is None:
            return
        log.info('Janus session of %s lost; resetting its media', self.participant.sid)
        self.reset()
        self._send({'type': 'mediaReconnecting', 'reason': 'media session lost'})
        self._send({'type': 'mediaReconnected'})
        self.resubscribe()

    # Publishing -------------------------------------------------------------------

    async def publish(self, sdp: str, tracks: list[dict]) -> str:
        """Hand the browser's offer to Janus; return Janus's answer SDP."""
        room = self.participant.room
        async with self._pub_lock:
            janus = await self._session()
            await self._media.ensure_room(room)
            if self._pub is None:
                self._pub = await janus.attach(self.participant.sid, self._on_pub_event)
                self.feed_id = secrets.randbelow(2**52) + 1
                self.published = self.media_up = False
                await self._pub.message(
                    {
                        'request': 'join',
                        'ptype': 'publisher',
                        'room': room.media_id,
                        'id': self.feed_id,
                        'display': self.participant.identity,
                    }
                )
            body = {
                'request': 'configure' if self.published else 'publish',
                'descriptions': [
                    {'mid': t['mid'], 'description': t['name']} for t in tracks
                ],
            }
            if self._media.recording_options is not None:
                body.update(
                    self._media.recording_options(
                        self.participant, tracks, not self.published
                    )
                )
            # The page lists simulcast encodings lowest first (send-layers.js).
            offer = {'type': 'offer', 'sdp': sdp, 'trickle': False, 'rid_order': 'lmh'}
            _, jsep = await self._pub.message(body, jsep=offer)
            if not jsep or jsep.get('type') != 'answer':
                raise JanusError(0, 'Janus sent no answer to the publish offer')
            self.published = True
            return jsep['sdp']

    async def set_recording(self, base: str | None) -> None:
        """Have Janus record our publisher into `base`, or stop (None)."""
        async with self._pub_lock:
            if self._pub is None or not self.published:
                return  # the next publish carries the recording options
            body: dict = {'request': 'configure', 'record': base is not None}
            if base is not None:
                body['filename'] = base
            try:
                await self._pub.message(body)
            except (JanusError, JanusGone) as ex:
                log.warning(
                    'recording change for %s failed: %s', self.participant.sid, ex
                )

    async def request_keyframe(self) -> None:
        """Ask the browser for a keyframe of every video track it publishes.

        A new RTP forwarder (the broadcast encoder) can only start decoding at a
        keyframe, and Janus 1.1.2 requests none for forwarders added by `streams`.
        """
        async with self._pub_lock:
            if self._pub is None or not self.published:
                return
            try:
                await self._pub.message({'request': 'configure', 'keyframe': True})
            except (JanusError, JanusGone) as ex:
                log.info('keyframe request for %s failed: %s', self.participant.sid, ex)

    async def reset_publisher(self) -> None:
        """Drop the publisher handle (the browser restarts its PeerConnection)."""
        async with self._pub_lock:
            pub, self._pub = self._pub, None
            self.published = self.media_up = False
            self.feed_id = None
            if pub is not None:
                await pub.detach()

    def _on_pub_event(self, event: dict) -> None:
        if self._pub is None or event.get('sender') != self._pub.id:
            return  # an event of a handle we dropped meanwhile
        kind = event.get('janus')
        if kind == 'webrtcup':
            self.media_up = True
            # Now others can subscribe to what we publish.
            for _, peer in self._peers():
                if peer is not None and peer is not self:
                    peer.resubscribe()
        elif kind == 'hangup':
            self.media_up = False

    # Subscribing -------------------------------------------------------------------

    def resubscribe(self) -> None:
        """Ask the reconcile loop to compare rules with the current subscription."""
        self._dirty.set()

    async def reset_subscriber(self) -> None:
        sub, self._sub = self._sub, None
        self._sub_streams = []
        self.received_layers = {}
        self._unsolicited.clear()
        self._fail_answer()
        if sub is not None:
            await sub.detach()
        self.resubscribe()

    def answer(self, sdp: str) -> None:
        if self._answer is not None and not self._answer.done():
            self._answer.set_result(sdp)

    def pending_offer(self) -> dict | None:
        """Return the subscriber offer awaiting an answer (resent on resume)."""
        return self._offer_message

    def _on_sub_event(self, event: dict) -> None:
        jsep = event.get('jsep')
        data = event.get('plugindata', {}).get('data', {})
        if jsep and jsep.get('type') == 'offer':
            # Janus renegotiates by itself when a feed we receive goes away.
            self._unsolicited.append((data, jsep))
            self._dirty.set()
        elif data.get('videoroom') == 'event' and 'mid' in data:
            self._layer_switched(data)
        elif event.get('janus') == 'hangup' and self._sub is not None:
            asyncio.ensure_future(self.reset_subscriber())

    def _layer_switched(self, data: dict) -> None:
        """Janus says which layer a received stream now relays: tell the attendee."""
        layer = self.received_layers.setdefault(str(data['mid']), {})
        for key in ('substream', 'temporal'):
            if isinstance(data.get(key), int):
                layer[key] = data[key]
        self._send({'type': 'layerSwitched', 'mid': str(data['mid']), **layer})

    def _desired(self) -> dict[tuple[int, str], tuple[Participant, object]]:
        me = self.participant
        wanted = {}
        for other, other_media in self._peers():
            if other is me or other_media is None:
                continue
            if not (other_media.published and other_media.media_up):
                continue
            for track in other.tracks.values():
                if me.wants(other, track):
                    wanted[(other_media.feed_id, track.mid)] = (other, track)
        return wanted

    async def _reconcile_loop(self) -> None:
        while not self._closed:
            await self._dirty.wait()
            self._dirty.clear()
            try:
                while self._unsolicited:
                    data, jsep = self._unsolicited.pop(0)
                    await self._negotiate(data, jsep)
                await self._reconcile()
            except asyncio.CancelledError:
                raise
            except MediaUnavailable:
                pass  # media_up() resubscribes everyone
            except (JanusError, TimeoutError) as ex:
                log.info(
                    'subscription of %s failed (%s); starting it afresh',
                    self.participant.sid,
                    ex,
                )
                if self._closed:
                    return
                self._send({'type': 'subscriberReset'})
                await self.reset_subscriber()
                await asyncio.sleep(0.5)

    async def _reconcile(self) -> None:
        desired = self._desired()
        current = {
            (s['feed_id'], s['feed_mid'])
            for s in self._sub_streams
            if s.get('active', True) and 'feed_id' in s
        }
        add = [k for k in desired if k not in current]
        remove = [k for k in current if k not in desired]
        if not add and not remove:
            return
        room = self.participant.room
        if self._sub is None:
            if not add:
                return
            janus = await self._session()
            await self._media.ensure_room(room)
            self._sub = await janus.attach(self.participant.sid, self._on_sub_event)
            self.layers.handle_replaced()
            data, jsep = await self._sub.message(
                {
                    'request': 'join',
                    'ptype': 'subscriber',
                    'room': room.media_id,
                    'streams': [{'feed': feed, 'mid': mid} for feed, mid in add],
                    'autoupdate': True,
                }
            )
        else:
            body = {'request': 'update'}
            if add:
                body['subscribe'] = [{'feed': feed, 'mid': mid} for feed, mid in add]
            if remove:
                body['unsubscribe'] = [
                    {'feed': feed, 'mid': mid} for feed, mid in remove
                ]
            data, jsep = await self._sub.message(body)
        # Publishers that change meanwhile call resubscribe(), which runs us again.
        await self._negotiate(data, jsep)

    async def _negotiate(self, data: dict, jsep: dict | None) -> None:
        if 'streams' in data:
            self._sub_streams = data['streams']
        if not jsep or self._sub is None:
            return
        streams = []
        for stream in self._sub_streams:
            if not stream.get('active', True) or 'feed_id' not in stream:
                continue
            found = self._track_for(stream['feed_id'], stream.get('feed_mid'))
            if found is None:
                continue
            publisher, track = found
            streams.append(
                {
                    'mid': stream['mid'],
                    'participant': publisher.sid,
                    'track': track.sid,
                    'name': track.name,
                    'kind': track.kind,
                }
            )
        self._answer = asyncio.get_running_loop().create_future()
        self._offer_message = {
            'type': 'subscriberOffer',
            'sdp': jsep['sdp'],
            'streams': streams,
        }
        self._send(self._offer_message)
        try:
            answer = await asyncio.wait_for(self._answer, ANSWER_TIMEOUT)
        finally:
            self._offer_message = None
        await self._sub.message(
            {'request': 'start'}, jsep={'type': 'answer', 'sdp': answer}
        )
        await self.layers.reapply()

    def _received_names(self) -> dict[str, tuple[str, str]]:
        """Subscriber mid -> (publisher sid, track name), for the streams we receive."""
        names = {}
        for stream in self._sub_streams:
            if not stream.get('active', True) or 'feed_id' not in stream:
                continue
            found = self._track_for(stream['feed_id'], stream.get('feed_mid'))
            if found is not None:
                names[stream['mid']] = (found[0].sid, found[1].name)
        return names

    async def _configure_layer(self, mid: str, substream: int, temporal: int) -> None:
        """Switch one received video stream to another simulcast layer."""
        stream = next((s for s in self._sub_streams if s.get('mid') == mid), None)
        if self._sub is None or stream is None:
            return
        # Each switch costs the publisher a keyframe: batch them per publisher stream.
        key = (stream.get('feed_id'), stream.get('feed_mid'))
        await self._media.keyframes.wait(key)
        if self._sub is None:
            return
        await self._sub.message(
            {
                'request': 'configure',
                'streams': [{'mid': mid, 'substream': substream, 'temporal': temporal}],
            }
        )

    def _track_for(self, feed_id: int, mid: str | None):
        for other, other_media in self._peers():
            if other_media is not None and other_media.feed_id == feed_id:
                for track in other.tracks.values():
                    if track.mid == mid:
                        return other, track
        return None
