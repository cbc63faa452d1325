"""The web service's OpenAPI 3 document, served at `/live/openapi.json`.

Pages answer HTML, including their 404 (a person followed a broken link); the live
state, static files and everything else answer errors as JSON `{title,
description}`. Every endpoint is a GET without a request body: any body is
refused with 413, any other method with 405.
"""

from __future__ import annotations

from podium import health, openapi
from podium.openapi import errors, json_content
from web_service.live import MAX_EVENT_ID_LENGTH
from web_service.pages import MAX_ID_LENGTH

OPENAPI_PATH = '/live/openapi.json'

PRESENTATION_ID = {
    'name': 'presentation_id',
    'in': 'path',
    'required': True,
    'description': 'The id from POST /api/presentations. Unknown ids, and ids longer '
    f'than {MAX_ID_LENGTH} characters, are 404.',
    'schema': {'type': 'string'},
    'example': 'demo-talk',
}

HTML = {'text/html': {'schema': {'type': 'string'}}}
JAVASCRIPT = {'text/javascript': {'schema': {'type': 'string'}}}

SCHEMAS = {
    # OpenAPI 3.0: the schema of an event stream describes each event.
    'StateEvent': {
        'type': 'object',
        'properties': {
            'event': {
                'type': 'string',
                'enum': ['state', 'questions', 'hands', 'polls', 'stage', 'reactions'],
            },
            'id': {
                'type': 'string',
                'pattern': '^[0-9]+([.][0-9]+){4}$',
                'description': 'The versions the client holds once it has this '
                'event: <state>.<questions>.<hands>.<polls>.<stage>. Reactions events '
                'have no id (they are not replayed).',
            },
            'data': {
                'type': 'string',
                'description': 'JSON: the View (state), or the public questions, '
                'hand queue, polls, stage ({version, speakers: [{slot, '
                'slot_identity, identity, name, status: invited|speaking, muted}]}, '
                'docs/stage.md), or reaction counts since the last reactions '
                'event (docs/audience-api.md).',
            },
            'retry': {
                'type': 'integer',
                'description': 'Milliseconds before EventSource reconnects.',
            },
        },
    },
    'View': {
        'type': 'object',
        'required': ['id', 'title', 'status', 'version', 'room', 'presenter'],
        'properties': {
            'id': {'type': 'string'},
            'title': {'type': 'string'},
            'status': {'type': 'string', 'enum': ['waiting', 'live', 'ended']},
            'version': {
                'type': 'integer',
                'minimum': 0,
                'description': 'Grows with every change; the SSE event id.',
            },
            'room': {
                'type': 'object',
                'required': ['sid', 'status'],
                'properties': {
                    'sid': {'type': 'string', 'nullable': True},
                    'status': {'type': 'string'},
                },
            },
            'presenter': {
                'type': 'object',
                'required': ['connected', 'tracks'],
                'properties': {
                    'connected': {'type': 'boolean'},
                    'tracks': {
                        'type': 'array',
                        'items': {
                            'type': 'object',
                            'required': ['sid', 'kind', 'name', 'enabled'],
                            'properties': {
                                'sid': {'type': 'string'},
                                'kind': {'type': 'string'},
                                'name': {'type': 'string'},
                                'enabled': {'type': 'boolean'},
                            },
                        },
                    },
                },
            },
            'attendees': {
                'type': 'object',
                'required': ['count'],
                'properties': {'count': {'type': 'integer', 'minimum': 0}},
            },
            'recording': {
                'type': 'object',
                'required': ['requested', 'status', 'percent'],
                'description': 'status recording: attendees are told the talk is '
                'being recorded. After the talk: processing (percent), available, '
                'failed or deleted.',
                'properties': {
                    'requested': {'type': 'boolean'},
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
                    },
                    'percent': {'type': 'integer', 'minimum': 0, 'maximum': 100},
                },
            },
        },
    },
}

# Refused before routing, so every operation can answer them.
NO_BODY = errors(413)


def _page(summary: str, operation_id: str) -> dict:
    return {
        'get': {
            'summary': summary,
            'operationId': operation_id,
            'parameters': [PRESENTATION_ID],
            'responses': {
                '200': {'description': 'The page.', 'content': HTML},
                '404': {
                    'description': 'No such presentation: a page saying so, in '
                    'HTML, because a person followed the link.',
                    'content': HTML,
                },
                **NO_BODY,
            },
        }
    }


