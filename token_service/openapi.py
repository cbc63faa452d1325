"""The token service's OpenAPI 3 document, served at `/api/openapi.json`."""

from __future__ import annotations

from podium import health, openapi
from podium.openapi import errors, json_content
from token_service import audience_openapi, recording_openapi, report_openapi
from token_service.bodies import MAX_BODY_BYTES
from token_service.presentations import MAX_TITLE_LENGTH
from token_service.tokens import MAX_NAME_LENGTH

OPENAPI_PATH = '/api/openapi.json'

PRESENTATION_ID = {
    'name': 'presentation_id',
    'in': 'path',
    'required': True,
    'description': 'The id from POST /api/presentations.',
    'schema': {'type': 'string', 'pattern': '^[A-Za-z0-9_-]{1,64}$'},
    'example': 'demo-talk',
}

BODY_NOTE = (
    f'JSON, at most {MAX_BODY_BYTES} bytes; Content-Type application/json (or none).'
)

SCHEMAS = {
    'Presentation': {
        'type': 'object',
        'required': [
            'id',
            'title',
            'attendee_url',
            'presenter_url',
            'presenter_key',
        ],
        'properties': {
            'id': {'type': 'string'},
            'title': {'type': 'string'},
            'attendee_url': {'type': 'string'},
            'presenter_url': {
                'type': 'string',
                'description': 'Carries the presenter key in the fragment (#key=).',
            },
            'presenter_key': {'type': 'string'},
            'moderated': {'type': 'boolean'},
            'broadcast': {'type': 'boolean'},
            'recording': {'type': 'boolean'},
        },
    },
    'Broadcast': {
        'type': 'object',
        'required': ['broadcast', 'encoder'],
        'properties': {
            'broadcast': {'type': 'boolean'},
            'encoder': {
                'type': 'object',
                'nullable': True,
                'description': "The live room's HLS encoder, while broadcasting.",
                'properties': {
                    'status': {'type': 'string', 'nullable': True},
                    'restarts': {'type': 'integer'},
                    'last_error': {'type': 'string', 'nullable': True},
                },
            },
        },
    },
    'Token': {
        'type': 'object',
        'required': [
            'token',
            'identity',
            'room',
            'backend',
            'ttl',
            'expires_at',
            'signal_url',
            'ice_servers',
        ],
        'properties': {
            'token': {'type': 'string', 'description': 'A Twilio Access Token.'},
            'identity': {
                'type': 'string',
                'description': 'Chosen by the server: "presenter" or "attendee-<hex>".',
            },
            'name': {'type': 'string', 'nullable': True},
            'room': {'type': 'string'},
            'backend': {'type': 'string', 'enum': ['twilio', 'local']},
            'ttl': {'type': 'integer'},
            'expires_at': {'type': 'integer'},
            'signal_url': {'type': 'string', 'nullable': True},
            'ice_servers': {
                'type': 'array',
                'nullable': True,
                'description': 'Local backend: RTCIceServer entries for '
                'RTCPeerConnection (TURN credentials expire; see podium.turn). '
                'null with Twilio, whose SDK gets its own.',
                'items': {
                    'type': 'object',
                    'required': ['urls'],
                    'properties': {
                        'urls': {'type': 'array', 'items': {'type': 'string'}},
                        'username': {'type': 'string'},
                        'credential': {'type': 'string'},
                    },
                },
            },
        },
    },
}

