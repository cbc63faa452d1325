"""One place that turns video service failures into answers a user can act on.

The upstream message is logged as a code only and never sent to the browser:
it can name rooms, URLs or accounts that are none of the caller's business.
"""

from __future__ import annotations

import logging

import falcon
import requests

from podium import metrics
from podium.video_api import VIDEO_ERRORS

log = logging.getLogger(__name__)

ROOM_FULL = 53105
MAX_ROOMS = 53119
MAX_PARTICIPANTS = 53206
AUTHENTICATION_FAILED = 20003
TOO_MANY_REQUESTS = 20429

# Network failures reaching the Rooms API surface as `requests` exceptions.
HANDLED = (*VIDEO_ERRORS, requests.RequestException)


def handle_video_error(req: falcon.Request, resp, ex: Exception, params) -> None:
    status = getattr(ex, 'status', None)
    code = getattr(ex, 'code', None)
    log.warning(
        'video service error on %s %s: %s status=%s code=%s',
        req.method,
        req.path,
        type(ex).__name__,
        status,
        code,
    )
    if code == ROOM_FULL:
        raise falcon.HTTPConflict(
            title='This presentation is full',
            description='The room has reached its participant limit. Try again '
            'when someone leaves.',
        )
    if code == AUTHENTICATION_FAILED or status in (401, 403):
        raise falcon.HTTPBadGateway(
            title='The video service rejected our credentials',
            description='The server is misconfigured; please tell its operator.',
        )
    if code in (TOO_MANY_REQUESTS, MAX_ROOMS, MAX_PARTICIPANTS) or status == 429:
        raise falcon.HTTPServiceUnavailable(
            title='The video service is busy',
            description='Too many rooms or requests right now. Try again in a minute.',
            retry_after=30,
        )
    raise falcon.HTTPBadGateway(
        title='The video service is unavailable, try again',
        description='We could not reach the video service. Try again in a moment.',
    )


def handle_store_error(req: falcon.Request, resp, ex: Exception, params) -> None:
    metrics.count_redis_error('token_service')
    log.error('Redis error on %s %s: %s', req.method, req.path, type(ex).__name__)
    raise falcon.HTTPServiceUnavailable(
        title='Storage is unavailable',
        description='The server cannot reach its database. Try again in a moment.',
        retry_after=5,
    )
