"""Room status callbacks, signed like Twilio's and sent from a queue with retries.

Signalling only enqueues; a few workers deliver. A failed delivery is retried later
with backoff on its own task, so a slow or stopped webhooks service delays nothing
but its own callbacks. Receivers must tolerate reordering and duplicates, as with
Twilio.
"""

from __future__ import annotations

import asyncio
import logging
from urllib.parse import urlencode

import httpx
from twilio.request_validator import RequestValidator

from .clock import iso_millis, utcnow

log = logging.getLogger(__name__)

# Seconds before each retry: about 30 s in all, like Twilio's own retries, so a
# webhooks service that restarts (or a Redis that does) loses no callback.
RETRY_DELAYS = (0.5, 1.0, 2.0, 4.0, 8.0, 15.0)
WORKERS = 1  # in-order delivery while the receiver is healthy; retries run aside
TIMEOUT = 5.0


class CallbackSender:
    """Build, sign and deliver status callbacks."""

    def __init__(
        self,
        account_sid: str,
        auth_token: str,
        *,
        client: httpx.AsyncClient | None = None,
        retry_delays: tuple[float, ...] = RETRY_DELAYS,
    ) -> None:
        self._account_sid = account_sid
        self._validator = RequestValidator(auth_token)
        self._client = client
        self._own_client = client is None
        self._retry_delays = retry_delays
        self._queue: asyncio.Queue | None = None
        self._tasks: set[asyncio.Task] = set()
        self._pending: list[tuple[str, str, dict[str, str], int]] = []

    def send(self, room, event: str, extra: dict[str, str]) -> None:
        """Queue one callback for `room` (no-op when the room has no StatusCallback)."""
        if not room.status_callback:
            return
        room.sequence += 1
        params = {
            'AccountSid': self._account_sid,
            'RoomName': room.unique_name,
            'RoomSid': room.sid,
            'RoomStatus': 'completed' if event == 'room-ended' else room.status,
            'RoomType': 'group',
            'StatusCallbackEvent': event,
            'Timestamp': iso_millis(utcnow()),
            'SequenceNumber': str(room.sequence - 1),
            **extra,
        }
        self.send_to(room.status_callback, room.status_callback_method, params)

    def send_to(self, url: str, method: str, params: dict[str, str]) -> None:
        """Queue one signed callback to `url` (compositions have their own URL)."""
        item = (url, method, params, 0)
        if self._queue is None:
            self._pending.append(item)
        else:
            self._queue.put_nowait(item)

    async def start(self) -> None:
        self._queue = asyncio.Queue()
        if self._client is None:
            self._client = httpx.AsyncClient(timeout=TIMEOUT)
        for item in self._pending:
            self._queue.put_nowait(item)
        self._pending.clear()
        for _ in range(WORKERS):
            self._spawn(self._work())

    async def stop(self, drain: float = 2.0) -> None:
        """Give queued callbacks `drain` seconds, then stop the workers."""
        if self._queue is not None and drain > 0:
            try:
                await asyncio.wait_for(self._queue.join(), drain)
            except TimeoutError:
                log.warning(
                    'stopping with %d status callbacks undelivered', self._queue.qsize()
                )
        for task in list(self._tasks):
            task.cancel()
        await asyncio.gather(*self._tasks, return_exceptions=True)
        if self._own_client and self._client is not None:
            await self._client.aclose()

    def _spawn(self, coro) -> None:
        task = asyncio.create_task(coro)
        self._tasks.add(task)
        task.add_done_callback(self._tasks.discard)

    async def _work(self) -> None:
        while True:
            item = await self._queue.get()
            try:
                await self._deliver(*item)
            except Exception:  # a bug here must not kill the worker
                log.exception('status callback delivery failed')
            finally:
                self._queue.task_done()

    async def _deliver(
        self, url: str, method: str, params: dict[str, str], attempt: int
    ) -> None:
        if method == 'GET':
            sep = '&' if '?' in url else '?'
            full = url + sep + urlencode(params)
            signature = self._validator.compute_signature(full, {})
            request = self._client.build_request(
                'GET', full, headers={'X-Twilio-Signature': signature}
            )
        else:
            signature = self._validator.compute_signature(url, params)
            request = self._client.build_request(
                'POST', url, data=params, headers={'X-Twilio-Signature': signature}
            )
        try:
            response = await self._client.send(request)
            ok = response.status_code < 500 and response.status_code != 429
            status = response.status_code
        except httpx.HTTPError as ex:
            ok, status = False, type(ex).__name__
        if ok:
            return
        event = params['StatusCallbackEvent']
        if attempt >= len(self._retry_delays):
            log.warning(
                'gave up on %s callback for %s after %d attempts (%s)',
                event,
                params['RoomSid'],
                attempt + 1,
                status,
            )
            return
        delay = self._retry_delays[attempt]
        log.info('%s callback failed (%s); retrying in %.1f s', event, status, delay)
        self._spawn(self._retry_later(delay, (url, method, params, attempt + 1)))

    async def _retry_later(self, delay: float, item) -> None:
        await asyncio.sleep(delay)
        self._queue.put_nowait(item)
