"""Serve a sync Falcon resource from the token service's ASGI app.

The hot paths (tokens, the audience writes) are coroutines on redis.asyncio.
Every other resource stays a plain sync class, as written for WSGI, and is
added through `sync_route`:

    add_sync_route(app, f'{PRESENTATION_PATH}/recordings', Recordings(...))

Each of its responders (`on_get`, `on_post_csv`, ...) then runs in a thread of
the event loop's executor, so a Rooms API call or a slow Redis command holds up
that request only, never the loop. What changes for such a resource:
- `req.get_media()` answers from the body, read before the thread starts (at
  most MAX_BODY_BYTES; longer bodies are refused with 413 when asked for);
- `req.stream`/`req.bounded_stream` cannot be read (nothing here does);
- a `resp.stream` it sets (a sync iterator of bytes, e.g. a proxied download)
  is pulled a chunk at a time in a thread, so a slow upstream never blocks the
  loop, and closed when the response ends or the client goes away;
- the `Store` it was given must be safe across threads: `create_app` gives a
  pooled one (never `single_connection=True`).
Falcon hooks (`@falcon.before`) on such a resource must be coroutines: ASGI.
"""

from __future__ import annotations

import asyncio
import functools

import falcon

# A resource's body is a JSON object of short fields (token_service/bodies.py
# refuses more than 4 KiB); read at most this much before handing it over.
MAX_BODY_BYTES = 64 * 1024
_METHODS_WITH_BODIES = frozenset({'POST', 'PUT', 'PATCH', 'DELETE'})
_UNSET = object()


class SyncRequest:
    """The ASGI request as a sync responder reads it (see the module's notes)."""

    __slots__ = ('_req', '_media', '_error')

    def __init__(self, req, media=None, error: Exception | None = None):
        self._req = req
        self._media = media
        self._error = error

    def __getattr__(self, name: str):
        return getattr(self._req, name)

    def get_media(self, default_when_empty=_UNSET):
        if isinstance(self._error, falcon.MediaNotFoundError) and (
            default_when_empty is not _UNSET
        ):
            return default_when_empty
        if self._error is not None:
            raise self._error
        return self._media


async def read_for_sync(req) -> SyncRequest:
    """Read the request's media now, so that a sync responder can ask for it."""
    if req.method not in _METHODS_WITH_BODIES:
        return SyncRequest(req, error=falcon.MediaNotFoundError('JSON'))
    if req.content_length and req.content_length > MAX_BODY_BYTES:
        return SyncRequest(
            req,
            error=falcon.HTTPContentTooLarge(
                title='Request body too large',
                description=f'The request body must be at most {MAX_BODY_BYTES} bytes.',
            ),
        )
    try:
        return SyncRequest(req, await req.get_media())
    except falcon.HTTPError as ex:  # empty, malformed, unsupported type
        return SyncRequest(req, error=ex)


def in_a_thread(responder):
    """Return a coroutine responder running sync `responder` in a thread."""

    @functools.wraps(responder)
    async def run(req, resp, **params):
        await asyncio.to_thread(responder, await read_for_sync(req), resp, **params)
        if resp.stream is not None and not hasattr(resp.stream, '__aiter__'):
            resp.stream = pulled_in_a_thread(resp.stream)

    return run


_DONE = object()


async def pulled_in_a_thread(chunks):
    """Yield a sync iterator's chunks, each `next` in a thread."""
    iterator = iter(chunks)
    try:
        while (chunk := await asyncio.to_thread(next, iterator, _DONE)) is not _DONE:
            yield chunk
    finally:
        close = getattr(iterator, 'close', None)
        if close is not None:
            await asyncio.to_thread(close)


class SyncResource:
    """A sync resource's responders as coroutines (`in_a_thread`), for ASGI.

    A resource may mix both: its coroutine responders (the hot writes) are
    served as they are, on the loop.
    """

    def __init__(self, resource):
        self.resource = resource
        for name in dir(resource):
            if name.startswith('on_'):
                responder = getattr(resource, name)
                if asyncio.iscoroutinefunction(responder):
                    setattr(self, name, responder)  # already on the loop
                elif callable(responder):
                    setattr(self, name, in_a_thread(responder))


def add_sync_route(app, path: str, resource, **kwargs) -> None:
    """`app.add_route` for a sync resource (module docstring)."""
    app.add_route(path, SyncResource(resource), **kwargs)


def sync_error_handler(handler):
    """Return a coroutine error handler calling sync `handler` (no I/O in it)."""

    @functools.wraps(handler)
    async def handle(req, resp, ex, params):
        handler(req, resp, ex, params)

    return handle
