"""Run compositions in the background: a queue, ffmpeg, progress, and callbacks.

One composition at a time by default (PODIUM_COMPOSITION_WORKERS): ffmpeg keeps a
core busy. Progress comes from ffmpeg's `-progress` output. Every state change is
written to the composition's JSON file first, so a restart finds it: enqueued or
interrupted compositions are composed again from the start (ffmpeg cannot resume
a half-written MP4).
"""

from __future__ import annotations

import asyncio
import logging
import shutil
import signal
from dataclasses import replace
from datetime import timedelta

from .clock import iso_millis, utcnow
from .composer import build_command, parse_resolution, parse_video_layout, pick_audio
from .compositions import Composition, CompositionStore, created_at, transition
from .config import LocalVideoConfig
from .media_tools import ffprobe_for, last_line, probe_duration

log = logging.getLogger(__name__)

PROGRESS_STEP = 10  # percent between composition-progress callbacks, like Twilio
# Less free space than this after a failure: say the disk is full (ffmpeg's own
# log may not have had room for its reason).
DISK_FULL_BYTES = 1024 * 1024


class CompositionWorker:
    def __init__(
        self, config: LocalVideoConfig, store: CompositionStore, callbacks
    ) -> None:
        self._config = config
        self.store = store
        self._callbacks = callbacks
        self._queue: asyncio.Queue[str] = asyncio.Queue()
        self._tasks: list[asyncio.Task] = []
        self.running: dict[str, asyncio.subprocess.Process] = {}

    async def start(self) -> None:
        self._queue = asyncio.Queue()
        self.prune()
        for item in sorted(self.store.load(), key=lambda c: c.date_created):
            if item.status == 'processing':
                log.info('composition %s was interrupted; composing it again', item.sid)
                item = self.store.put(transition(item, 'enqueued'))
            if item.status == 'enqueued':
                self._queue.put_nowait(item.sid)
        for _ in range(self._config.composition_workers):
            self._tasks.append(asyncio.create_task(self._work()))

    async def stop(self) -> None:
        """Stop ffmpeg and the workers; what was under way stays `processing` on
        disk, so the next start composes it again."""
        for process in list(self.running.values()):
            if process.returncode is None:
                process.kill()
        for task in self._tasks:
            task.cancel()
        await asyncio.gather(*self._tasks, return_exceptions=True)
        self._tasks.clear()

    def enqueue(self, composition: Composition) -> Composition:
        composition = self.store.put(composition)
        self._send(composition, 'composition-enqueued', {})
        self._queue.put_nowait(composition.sid)
        return composition

    def prune(self) -> None:
        """Delete compositions past the retention period (0: keep forever)."""
        days = self._config.recordings_retention_days
        if not days:
            return
        cutoff = utcnow() - timedelta(days=days)
        for item in self.store.load():
            if item.status in ('completed', 'failed') and created_at(item) < cutoff:
                self.store.media_path(item).unlink(missing_ok=True)
                self.store.put(transition(item, 'deleted'))

    async def _work(self) -> None:
        while True:
            sid = await self._queue.get()
            item = self.store.get(sid)
            if item is None or item.status != 'enqueued':
                continue
            try:
                await self._compose(item)
            except asyncio.CancelledError:
                raise
            except OSError as ex:  # the disk is full, or the folder went away
                log.warning('composition %s: %s', sid, ex)
                self.store.media_path(item).unlink(missing_ok=True)
                self._fail(
                    self.store.get(sid),
                    f'could not write the composition: {ex.strerror}',
                )
            except Exception as ex:  # a bug must fail one composition, not the worker
                log.exception('composition %s failed', sid)
                self._fail(self.store.get(sid), f'internal error: {ex}')

    async def _compose(self, item: Composition) -> None:
        size = parse_resolution(item.resolution)
        regions = parse_video_layout(item.video_layout, size)
        sources = list(item.sources)
        audio = pick_audio(sources, item.audio_sources, item.audio_sources_excluded)
        output = self.store.media_path(item)
        command = build_command(
            self._config.ffmpeg_binary, sources, regions, audio, size, str(output),
            item.format,
        )  # fmt: skip
        item = self.store.put(transition(item, 'processing', percent=0))
        self._send(item, 'composition-started', {})
        log_path = self.store.log_path(item)
        with log_path.open('wb') as log_file:
            try:
                process = await asyncio.create_subprocess_exec(
                    *command.args,
                    stdin=asyncio.subprocess.DEVNULL,
                    stdout=asyncio.subprocess.PIPE,
                    stderr=log_file,
                )
            except OSError as ex:
                self._fail(item, f'{command.args[0]} could not start: {ex.strerror}')
                return
            self.running[item.sid] = process
            try:
                item = await self._follow(item, process, command.duration)
                returncode = await process.wait()
            finally:
                self.running.pop(item.sid, None)
        if returncode != 0:
            output.unlink(missing_ok=True)
            if returncode < 0:
                why = f'ffmpeg was stopped by signal {signal.Signals(-returncode).name}'
            elif self._disk_full():
                why = 'ffmpeg failed: No space left on device'
            else:
                why = (
                    f'ffmpeg failed: {last_line(log_path.read_text(errors="replace"))}'
                )
            self._fail(item, why)
            return
        duration = await probe_duration(
            ffprobe_for(self._config.ffmpeg_binary), str(output)
        )
        file_size = output.stat().st_size
        item = self.store.put(
            transition(
                item,
                'completed',
                size=file_size,
                duration=duration,
                bitrate=int(file_size * 8 / duration / 1000) if duration else 0,
            )
        )
        log_path.unlink(missing_ok=True)
        self._send(
            item,
            'composition-available',
            {
                'MediaUri': f'/v1/Compositions/{item.sid}/Media',
                'Duration': str(round(duration)),
                'Size': str(file_size),
            },
        )

    async def _follow(self, item: Composition, process, duration: float):
        """Read `-progress` lines; send composition-progress every 10 %."""
        started = asyncio.get_running_loop().time()
        reported = 0
        while line := await process.stdout.readline():
            key, _, value = line.decode(errors='replace').strip().partition('=')
            if key != 'out_time_us' or not value.isdigit() or duration <= 0:
                continue
            done = min(99, int(int(value) / 1e6 / duration * 100))
            if done >= reported + PROGRESS_STEP:
                reported = done - done % PROGRESS_STEP
                elapsed = asyncio.get_running_loop().time() - started
                remaining = elapsed * (100 - done) / max(done, 1)
                item = self.store.put(replace(item, percent=reported))
                self._send(
                    item,
                    'composition-progress',
                    {
                        'PercentageDone': str(reported),
                        'SecondsRemaining': str(round(remaining)),
                    },
                )
        return item

    def _disk_full(self) -> bool:
        try:
            return shutil.disk_usage(self.store.folder).free < DISK_FULL_BYTES
        except OSError:
            return False

    def _fail(self, item: Composition | None, why: str) -> None:
        if item is None or item.status not in ('enqueued', 'processing'):
            return
        log.warning('composition %s failed: %s', item.sid, why)
        failed = transition(item, 'failed', error=why)
        try:
            item = self.store.put(failed)
        except OSError as ex:
            # A full disk must not swallow the callback: the API answers from
            # memory; after a restart the composition resumes (and fails again).
            log.error('composition %s: could not save its failure: %s', item.sid, ex)
            item = failed
        self._send(
            item,
            'composition-failed',
            {'FailedOperation': 'composition', 'ErrorMessage': why},
        )

    def _send(self, item: Composition, event: str, extra: dict[str, str]) -> None:
        if not item.status_callback:
            return
        self._callbacks.send_to(
            item.status_callback,
            item.status_callback_method,
            {
                'AccountSid': self._config.account_sid,
                'RoomSid': item.room_sid,
                'CompositionSid': item.sid,
                'CompositionUri': f'/v1/Compositions/{item.sid}',
                'StatusCallbackEvent': event,
                'Timestamp': iso_millis(utcnow()),
                **extra,
            },
        )
