"""Join as the attendee page does, timed: token, signalling, subscribe rules, media.

What web_service/static/js/presentation-session.js (watchPresentation) does on
Join, spoken from Python through nginx:

1. POST /api/presentations/{id}/tokens {"role": "attendee"} (no retry, as the page);
2. the signalling WebSocket from the token response (`signal_url`), connected
   with automaticSubscription false;
3. POST .../subscribe-rules with the token as Bearer, retried as retry.js does
   (4 attempts; Retry-After honoured plus a random share; 0/404/409/429/5xx only);
4. Janus's subscriber offer, answered; ICE/DTLS; RTP of the presenter's screen.

Times are from the press of Join (time.monotonic() in this process) to: the token
response, the signalling `connected`, the subscribe-rules answer, Janus's offer,
our answer sent, the PeerConnection `connected` (ICE + DTLS done), the first RTP
packet of the screen, and the end of its first complete VP8 key frame (what a
decoder needs to show a first picture). Each attendee sends its own
X-Forwarded-For address (198.18.0.0/15, the benchmarking range): nginx appends
to it and the token service, trusting nginx, counts limits per attendee address,
as it would for a real audience instead of one address for all.
"""

from __future__ import annotations

import asyncio
import contextlib
import random
import time

import httpx

from .clients import Attendee

RULES_ATTEMPTS = 4  # presentation-session.js SUBSCRIBE_RULES_ATTEMPTS
BACKOFF_S = 0.5  # retry.js BACKOFF_MS
MIN_SPREAD_S = 1.0  # retry.js MIN_SPREAD_MS
MAX_RETRY_AFTER_S = 30  # retry.js MAX_RETRY_AFTER_S
MEDIA_TIMEOUT = 45.0  # s from Join to the first key frame before calling it refused
POLL = 0.02


def retry_delay_s(attempt: int, retry_after: float | None, rand=random.random) -> float:
    """Seconds before the next attempt, as retry.js retryDelayMs (in seconds)."""
    if retry_after is not None and retry_after >= 0:
        return retry_after + rand() * max(retry_after, MIN_SPREAD_S)
    return BACKOFF_S * attempt * (0.5 + rand())


def retryable(status: int) -> bool:
    """presentation-session.js isRetryable: network errors, 404, 409, 429, 5xx."""
    return status in (0, 404, 409, 429) or status >= 500


def address(index: int) -> str:
    """The made-up client address of attendee `index` (198.18.0.1 onwards)."""
    return f'198.18.{index // 250}.{index % 250 + 1}'


def _retry_after(response: httpx.Response) -> float | None:
    value = response.headers.get('retry-after', '').strip()
    return float(value) if value.isdigit() else None


