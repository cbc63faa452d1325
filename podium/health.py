"""Liveness and readiness, as Kubernetes asks for them, for every service.

`<prefix>/livez`: the process answers HTTP (restart it if not); it checks no
dependency, so a Redis outage never gets healthy processes killed.
`<prefix>/readyz`: the service's dependencies (Redis, Janus) answer, so it can
serve (send it traffic if so); 503 with each check's result otherwise.
`<prefix>/healthz` stays what it was (the launcher's and benches' start check).
"""

from __future__ import annotations

import asyncio
import logging
from collections.abc import Callable, Mapping

import falcon

from podium import metrics
from podium.openapi import json_content

log = logging.getLogger(__name__)

Check = Callable[[], bool]  # True: the dependency answers; may raise


def run_checks(checks: Mapping[str, Check]) -> dict[str, str]:
    results = {}
    for name, check in checks.items():
        try:
            ok = check()
        except Exception as ex:  # noqa: BLE001 - a failed check is the answer
            log.warning('readiness: %s failed: %s', name, type(ex).__name__)
            ok = False
        results[name] = 'ok' if ok else 'unavailable'
    return results


def _answer(resp: falcon.Response, results: dict[str, str]) -> None:
    ready = all(v == 'ok' for v in results.values())
    resp.status = falcon.HTTP_200 if ready else falcon.HTTP_503
    resp.cache_control = ['no-store']
    resp.media = {'status': 'ready' if ready else 'unavailable', 'checks': results}


class Liveness:
    """`GET .../livez` (WSGI)."""

    def on_get(self, req: falcon.Request, resp: falcon.Response) -> None:
        resp.cache_control = ['no-store']
        resp.media = {'status': 'alive'}


class AsyncLiveness:
    """`GET .../livez` (ASGI)."""

    async def on_get(self, req, resp) -> None:
        resp.cache_control = ['no-store']
        resp.media = {'status': 'alive'}


class Readiness:
    """`GET .../readyz` (WSGI): every check must pass."""

    def __init__(self, checks: Mapping[str, Check]):
        self._checks = dict(checks)

    def on_get(self, req: falcon.Request, resp: falcon.Response) -> None:
        _answer(resp, run_checks(self._checks))


class AsyncReadiness:
    """`GET .../readyz` (ASGI): checks run off the event loop (they block)."""

    def __init__(self, checks: Mapping[str, Check]):
        self._checks = dict(checks)

    async def on_get(self, req, resp) -> None:
        _answer(resp, await asyncio.to_thread(run_checks, self._checks))


def redis_check(store, service: str) -> Check:
    """Return a check that the store's Redis answers PING (a failure counts)."""

    def check() -> bool:
        try:
            return bool(store.client.ping())
        except Exception:
            metrics.count_redis_error(service)
            raise

    return check


def openapi_paths(prefix: str, dependencies: str) -> dict:
    """Return the OpenAPI description of `<prefix>/livez` and `<prefix>/readyz`."""
    name = prefix.strip('/').replace('/', '_') or 'root'
    return {
        f'{prefix}/livez': {
            'get': {
                'summary': 'Liveness: the process answers (checks no dependency)',
                'operationId': f'{name}_livez',
                'responses': {
                    '200': {
                        'description': 'Alive.',
                        'content': json_content(
                            {
                                'type': 'object',
                                'properties': {'status': {'type': 'string'}},
                            }
                        ),
                    }
                },
            }
        },
        f'{prefix}/readyz': {
            'get': {
                'summary': f'Readiness: {dependencies} answer',
                'operationId': f'{name}_readyz',
                'responses': {
                    status: {
                        'description': description,
                        'content': json_content(
                            {
                                'type': 'object',
                                'required': ['status', 'checks'],
                                'properties': {
                                    'status': {
                                        'type': 'string',
                                        'enum': ['ready', 'unavailable'],
                                    },
                                    'checks': {
                                        'type': 'object',
                                        'additionalProperties': {
                                            'type': 'string',
                                            'enum': ['ok', 'unavailable'],
                                        },
                                    },
                                },
                            }
                        ),
                    }
                    for status, description in (
                        ('200', 'Ready.'),
                        ('503', 'A dependency does not answer; see checks.'),
                    )
                },
            }
        },
    }