PATHS = {
    '/': {
        'get': {
            'summary': 'Home page: create a presentation',
            'operationId': 'home',
            'responses': {
                '200': {'description': 'The page.', 'content': HTML},
                **NO_BODY,
            },
        }
    },
    '/presentations/{presentation_id}': _page('Attendee page', 'attendeePage'),
    '/presentations/{presentation_id}/present': _page(
        'Presenter page (the key stays in the URL fragment)', 'presenterPage'
    ),
    '/live/healthz': {
        'get': {
            'summary': 'Liveness',
            'operationId': 'health',
            'responses': {
                '200': {
                    'description': 'Serving.',
                    'content': json_content(
                        {
                            'type': 'object',
                            'required': ['status'],
                            'properties': {'status': {'type': 'string'}},
                        }
                    ),
                },
                **NO_BODY,
            },
        }
    },
    '/live/presentations/{presentation_id}': {
        'get': {
            'summary': 'What pages show about a presentation, once',
            'operationId': 'presentationState',
            'parameters': [PRESENTATION_ID],
            'responses': {
                '200': {
                    'description': 'The view.',
                    'content': json_content({'$ref': '#/components/schemas/View'}),
                },
                **errors(404, 413),
            },
        }
    },
    '/live/presentations/{presentation_id}/events': {
        'get': {
            'summary': 'The view and audience data as they change, as Server-Sent '
            'Events',
            'description': 'Typed events: `state` (data: the View), `questions`, '
            '`hands`, `polls` (public audience data, each with its version), '
            '`stage` (who is invited or speaking, with its version) and '
            '`reactions` (counts per emoji, at most 4 a second, no id). An id is '
            '`<state>.<questions>.<hands>.<polls>.<stage>` versions; comments keep '
            'an idle '
            'stream alive. The stream starts with every kind the client lacks '
            '(per the Last-Event-ID header or the last_event_id parameter; a bare '
            'number is a state version; anything else, including anything longer '
            f'than {MAX_EVENT_ID_LENGTH} characters, just means "send all"). Pending '
            'questions and hidden poll tallies are never sent. The stream does not '
            'end by itself.',
            'operationId': 'presentationEvents',
            'parameters': [
                PRESENTATION_ID,
                {
                    'name': 'Last-Event-ID',
                    'in': 'header',
                    'required': False,
                    'description': 'Sent by EventSource when it reconnects.',
                    'schema': {'type': 'string'},
                },
                {
                    'name': 'last_event_id',
                    'in': 'query',
                    'required': False,
                    'description': 'The same, for a client that opens a new stream.',
                    'schema': {'type': 'string'},
                },
            ],
            'responses': {
                '200': {
                    'description': 'An endless stream of state events.',
                    'content': {
                        'text/event-stream': {
                            'schema': {'$ref': '#/components/schemas/StateEvent'}
                        }
                    },
                },
                **errors(404, 413),
            },
        }
    },
    '/static/vendor/twilio-video.min.js': {
        'get': {
            'summary': "Twilio's browser SDK, from npm (no CDN)",
            'operationId': 'twilioVideo',
            'parameters': [
                {
                    'name': 'If-None-Match',
                    'in': 'header',
                    'required': False,
                    'schema': {'type': 'string'},
                }
            ],
            'responses': {
                '200': {'description': 'The script.', 'content': JAVASCRIPT},
                '304': {'description': 'The client has this version.'},
                **errors(404, 413),
            },
        }
    },
    '/static/{path}': {
        'get': {
            'summary': 'Scripts, styles and images of the pages',
            'operationId': 'staticFile',
            'parameters': [
                {
                    'name': 'path',
                    'in': 'path',
                    'required': True,
                    'description': 'A file under web_service/static, e.g. '
                    'js/attendee.js; nothing outside it is reachable.',
                    'schema': {'type': 'string'},
                    'example': 'favicon.svg',
                }
            ],
            'responses': {
                '200': {
                    'description': 'The file.',
                    'content': {
                        **JAVASCRIPT,
                        'text/css': {'schema': {'type': 'string'}},
                        'image/svg+xml': {'schema': {'type': 'string'}},
                    },
                },
                **errors(404, 413),
            },
        }
    },
    **health.openapi_paths('/live', 'Redis'),
    **openapi.self_description(OPENAPI_PATH),
}


def spec() -> dict:
    return openapi.document(
        'Podium web service',
        'Pages, static files and the live presentation state (JSON and SSE). '
        'Only GET, without a request body.',
        PATHS,
        components={'schemas': SCHEMAS},
    )


class OpenApiDocument(openapi.AsyncOpenApiResource):
    def __init__(self) -> None:
        super().__init__(spec())