class PageJoin:
    """One attendee pressing Join; `result` holds its times (ms) and what failed."""

    def __init__(
        self,
        http: httpx.AsyncClient,
        presentation_id: str,
        index: int,
        *,
        media_timeout: float = MEDIA_TIMEOUT,
    ) -> None:
        self.http = http
        self.presentation_id = presentation_id
        self.index = index
        self.media_timeout = media_timeout
        self.headers = {'X-Forwarded-For': address(index)}
        self.attendee: Attendee | None = None
        self.result: dict = {'index': index, 'error': None, 'rules_statuses': []}
        self._pressed = 0.0

    def _mark(self, name: str) -> None:
        self.result[name] = round((time.monotonic() - self._pressed) * 1000, 1)

    def _fail(self, why: str) -> dict:
        self.result['error'] = why
        return self.result

    async def run(self, press_at: float) -> dict:
        """Wait until `press_at` (monotonic), press Join, return the result."""
        await asyncio.sleep(max(press_at - time.monotonic(), 0))
        self._pressed = time.monotonic()
        self.result['late_ms'] = round((self._pressed - press_at) * 1000, 1)
        path = f'/api/presentations/{self.presentation_id}'
        try:
            response = await self.http.post(
                f'{path}/tokens', json={'role': 'attendee'}, headers=self.headers
            )
        except httpx.HTTPError as ex:
            return self._fail(f'token: {type(ex).__name__}')
        self._mark('token_ms')
        self.result['token_status'] = response.status_code
        if not response.is_success:
            return self._fail(f'token: HTTP {response.status_code}')
        answer = response.json()
        self.attendee = Attendee(
            {'signal_url': answer['signal_url'], 'streams': ['screen']},
            answer['token'],
        )
        try:
            await self.attendee.join(automatic_subscription=False)
        except Exception as ex:  # refused or the socket failed: this page says so
            return self._fail(f'signalling: {ex!r}'[:200])
        self._mark('signal_ms')
        if not await self._subscribe_rules(path, answer['token']):
            return self.result
        self._mark('rules_ms')
        return await self._media()

    async def _subscribe_rules(self, path: str, token: str) -> bool:
        headers = {**self.headers, 'Authorization': f'Bearer {token}'}
        for attempt in range(1, RULES_ATTEMPTS + 1):
            retry_after = None
            try:
                response = await self.http.post(
                    f'{path}/subscribe-rules', json={}, headers=headers
                )
                status = response.status_code
                retry_after = _retry_after(response)
            except httpx.HTTPError:
                status = 0
            self.result['rules_statuses'].append(status)
            if 200 <= status < 300:
                return True
            too_long = retry_after is not None and retry_after > MAX_RETRY_AFTER_S
            if attempt == RULES_ATTEMPTS or too_long or not retryable(status):
                self._fail(f'subscribe rules: HTTP {status} after {attempt} attempts')
                return False
            await asyncio.sleep(retry_delay_s(attempt, retry_after))
        return False  # not reached

    def _screen(self):
        for transceiver in self.attendee.pc.getTransceivers():
            if getattr(transceiver.receiver, 'stream_name', None) == 'screen':
                return transceiver.receiver
        return None

    async def _media(self) -> dict:
        deadline = self._pressed + self.media_timeout
        while time.monotonic() < deadline:
            if self.attendee.error:
                return self._fail(self.attendee.error)
            receiver = self._screen()
            if receiver is not None and receiver.first.key_frame_at is not None:
                first, attendee = receiver.first, self.attendee
                for key, at in (
                    ('offer_ms', attendee.offer_at),
                    ('answer_ms', attendee.answered_at),
                    ('dtls_ms', attendee.connected_at),
                    ('first_rtp_ms', first.first_packet_at),
                    ('first_frame_ms', first.key_frame_at),
                ):
                    if at is not None:
                        self.result[key] = round((at - self._pressed) * 1000, 1)
                return self.result
            await asyncio.sleep(POLL)
        return self._fail(f'no complete screen key frame within {self.media_timeout} s')

    async def close(self) -> None:
        if self.attendee is not None:
            await self.attendee.close()


async def storm(settings: dict) -> None:
    """A client process of the join storm (`python -m bench.media.clients storm`).

    settings: base_url (nginx), presentation_id, members [{index, offset}],
    media_timeout. Prints "ready" once set up, waits for "go <epoch>" on stdin,
    then each member presses Join at epoch + offset (wall clock, shared by every
    process); prints "done" with every member's result; stays in the room, media
    flowing, until "quit".
    """
    from . import clients, counting

    counting.install()
    lines = clients.commands()
    async with httpx.AsyncClient(
        base_url=settings['base_url'],
        timeout=30.0,
        limits=httpx.Limits(max_connections=None, max_keepalive_connections=50),
    ) as http:
        joins = [
            PageJoin(
                http,
                settings['presentation_id'],
                member['index'],
                media_timeout=settings.get('media_timeout', MEDIA_TIMEOUT),
            )
            for member in settings['members']
        ]
        clients.emit('ready', attendees=len(joins))
        try:
            line = ''
            while not line.startswith('go '):
                line = await anext(lines)
            epoch = float(line.split()[1])
            start = time.monotonic() + (epoch - time.time())
            results = await asyncio.gather(
                *(
                    join.run(start + member['offset'])
                    for join, member in zip(joins, settings['members'], strict=True)
                )
            )
            clients.emit('done', results=list(results))
            async for line in lines:
                if line == 'quit':
                    break
        except StopAsyncIteration:
            pass
        finally:
            for join in joins:
                # One failing to leave must not stop the others leaving.
                with contextlib.suppress(Exception):
                    await join.close()
