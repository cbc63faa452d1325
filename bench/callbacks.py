"""Signed room status callbacks, shaped like Twilio's, for the webhooks benchmarks."""

from __future__ import annotations

import secrets
from datetime import UTC, datetime
from urllib.parse import urlencode

from twilio.request_validator import RequestValidator

from bench.settings import PUBLIC_URL
from podium import room_state
from podium.config import WEBHOOK_PATH


def sid(prefix: str) -> str:
    return prefix + secrets.token_hex(16)


def iso(ms: int) -> str:
    moment = datetime.fromtimestamp(ms / 1000, UTC)
    return moment.strftime('%Y-%m-%dT%H:%M:%S.') + f'{ms % 1000:03d}Z'


class Room:
    """One presentation's room and the callbacks Twilio would send about it."""

    def __init__(self, presentation_id: str, account_sid: str):
        self.presentation_id = presentation_id
        self.name = room_state.room_name_for(presentation_id)
        self.sid = sid('RM')
        self.account_sid = account_sid
        self._sequence = 0

    def _fields(self, event: str, ms: int) -> dict[str, str]:
        self._sequence += 1
        return {
            'AccountSid': self.account_sid,
            'RoomName': self.name,
            'RoomSid': self.sid,
            'RoomStatus': 'in-progress',
            'RoomType': 'group',
            'StatusCallbackEvent': event,
            'Timestamp': iso(ms),
            'SequenceNumber': str(self._sequence),
        }

    def participant_connected(self, participant_sid: str, identity: str, ms: int):
        return {
            **self._fields('participant-connected', ms),
            'ParticipantSid': participant_sid,
            'ParticipantIdentity': identity,
            'ParticipantStatus': 'connected',
        }

    def track_added(self, participant_sid: str, identity: str, kind: str, ms: int):
        return {
            **self._fields('track-added', ms),
            'ParticipantSid': participant_sid,
            'ParticipantIdentity': identity,
            'ParticipantStatus': 'connected',
            'TrackSid': sid('MT'),
            'TrackKind': kind,
        }

    def join_callbacks(self, attendees: int, start_ms: int) -> list[dict[str, str]]:
        """Return one participant-connected callback per attendee, in join order.

        Podium's attendees publish nothing, so joining is one callback each. (An
        attendee's track-added is a forbidden publish: the webhooks service's
        publish guard answers it with a Rooms API removal, which these benches
        would then measure instead of the merge.)
        """
        return [
            self.participant_connected(
                sid('PA'), f'{room_state.ATTENDEE_PREFIX}{i:016x}', start_ms + i
            )
            for i in range(attendees)
        ]


class Signer:
    """X-Twilio-Signature for callbacks to PUBLIC_URL + WEBHOOK_PATH."""

    def __init__(self, auth_token: str):
        self._validator = RequestValidator(auth_token)
        self.url = PUBLIC_URL + WEBHOOK_PATH

    def sign(self, form: dict[str, str]) -> tuple[str, str]:
        """Return (signature, form-encoded body)."""
        return self._validator.compute_signature(self.url, form), urlencode(form)

    def raw_request(self, form: dict[str, str]) -> str:
        signature, body = self.sign(form)
        return (
            f'POST {WEBHOOK_PATH} HTTP/1.1\r\nHost: 127.0.0.1\r\n'
            'Content-Type: application/x-www-form-urlencoded\r\n'
            f'X-Twilio-Signature: {signature}\r\n'
            f'Content-Length: {len(body)}\r\n\r\n{body}'
        )
