"""OpenAPI description of the attendance report (token_service.report)."""

from __future__ import annotations

from podium.openapi import errors, json_content

BASE = '/api/presentations/{presentation_id}'
PRESENTER = [{'presenterKey': []}]
MS = {'type': 'integer', 'description': 'Milliseconds since the epoch.'}
NULLABLE_MS = {**MS, 'nullable': True}

REPORT = {
    'type': 'object',
    'required': [
        'presentation_id',
        'status',
        'started_at',
        'ended_at',
        'duration_seconds',
        'unique_attendees',
        'peak',
        'watch_time',
        'series',
        'attendees',
        'questions',
        'polls',
        'recording',
    ],
    'properties': {
        'presentation_id': {'type': 'string'},
        'title': {'type': 'string'},
        'status': {
            'type': 'string',
            'enum': ['live', 'ended'],
            'description': 'live: open connections count up to now.',
        },
        'started_at': {
            **NULLABLE_MS,
            'description': "The presenter's first connection.",
        },
        'ended_at': NULLABLE_MS,
        'duration_seconds': {'type': 'number'},
        'unique_attendees': {
            'type': 'integer',
            'description': 'Distinct attendee identities (a reload is the same one); '
            'the presenter is not counted.',
        },
        'peak': {
            'type': 'object',
            'required': ['count', 'at'],
            'properties': {
                'count': {'type': 'integer'},
                'at': {**NULLABLE_MS, 'description': 'When it was first reached.'},
            },
        },
        'watch_time': {
            'type': 'object',
            'required': ['median_seconds', 'total_seconds', 'distribution'],
            'properties': {
                'median_seconds': {'type': 'number', 'nullable': True},
                'total_seconds': {'type': 'number'},
                'distribution': {
                    'type': 'array',
                    'items': {
                        'type': 'object',
                        'required': [
                            'label',
                            'min_seconds',
                            'max_seconds',
                            'attendees',
                        ],
                        'properties': {
                            'label': {'type': 'string'},
                            'min_seconds': {'type': 'integer'},
                            'max_seconds': {'type': 'integer', 'nullable': True},
                            'attendees': {'type': 'integer'},
                        },
                    },
                },
            },
        },
        'series': {
            'type': 'array',
            'description': 'The audience over time: the count from `at` on.',
            'items': {
                'type': 'object',
                'required': ['at', 'count'],
                'properties': {'at': MS, 'count': {'type': 'integer'}},
            },
        },
        'attendees': {
            'type': 'array',
            'items': {
                'type': 'object',
                'properties': {
                    'identity': {'type': 'string'},
                    'name': {'type': 'string'},
                    'first_connected_at': MS,
                    'last_disconnected_at': MS,
                    'connections': {'type': 'integer'},
                    'watch_seconds': {'type': 'number'},
                },
            },
        },
        'questions': {
            'type': 'object',
            'properties': {
                'total': {'type': 'integer'},
                'by_state': {
                    'type': 'object',
                    'additionalProperties': {'type': 'integer'},
                },
                'top': {'type': 'array', 'items': {'type': 'object'}},
            },
        },
        'polls': {'type': 'array', 'items': {'type': 'object'}},
        'recording': {
            'type': 'object',
            'nullable': True,
            'properties': {'status': {'type': 'string'}},
        },
    },
}


def _get(summary: str, operation_id: str, content: dict, description: str) -> dict:
    return {
        'get': {
            'summary': summary,
            'operationId': operation_id,
            'description': description
            + ' Send the key in the Authorization header, never in the URL.',
            'security': PRESENTER,
            'responses': {
                '200': {'description': 'The report.', 'content': content},
                **errors(401, 403, 404, 503),
            },
        }
    }


def paths(presentation_id: dict) -> dict:
    """Return the report paths; `presentation_id` is the shared path parameter."""
    return {
        f'{BASE}/report': {
            'parameters': [presentation_id],
            **_get(
                'Attendance report (presenter; also while live and once ended)',
                'getReport',
                json_content(REPORT),
                'Duration, peak and unique attendees, watch time, the audience over '
                'time, questions and polls summary, recording status.',
            ),
        },
        f'{BASE}/report.csv': {
            'parameters': [presentation_id],
            **_get(
                'Attendance report as CSV, one row per attendee (presenter)',
                'getReportCsv',
                {'text/csv': {'schema': {'type': 'string'}}},
                'An attachment.',
            ),
        },
    }