PATHS = {
    '/api/presentations': {
        'post': {
            'summary': 'Create a presentation',
            'operationId': 'createPresentation',
            'description': 'Rate limited per client address. ' + BODY_NOTE,
            'requestBody': {
                'required': True,
                'content': json_content(
                    {
                        'type': 'object',
                        'required': ['title'],
                        'properties': {
                            'title': {
                                'type': 'string',
                                'minLength': 1,
                                'maxLength': MAX_TITLE_LENGTH,
                                'pattern': r'^[^\x00-\x1f\x7f]*\S[^\x00-\x1f\x7f]*$',
                            },
                            'moderated': {
                                'type': 'boolean',
                                'description': 'New questions wait for the '
                                "presenter's approval (switchable: PATCH settings).",
                            },
                            'broadcast': {
                                'type': 'boolean',
                                'description': 'Also stream the talk as HLS '
                                '(local backend only; switchable: PUT broadcast).',
                            },
                            'recording': {
                                'type': 'boolean',
                                'description': 'Record the talk from its start '
                                '(switchable: PUT .../recording).',
                            },
                        },
                    }
                ),
            },
            'responses': {
                '201': {
                    'description': 'Created. Keep presenter_key secret.',
                    'content': json_content(
                        {'$ref': '#/components/schemas/Presentation'}
                    ),
                },
                **errors(400, 409, 413, 415, 429, 503),
            },
        }
    },
    '/api/presentations/{presentation_id}/tokens': {
        'parameters': [PRESENTATION_ID],
        'post': {
            'summary': 'Get an access token to join the presentation',
            'operationId': 'createToken',
            'description': 'Attendees get a fresh server-chosen identity; the '
            'presenter proves itself with its key. Rate limited per client '
            'address. ' + BODY_NOTE,
            'requestBody': {
                'required': True,
                'content': json_content(
                    {
                        'oneOf': [
                            {
                                'type': 'object',
                                'required': ['role'],
                                'properties': {
                                    'role': {'type': 'string', 'enum': ['attendee']},
                                    'name': {
                                        'type': 'string',
                                        'maxLength': MAX_NAME_LENGTH,
                                        'nullable': True,
                                    },
                                },
                            },
                            {
                                'type': 'object',
                                'required': ['role', 'key'],
                                'properties': {
                                    'role': {'type': 'string', 'enum': ['presenter']},
                                    'key': {'type': 'string'},
                                },
                            },
                        ]
                    }
                ),
            },
            'responses': {
                '200': {
                    'description': "A token for the presentation's room.",
                    'content': json_content({'$ref': '#/components/schemas/Token'}),
                },
                **errors(400, 403, 404, 409, 410, 413, 415, 429, 502, 503),
            },
        },
    },
    '/api/presentations/{presentation_id}/subscribe-rules': {
        'parameters': [PRESENTATION_ID],
        'post': {
            'summary': "Set the caller's subscribe rules",
            'operationId': 'setSubscribeRules',
            'description': 'Attendees receive the presenter only; the presenter '
            'receives nobody. The caller is named by its access token. Rules already '
            'set with this token are not sent again; 429 past the per-participant or '
            'per-presentation limit.',
            'security': [{'accessToken': []}],
            'responses': {
                '200': {
                    'description': 'The rules now in force.',
                    'content': json_content(
                        {
                            'type': 'object',
                            'required': ['identity', 'rules'],
                            'properties': {
                                'identity': {'type': 'string'},
                                'rules': {'type': 'array', 'items': {'type': 'object'}},
                            },
                        }
                    ),
                },
                **errors(401, 404, 409, 410, 429, 502, 503),
            },
        },
    },
    '/api/presentations/{presentation_id}/end': {
        'parameters': [PRESENTATION_ID],
        'post': {
            'summary': 'End the presentation (presenter only)',
            'operationId': 'endPresentation',
            'description': BODY_NOTE,
            'requestBody': {
                'required': True,
                'content': json_content(
                    {
                        'type': 'object',
                        'required': ['key'],
                        'properties': {'key': {'type': 'string'}},
                    }
                ),
            },
            'responses': {
                '200': {
                    'description': 'Ended (again, if it already was).',
                    'content': json_content(
                        {
                            'type': 'object',
                            'required': ['id', 'status', 'ended_at'],
                            'properties': {
                                'id': {'type': 'string'},
                                'status': {'type': 'string', 'enum': ['ended']},
                                'ended_at': {'type': 'integer'},
                            },
                        }
                    ),
                },
                **errors(400, 403, 404, 413, 415, 502, 503),
            },
        },
    },
    '/api/presentations/{presentation_id}/broadcast': {
        'parameters': [PRESENTATION_ID],
        'get': {
            'summary': "The broadcast's state (presenter only)",
            'operationId': 'getBroadcast',
            'security': [{'presenterKey': []}],
            'responses': {
                '200': {
                    'description': 'The choice and, while on air, the encoder.',
                    'content': json_content({'$ref': '#/components/schemas/Broadcast'}),
                },
                **errors(401, 403, 404, 502, 503),
            },
        },
        'put': {
            'summary': 'Broadcast the talk as HLS, or stop (presenter only)',
            'operationId': 'setBroadcast',
            'description': BODY_NOTE,
            'security': [{'presenterKey': []}],
            'requestBody': {
                'required': True,
                'content': json_content(
                    {
                        'type': 'object',
                        'required': ['broadcast'],
                        'properties': {'broadcast': {'type': 'boolean'}},
                    }
                ),
            },
            'responses': {
                '200': {
                    'description': 'Changed.',
                    'content': json_content({'$ref': '#/components/schemas/Broadcast'}),
                },
                **errors(400, 401, 403, 404, 409, 413, 415, 502, 503),
            },
        },
    },
    '/api/presentations/{presentation_id}/broadcast/overflow': {
        'parameters': [PRESENTATION_ID],
        'post': {
            'summary': 'The room is full: broadcast, so this attendee can watch',
            'operationId': 'broadcastOverflow',
            'description': "Needs the attendee's access token; refused (409) while "
            'the room has space, and on the Twilio backend.',
            'security': [{'accessToken': []}],
            'responses': {
                '200': {
                    'description': 'Broadcasting.',
                    'content': json_content({'$ref': '#/components/schemas/Broadcast'}),
                },
                **errors(401, 404, 409, 410, 502, 503),
            },
        },
    },
    '/api/healthz': {
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
    **audience_openapi.paths(PRESENTATION_ID),
    **report_openapi.paths(PRESENTATION_ID),
    **recording_openapi.paths(PRESENTATION_ID),
    **health.openapi_paths('/api', 'Redis'),
    **openapi.self_description(OPENAPI_PATH),
}

SPEC = openapi.document(
    'Podium token service',
    "Presentations, access tokens, subscribe rules, and the audience's questions, "
    'votes, hands, reactions and polls. Served under /api/ by nginx.',
    PATHS,
    components={
        'schemas': SCHEMAS,
        'securitySchemes': {
            'accessToken': {'type': 'http', 'scheme': 'bearer'},
            **audience_openapi.SECURITY_SCHEMES,
        },
    },
)


def OpenApiDocument() -> openapi.OpenApiResource:  # noqa: N802 - reads as a resource
    return openapi.OpenApiResource(SPEC)
