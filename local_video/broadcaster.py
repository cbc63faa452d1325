"""A room's live broadcast: Janus RTP forwarders feeding one ffmpeg writing HLS.

A reconcile loop looks at every room on air once a second: which of its publishers'
tracks belong in the picture (broadcast_plan.wanted_feeds) and whether the encoder
that runs was started for exactly those. When they differ (the presenter shared
another screen, stopped the camera, reloaded, Janus restarted) or the encoder died,
it tears the forwarders and the encoder down and starts them again: the playlists
continue (append_list), players see a discontinuity after a short stall.
"""

from __future__ import annotations

import asyncio
import contextlib
import dataclasses
import logging
import re
import shutil
import socket
import tempfile
import time
from collections import deque
from collections.abc import Callable
from pathlib import Path

from . import broadcast_plan
from .broadcast_plan import Feed
from .config import LocalVideoConfig
from .janus_api import JanusError, JanusGone
from .media import JanusMedia, MediaUnavailable
from .rooms import Room

log = logging.getLogger(__name__)

TICK = 1.0
STOP_GRACE = 3.0  # seconds ffmpeg gets to close its files on SIGTERM
MAX_BACKOFF = 10.0
# Keyframes asked for after an encoder starts: the first may come before ffmpeg
# reads, the later ones cover a slow ICE start of a fresh publisher.
KEYFRAME_DELAYS = (0.0, 1.0, 3.0)
STALE_INPUT = 'Could not find codec parameters'
SAFE_NAME = re.compile(r'[A-Za-z0-9_-]{1,128}')


@dataclasses.dataclass
class OnAir:
    """One room's broadcast and what runs for it."""

    room: Room
    folder: Path
    status: str = 'waiting'  # waiting (nothing to show) | live | restarting
    started_at: float = dataclasses.field(default_factory=time.time)
    signature: tuple = ()
    process: asyncio.subprocess.Process | None = None
    forwarders: list[tuple[int, int]] = dataclasses.field(default_factory=list)
    restarts: int = 0
    retry_at: float = 0.0
    backoff: float = 1.0
    stale: bool = False
    last_error: str = ''
    log_lines: deque = dataclasses.field(default_factory=lambda: deque(maxlen=20))
    tasks: set = dataclasses.field(default_factory=set)

    def as_json(self) -> dict:
        return {
            'status': self.status,
            'playlist': f'{self.folder.name}/{broadcast_plan.PLAYLIST}',
            'restarts': self.restarts,
            'last_error': self.last_error or None,
        }


def folder_name(room: Room) -> str:
    """The room's folder under the broadcast directory (its URL path too)."""
    return room.unique_name if SAFE_NAME.fullmatch(room.unique_name) else room.sid


def free_port_pair() -> int:
    """An even loopback UDP port whose odd neighbour (ffmpeg's RTCP) is free too."""
    for _ in range(50):
        with socket.socket(socket.AF_INET, socket.SOCK_DGRAM) as probe:
            probe.bind(('127.0.0.1', 0))
            port = probe.getsockname()[1] & ~1
        try:
            with (
                socket.socket(socket.AF_INET, socket.SOCK_DGRAM) as rtp,
                socket.socket(socket.AF_INET, socket.SOCK_DGRAM) as rtcp,
            ):
                rtp.bind(('127.0.0.1', port))
                rtcp.bind(('127.0.0.1', port + 1))
        except OSError:
            continue
        return port
    raise OSError('no free UDP port pair on loopback')


