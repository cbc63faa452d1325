"""The Rooms REST API client, for Twilio or the local video server alike.

`client.video.base_url` is the seam for the local backend: twilio-python sends
the very same calls to local_video's Twilio-compatible `/v1/Rooms` server.
"""

from __future__ import annotations

from typing import Protocol

from twilio.base.exceptions import TwilioRestException, TwilioServiceException
from twilio.http.http_client import TwilioHttpClient
from twilio.rest import Client

REQUEST_TIMEOUT = 10  # seconds per call; twilio-python waits forever by default
# twilio-python raises the second for RFC 9457 problem bodies.
VIDEO_ERRORS = (TwilioRestException, TwilioServiceException)


class VideoApiSettings(Protocol):
    """The settings a Rooms API client needs (token service and webhooks have them)."""

    account_sid: str
    api_key_sid: str
    api_key_secret: str
    video_api_url: str


def video_client(
    config: VideoApiSettings, http_client: TwilioHttpClient | None = None
) -> Client:
    """Return a twilio-python client for the configured Rooms API."""
    client = Client(
        config.api_key_sid,
        config.api_key_secret,
        config.account_sid,
        http_client=http_client or TwilioHttpClient(timeout=REQUEST_TIMEOUT),
    )
    client.video.base_url = config.video_api_url
    return client
