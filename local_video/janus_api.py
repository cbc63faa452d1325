"""A small asyncio client for Janus's HTTP API (sessions, handles, long poll).

Only this service talks to Janus, on loopback, with the API secret. Each session
runs one long-poll loop, which both receives asynchronous events and keeps the
session alive (Janus drops sessions idle for `session_timeout`).
"""

from __future__ import annotations

import asyncio
import logging
import secrets
from collections.abc import Callable

import httpx

from .metrics import count_slow_link

log = logging.getLogger(__name__)

VIDEOROOM = 'janus.plugin.videoroom'
REQUEST_TIMEOUT = 15.0
POLL_EVENTS = 10


class JanusError(Exception):
    """Janus or one of its plugins refused a request."""

    def __init__(self, code: int, reason: str) -> None:
        super().__init__(f'Janus error {code}: {reason}')
        self.code = code
        self.reason = reason


class JanusGone(JanusError):
    """The session (or the whole Janus) is gone."""


def _transaction() -> str:
    return secrets.token_hex(8)


class JanusSession:
    """One Janus session and its long poll."""

    def __init__(
        self,
        http: httpx.AsyncClient,
        url: str,
        api_secret: str,
        on_lost: Callable[[], None] | None = None,
    ) -> None:
        self._http = http
        self._url = url
        self._secret = api_secret
        self._on_lost = on_lost
        self.id: int | None = None
        self._handles: dict[int, JanusHandle] = {}
        self._waiting: dict[str, asyncio.Future] = {}
        self._poll: asyncio.Task | None = None
        self.closed = False

    async def _post(self, path: str, body: dict) -> dict:
        body = {**body, 'apisecret': self._secret}
        body.setdefault('transaction', _transaction())
        try:
            response = await self._http.post(
                self._url + path, json=body, timeout=REQUEST_TIMEOUT
            )
            reply = response.json()
        except (httpx.HTTPError, ValueError) as ex:
            raise JanusGone(0, f'Janus unreachable: {type(ex).__name__}') from None
        if reply.get('janus') == 'error':
            error = reply.get('error', {})
            code = error.get('code', 0)
            cls = (
                JanusGone if code in (458, 459) else JanusError
            )  # no such session/handle
            raise cls(code, error.get('reason', 'unknown'))
        return reply

    async def create(self) -> JanusSession:
        reply = await self._post('', {'janus': 'create'})
        self.id = reply['data']['id']
        self._poll = asyncio.create_task(self._long_poll())
        return self

    async def attach(
        self,
        opaque_id: str,
        on_event: Callable[[dict], None] | None = None,
        plugin: str = VIDEOROOM,
    ) -> JanusHandle:
        reply = await self._post(
            f'/{self.id}', {'janus': 'attach', 'plugin': plugin, 'opaque_id': opaque_id}
        )
        handle = JanusHandle(self, reply['data']['id'], on_event)
        self._handles[handle.id] = handle
        return handle

    async def destroy(self) -> None:
        """Destroy the session (hangs up every PeerConnection in it)."""
        if self.closed:
            return
        self.closed = True
        if self._poll is not None:
            self._poll.cancel()
        self._fail_waiting(JanusGone(0, 'session closed'))
        if self.id is not None:
            try:
                await self._post(f'/{self.id}', {'janus': 'destroy'})
            except JanusError:
                pass  # already gone with Janus: nothing left to clean

    def _fail_waiting(self, error: Exception) -> None:
        for future in self._waiting.values():
            if not future.done():
                future.set_exception(error)
        self._waiting.clear()

    async def _long_poll(self) -> None:
        failures = 0
        while not self.closed:
            try:
                response = await self._http.get(
                    f'{self._url}/{self.id}',
                    params={
                        'maxev': POLL_EVENTS,
                        'rid': _transaction(),
                        'apisecret': self._secret,
                    },
                    timeout=REQUEST_TIMEOUT + 30,
                )
                events = response.json()
            except (httpx.HTTPError, ValueError):
                failures += 1
                if failures >= 3:
                    break
                await asyncio.sleep(0.5)
                continue
            failures = 0
            if isinstance(events, dict):
                events = [events]
            lost = False
            for event in events:
                if (
                    event.get('janus') == 'error'
                    and event.get('error', {}).get('code') == 458
                ):
                    lost = True
                else:
                    self._dispatch(event)
            if lost:
                break
        if not self.closed:
            self.closed = True
            self._fail_waiting(JanusGone(0, 'session lost'))
            log.info('Janus session %s lost', self.id)
            if self._on_lost is not None:
                self._on_lost()

    def _dispatch(self, event: dict) -> None:
        kind = event.get('janus')
        if kind == 'keepalive':
            return
        if kind == 'slowlink':
            count_slow_link(event)
        future = self._waiting.get(event.get('transaction', ''))
        if future is not None and kind == 'event':
            del self._waiting[event['transaction']]
            if not future.done():
                future.set_result(event)
            return
        handle = self._handles.get(event.get('sender'))
        if handle is not None and handle.on_event is not None:
            try:
                handle.on_event(event)
            except Exception:
                log.exception('Janus event handler failed')
        if kind == 'detached' and handle is not None:
            self._handles.pop(handle.id, None)


class JanusHandle:
    """A plugin handle inside a session."""

    def __init__(
        self,
        session: JanusSession,
        handle_id: int,
        on_event: Callable[[dict], None] | None,
    ) -> None:
        self.session = session
        self.id = handle_id
        self.on_event = on_event

    async def message(
        self, body: dict, jsep: dict | None = None, timeout: float = REQUEST_TIMEOUT
    ) -> tuple[dict, dict | None]:
        """Send a plugin request; return its data and JSEP (waiting for async ones)."""
        session = self.session
        if session.closed:
            raise JanusGone(0, 'session closed')
        transaction = _transaction()
        future = asyncio.get_running_loop().create_future()
        session._waiting[transaction] = future
        request = {'janus': 'message', 'body': body, 'transaction': transaction}
        if jsep is not None:
            request['jsep'] = jsep
        try:
            reply = await session._post(f'/{session.id}/{self.id}', request)
            if reply.get('janus') == 'success':
                event = reply
            else:
                event = await asyncio.wait_for(future, timeout)
        except TimeoutError:
            raise JanusError(0, f'no answer to {body.get("request")}') from None
        finally:
            session._waiting.pop(transaction, None)
        data = event.get('plugindata', {}).get('data', {})
        if 'error_code' in data:
            raise JanusError(data['error_code'], data.get('error', 'unknown'))
        return data, event.get('jsep')

    async def detach(self) -> None:
        session = self.session
        session._handles.pop(self.id, None)
        if session.closed:
            return
        try:
            await session._post(f'/{session.id}/{self.id}', {'janus': 'detach'})
        except JanusError:
            pass


async def server_info(http: httpx.AsyncClient, url: str) -> dict:
    """Return Janus's `info` answer (raises httpx errors when it is down)."""
    response = await http.get(url + '/info', timeout=2.0)
    response.raise_for_status()
    return response.json()