class Broadcaster:
    """Every room's broadcast in this local_video process."""

    def __init__(
        self,
        config: LocalVideoConfig,
        media: JanusMedia | None,
        media_of: Callable,
        *,
        tick: float = TICK,
    ) -> None:
        self._config = config
        self._media = media
        self._media_of = media_of  # Participant -> ParticipantMedia | None
        self._tick = tick
        self._rooms: dict[str, OnAir] = {}
        self._loop: asyncio.Task | None = None
        self._work = Path(tempfile.mkdtemp(prefix='podium-broadcast-'))

    @property
    def folder(self) -> Path:
        return Path(self._config.broadcast_dir)

    # What REST and the registry call --------------------------------------------

    def get(self, room: Room) -> OnAir | None:
        return self._rooms.get(room.sid)

    def turn_on(self, room: Room) -> OnAir:
        on_air = self._rooms.get(room.sid)
        if on_air is None:
            folder = self.folder / folder_name(room)
            shutil.rmtree(folder, ignore_errors=True)  # a new broadcast starts fresh
            for rendition in self._config.broadcast_renditions:
                (folder / rendition.name).mkdir(parents=True, exist_ok=True)
            on_air = self._rooms[room.sid] = OnAir(room=room, folder=folder)
            log.info('broadcast of room %s on', room.sid)
        return on_air

    async def turn_off(self, room: Room) -> None:
        on_air = self._rooms.pop(room.sid, None)
        if on_air is None:
            return
        await self._teardown(on_air)
        for task in on_air.tasks:
            task.cancel()
        # Old segments are deleted: a broadcast is live, not a recording.
        shutil.rmtree(on_air.folder, ignore_errors=True)
        log.info('broadcast of room %s off', room.sid)

    def room_ended(self, room: Room) -> None:
        if room.sid in self._rooms:
            asyncio.ensure_future(self.turn_off(room))

    # Lifecycle ----------------------------------------------------------------------

    async def start(self) -> None:
        self._loop = asyncio.create_task(self._run())

    async def stop(self) -> None:
        if self._loop is not None:
            self._loop.cancel()
            with contextlib.suppress(asyncio.CancelledError):
                await self._loop
        for on_air in list(self._rooms.values()):
            await self.turn_off(on_air.room)
        shutil.rmtree(self._work, ignore_errors=True)

    async def _run(self) -> None:
        while True:
            for on_air in list(self._rooms.values()):
                try:
                    await self.reconcile(on_air)
                except (JanusError, JanusGone, MediaUnavailable, OSError) as ex:
                    on_air.last_error = f'could not start the broadcast: {ex}'
                    log.warning('broadcast of %s: %s', on_air.room.sid, ex)
                    await self._teardown(on_air)
                    self._back_off(on_air)
            await asyncio.sleep(self._tick)

    # Reconcile ----------------------------------------------------------------------

    def _publishers(self, room: Room) -> tuple[list, dict[int, object]]:
        publishers, handles = [], {}
        for participant in room.connected():
            media = self._media_of(participant)
            if media is None or not media.published or not media.media_up:
                continue  # no RTP flows before Janus's PeerConnection is up
            tracks = [(t.mid, t.name, t.kind) for t in participant.tracks.values()]
            publishers.append((participant.identity, media.feed_id, tracks))
            handles[media.feed_id] = media
        return publishers, handles

    async def reconcile(self, on_air: OnAir) -> None:
        publishers, handles = self._publishers(on_air.room)
        feeds = broadcast_plan.wanted_feeds(publishers)
        wanted = broadcast_plan.signature(feeds)
        running = on_air.process is not None and on_air.process.returncode is None
        if running and wanted == on_air.signature and not on_air.stale:
            return
        if not running and on_air.process is not None:
            on_air.restarts += 1
            on_air.last_error = 'the encoder stopped: ' + (
                on_air.log_lines[-1]
                if on_air.log_lines
                else f'exit {on_air.process.returncode}'
            )
            log.warning('broadcast of %s: %s', on_air.room.sid, on_air.last_error)
            on_air.process = None
            self._back_off(on_air)
        if time.monotonic() < on_air.retry_at:
            return
        await self._teardown(on_air)
        on_air.signature = wanted
        if not feeds:
            on_air.status = 'waiting'
            return
        on_air.status = 'restarting' if on_air.restarts else 'live'
        await self._launch(on_air, feeds, handles)
        on_air.status = 'live'

    def _back_off(self, on_air: OnAir) -> None:
        on_air.retry_at = time.monotonic() + on_air.backoff
        on_air.backoff = min(on_air.backoff * 2, MAX_BACKOFF)

    async def _launch(self, on_air: OnAir, feeds: list[Feed], handles: dict) -> None:
        feeds = [dataclasses.replace(f, port=free_port_pair()) for f in feeds]
        sdp_path = self._work / f'{on_air.folder.name}.sdp'
        sdp_path.write_text(broadcast_plan.sdp(feeds))
        args = broadcast_plan.encoder_args(
            self._config.ffmpeg_binary,
            str(sdp_path),
            feeds,
            self._config.broadcast_renditions,
            str(on_air.folder),
            segment_seconds=self._config.broadcast_segment_seconds,
        )
        on_air.stale = False
        on_air.process = await asyncio.create_subprocess_exec(
            *args,
            stdin=asyncio.subprocess.DEVNULL,
            stdout=asyncio.subprocess.DEVNULL,
            stderr=asyncio.subprocess.PIPE,
        )
        self._spawn(on_air, self._read_log(on_air, on_air.process))
        if self._media is None:
            return
        # ffmpeg has bound its ports once it reads the SDP; a few ms are enough,
        # and packets sent before are only the ones before the first keyframe.
        await asyncio.sleep(0.2)
        by_publisher: dict[int, list[Feed]] = {}
        for feed in feeds:
            by_publisher.setdefault(feed.publisher_id, []).append(feed)
        for publisher_id, own in by_publisher.items():
            reply = await self._media.videoroom_request(
                {
                    'request': 'rtp_forward',
                    'room': on_air.room.media_id,
                    'publisher_id': publisher_id,
                    'host': '127.0.0.1',
                    'host_family': 'ipv4',
                    # simulcast: forward like a viewer would get it, the best layer
                    # the presenter sends (without it Janus forwards substream 0,
                    # the lowest, of a simulcast stream).
                    'streams': [
                        {
                            'mid': f.mid,
                            'port': f.port,
                            'pt': f.payload_type,
                            **({'simulcast': True} if f.kind == 'video' else {}),
                        }
                        for f in own
                    ],
                }
            )
            for forwarder in reply.get('forwarders', []):
                on_air.forwarders.append((publisher_id, forwarder['stream_id']))
        for publisher_id in by_publisher:
            self._spawn(on_air, self._keyframes(handles[publisher_id]))
        on_air.backoff = 1.0 if on_air.restarts == 0 else on_air.backoff

    async def _keyframes(self, media) -> None:
        waited = 0.0
        for delay in KEYFRAME_DELAYS:
            await asyncio.sleep(delay - waited)
            waited = delay
            await media.request_keyframe()

    async def _read_log(self, on_air: OnAir, process) -> None:
        """Keep ffmpeg's last lines (for errors); notice an input it gave up on."""
        while line := await process.stderr.readline():
            text = line.decode('utf-8', 'replace').strip()
            if not text:
                continue
            on_air.log_lines.append(text)
            if STALE_INPUT in text:
                # A track sent no keyframe while ffmpeg probed: it would stay black.
                on_air.stale = True

    async def _teardown(self, on_air: OnAir) -> None:
        forwarders, on_air.forwarders = on_air.forwarders, []
        if self._media is not None:
            for publisher_id, stream_id in forwarders:
                with contextlib.suppress(JanusError, JanusGone, MediaUnavailable):
                    await self._media.videoroom_request(
                        {
                            'request': 'stop_rtp_forward',
                            'room': on_air.room.media_id,
                            'publisher_id': publisher_id,
                            'stream_id': stream_id,
                        }
                    )
        process, on_air.process = on_air.process, None
        if process is not None and process.returncode is None:
            process.terminate()
            try:
                await asyncio.wait_for(process.wait(), STOP_GRACE)
            except TimeoutError:
                process.kill()
                await process.wait()

    def _spawn(self, on_air: OnAir, coro) -> None:
        task = asyncio.ensure_future(coro)
        on_air.tasks.add(task)
        task.add_done_callback(on_air.tasks.discard)
