"""OpenAPI description of recording a talk (token_service.recording)."""

from __future__ import annotations

from podium.openapi import errors, json_content

BASE = '/api/presentations/{presentation_id}/recording'
PRESENTER = [{'presenterKey': []}]

RECORDING = {
    'type': 'object',
    'required': [
        'status',
        'requested',
        'recorded',
        'percent',
        'duration',
        'size',
        'error',
        'download_url',
        'download_expires_at',
    ],
    'properties': {
        'status': {
            'type': 'string',
            'enum': [
                'off',
                'recording',
                'processing',
                'available',
                'failed',
                'deleted',
            ],
            'description': 'recording: the video service records now (from its '
            'callbacks); processing: the file is being made; available: '
            'download it.',
        },
        'requested': {
            'type': 'boolean',
            'description': 'What the presenter asked for (Recording Rules).',
        },
        'recorded': {'type': 'boolean', 'description': 'Some track was recorded.'},
        'percent': {'type': 'integer', 'minimum': 0, 'maximum': 100},
        'duration': {'type': 'integer', 'description': 'Seconds, once available.'},
        'size': {'type': 'integer', 'description': 'Bytes, once available.'},
        'error': {'type': 'string', 'description': 'Why it failed, for people.'},
        'download_url': {
            'type': 'string',
            'nullable': True,
            'description': 'A signed link to GET .../recording/media that expires '
            '(PODIUM_RECORDING_LINK_TTL); no key needed.',
        },
        'download_expires_at': {
            'type': 'integer',
            'nullable': True,
            'description': 'Seconds since the epoch.',
        },
    },
}
STATE = {
    'description': 'The recording now.',
    'content': json_content(RECORDING),
}
KEY_NOTE = ' Presenter key in the Authorization header ("Presenter <key>").'


def paths(presentation_id: dict) -> dict:
    """Return the recording paths; `presentation_id` is the shared path parameter."""
    return {
        BASE: {
            'parameters': [presentation_id],
            'get': {
                'summary': 'Recording state (presenter)',
                'operationId': 'getRecording',
                'description': 'Asks for the composition if an ended talk still '
                'needs it.' + KEY_NOTE,
                'security': PRESENTER,
                'responses': {'200': STATE, **errors(401, 403, 404, 502, 503)},
            },
            'put': {
                'summary': 'Switch recording on or off (presenter)',
                'operationId': 'setRecording',
                'description': "Changes the live room's Recording Rules; before the "
                'room exists, it records from its start.' + KEY_NOTE,
                'security': PRESENTER,
                'requestBody': {
                    'required': True,
                    'content': json_content(
                        {
                            'type': 'object',
                            'required': ['recording'],
                            'properties': {'recording': {'type': 'boolean'}},
                        }
                    ),
                },
                'responses': {
                    '200': STATE,
                    **errors(400, 401, 403, 404, 409, 413, 415, 502, 503),
                },
            },
            'delete': {
                'summary': 'Delete the recording file (presenter)',
                'operationId': 'deleteRecording',
                'description': 'Deletes the composition at the video service.'
                + KEY_NOTE,
                'security': PRESENTER,
                'responses': {'200': STATE, **errors(401, 403, 404, 409, 502, 503)},
            },
        },
        f'{BASE}/composition': {
            'parameters': [presentation_id],
            'post': {
                'summary': 'Make the recording file again (presenter)',
                'operationId': 'retryComposition',
                'description': 'After a failed or deleted file of an ended talk.'
                + KEY_NOTE,
                'security': PRESENTER,
                'responses': {
                    '202': {**STATE, 'description': 'Asked for.'},
                    **errors(401, 403, 404, 409, 502, 503),
                },
            },
        },
        f'{BASE}/media': {
            'parameters': [presentation_id],
            'get': {
                'summary': 'Download the recording (MP4)',
                'operationId': 'getRecordingMedia',
                'description': 'Streamed through the token service. Presenter key, '
                'or the expires and signature of download_url.',
                'security': [*PRESENTER, {}],
                'parameters': [
                    {'name': 'expires', 'in': 'query', 'schema': {'type': 'string'}},
                    {'name': 'signature', 'in': 'query', 'schema': {'type': 'string'}},
                ],
                'responses': {
                    '200': {
                        'description': 'The file, as an attachment.',
                        'content': {'video/mp4': {'schema': {'type': 'string'}}},
                    },
                    '206': {
                        'description': 'Part of it (Range).',
                        'content': {'video/mp4': {'schema': {'type': 'string'}}},
                    },
                    **errors(401, 403, 404, 502, 503),
                },
            },
        },
    }
