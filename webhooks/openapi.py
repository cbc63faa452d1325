"""The webhooks service's OpenAPI 3 document, served at `/webhooks/openapi.json`."""

from __future__ import annotations

from podium import health, openapi
from podium.config import WEBHOOK_PATH
from podium.openapi import errors, json_content
from podium.room_state import KNOWN_EVENTS, MAX_FIELD_LENGTH, TRACK_KINDS
from webhooks.form import FORM_MEDIA_TYPE, MAX_BODY_BYTES
from webhooks.signature import SIGNATURE_HEADER

OPENAPI_PATH = '/webhooks/openapi.json'

CALLBACK_FIELDS = {
    name: {'type': 'string'}
    for name in (
        'AccountSid',
        'RoomSid',
        'RoomName',
        'RoomStatus',
        'RoomType',
        'StatusCallbackEvent',
        'Timestamp',
        'SequenceNumber',
        'ParticipantSid',
        'ParticipantIdentity',
        'ParticipantStatus',
        'TrackSid',
        'TrackKind',
        'TrackName',
    )
}
# Hints that let a fuzzer (and a reader) produce callbacks Podium acts on.
CALLBACK_FIELDS['StatusCallbackEvent'] = {
    'type': 'string',
    'enum': sorted(KNOWN_EVENTS),
    'description': 'Other events are acknowledged (204) and ignored.',
}
CALLBACK_FIELDS['RoomName'] = {
    'type': 'string',
    'pattern': '^podium-[A-Za-z0-9_-]{1,64}$',
    'description': 'Rooms not named podium-<presentation id> are ignored.',
}
CALLBACK_FIELDS['Timestamp'] = {'type': 'string', 'format': 'date-time'}
CALLBACK_FIELDS['TrackKind'] = {'type': 'string', 'enum': sorted(TRACK_KINDS)}
for _schema in CALLBACK_FIELDS.values():
    _schema['maxLength'] = MAX_FIELD_LENGTH

PATHS = {
    WEBHOOK_PATH: {
        'post': {
            'summary': 'A room status callback from Twilio or local_video',
            'operationId': 'roomEvent',
            'description': (
                f'{SIGNATURE_HEADER} must be the HMAC-SHA1 of PODIUM_PUBLIC_URL + '
                'path + sorted fields, keyed with TWILIO_AUTH_TOKEN. Body at most '
                f'{MAX_BODY_BYTES} bytes; each field once.'
            ),
            'parameters': [
                {
                    'name': SIGNATURE_HEADER,
                    'in': 'header',
                    'required': True,
                    'schema': {'type': 'string'},
                }
            ],
            'requestBody': {
                'required': True,
                'content': {
                    FORM_MEDIA_TYPE: {
                        'schema': {
                            'type': 'object',
                            'required': [
                                'RoomSid',
                                'RoomName',
                                'StatusCallbackEvent',
                                'Timestamp',
                            ],
                            'properties': CALLBACK_FIELDS,
                        }
                    }
                },
            },
            'responses': {
                '204': {'description': 'Applied, already known, or ignored.'},
                **errors(400, 403, 413, 415, 503),
            },
        }
    },
    '/webhooks/healthz': {
        'get': {
            'summary': 'Health: the service is up and reaches Redis',
            'operationId': 'health',
            'responses': {
                '200': {
                    'description': 'Healthy.',
                    'content': json_content(
                        {'type': 'object', 'properties': {'status': {'type': 'string'}}}
                    ),
                },
                **errors(503),
            },
        }
    },
    **health.openapi_paths('/webhooks', 'Redis'),
    **openapi.self_description(OPENAPI_PATH),
}

SPEC = openapi.document(
    'Podium webhooks',
    'Signed room status callbacks in, merged room state (Redis) out.',
    PATHS,
)


def OpenApiDocument() -> openapi.AsyncOpenApiResource:  # noqa: N802 - a resource
    return openapi.AsyncOpenApiResource(SPEC)
