"""The media side of the local backend: Janus rooms and sessions for participants.

Janus forgets API-created rooms when it restarts, so rooms are created lazily, once
per Janus "generation", by whoever first needs them.
"""

from __future__ import annotations

import asyncio
import logging
import shutil
import tempfile
from collections.abc import Callable
from pathlib import Path

import httpx

from .config import LocalVideoConfig
from .janus_api import JanusError, JanusGone, JanusSession
from .janus_config import JanusSettings, detect_interface_ip, write_config
from .janus_process import JanusProcess
from .keyframe_gate import KeyframeGate

log = logging.getLogger(__name__)

ROOM_BITRATE = 3_000_000  # bits/s per publisher: 720p camera + 720p screen + audio
ROOM_EXISTS = 427


class MediaUnavailable(Exception):
    """No media server is configured or running."""


class JanusMedia:
    """Owns the Janus child process and the VideoRoom rooms inside it."""

    def __init__(self, config: LocalVideoConfig) -> None:
        self._config = config
        self._http = httpx.AsyncClient(
            limits=httpx.Limits(max_connections=None, max_keepalive_connections=64)
        )
        self._tmp: str | None = None
        self.process: JanusProcess | None = None
        self.settings: JanusSettings | None = None
        self._rooms: dict[
            int, asyncio.Task
        ] = {}  # media_id -> creation, this generation
        self._admin: JanusSession | None = None
        self._admin_handle = None
        self._listeners: set = set()
        self.generation = 0
        # (participant, tracks, fresh handle) -> record/filename fields of a publish;
        # the recorder sets it (recorder.py).
        self.recording_options: Callable | None = None
        # Layer switches of all subscribers, coalesced per publisher stream.
        self.keyframes = KeyframeGate()

    async def start(self) -> None:
        if self._config.janus_run_dir:
            folder = Path(self._config.janus_run_dir)
        else:
            self._tmp = tempfile.mkdtemp(prefix='podium-janus-')
            folder = Path(self._tmp)
        self.settings = write_config(
            folder,
            http_port=self._config.janus_http_port,
            admin_port=self._config.janus_admin_port,
            ice_ip=detect_interface_ip(self._config.janus_interface),
            rtp_ports=self._config.janus_rtp_ports,
            public_ip=self._config.janus_public_ip,
        )
        self.process = JanusProcess(
            self._config.janus_binary,
            self.settings,
            self._http,
            on_down=self._down,
            on_up=self._up,
        )
        await self.process.start()

    async def stop(self) -> None:
        if self.process is not None:
            await self.process.stop()
        await self._http.aclose()
        if self._tmp:
            shutil.rmtree(self._tmp, ignore_errors=True)

    # Restart handling ----------------------------------------------------------

    def add_listener(self, listener) -> None:
        """Register an object with `media_down()` and `media_up()` methods."""
        self._listeners.add(listener)

    def remove_listener(self, listener) -> None:
        self._listeners.discard(listener)

    def _down(self) -> None:
        self.generation += 1
        self._rooms.clear()
        self._admin = self._admin_handle = None
        for listener in list(self._listeners):
            listener.media_down()

    async def _up(self) -> None:
        for listener in list(self._listeners):
            listener.media_up()

    # Sessions and rooms ---------------------------------------------------------

    async def new_session(
        self, on_lost: Callable[[], None] | None = None
    ) -> JanusSession:
        if self.process is None or not self.process.ready.is_set():
            raise MediaUnavailable('the media server is restarting')
        session = JanusSession(
            self._http, self.settings.api_url, self.settings.api_secret, on_lost=on_lost
        )
        return await session.create()

    async def _admin_request(self, body: dict) -> dict:
        if self._admin is None or self._admin.closed:
            self._admin = await self.new_session()
            self._admin_handle = await self._admin.attach('podium-local-video')
        data, _ = await self._admin_handle.message(body)
        return data

    async def videoroom_request(self, body: dict) -> dict:
        """Send a room-level VideoRoom request (rtp_forward and friends)."""
        return await self._admin_request(body)

    async def ensure_room(self, room) -> None:
        """Create `room` in Janus unless this Janus generation already has it."""
        task = self._rooms.get(room.media_id)
        if task is None or (task.done() and task.exception() is not None):
            task = asyncio.ensure_future(self._create_room(room))
            self._rooms[room.media_id] = task
        await asyncio.shield(task)

    async def _create_room(self, room) -> None:
        try:
            await self._admin_request(
                {
                    'request': 'create',
                    'room': room.media_id,
                    'description': room.unique_name[:100],
                    'publishers': max(room.max_participants, 1),
                    'bitrate': ROOM_BITRATE,
                    'bitrate_cap': False,
                    'notify_joining': True,
                    'audiocodec': 'opus',
                    'videocodec': 'vp8,h264',
                    'is_private': True,
                }
            )
        except JanusError as ex:
            if ex.code != ROOM_EXISTS:
                raise

    def room_ended(self, room) -> None:
        """Destroy a completed room in Janus, in the background."""
        task = self._rooms.pop(room.media_id, None)
        if task is not None:
            asyncio.ensure_future(self._destroy_room(room.media_id))

    async def _destroy_room(self, media_id: int) -> None:
        try:
            await self._admin_request({'request': 'destroy', 'room': media_id})
        except (JanusError, JanusGone, MediaUnavailable) as ex:
            log.info('could not destroy Janus room %s: %s', media_id, ex)
