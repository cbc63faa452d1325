"""Count the callbacks refused before RoomEvents sees them (hooks: body, signature).

RoomEvents counts what it decides itself (applied, duplicate, ignored, invalid)
and marks the request; anything else the webhook route refused is counted here,
its reason read from the status the hook chose.
"""

from __future__ import annotations

from podium import metrics
from podium.config import WEBHOOK_PATH

REASONS = {
    400: 'malformed',
    403: 'signature',
    413: 'too_large',
    415: 'media_type',
}


class CallbackRejections:
    """Falcon middleware: count refused callbacks by reason."""

    async def process_response(self, req, resp, resource, req_succeeded) -> None:
        if req.path != WEBHOOK_PATH or getattr(req.context, 'callback_counted', False):
            return
        status = resp.status_code
        if 400 <= status < 500:
            metrics.count_callback(
                metrics.UNKNOWN_EVENT, 'rejected', REASONS.get(status, 'other')
            )
