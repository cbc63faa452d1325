"""The local video service's OpenAPI 3 document, served at `/video/openapi.json`.

It describes the Twilio-compatible Rooms, Recordings and Compositions REST subset
(loopback only, HTTP Basic), the signed composition download and the health
check. Errors on /v1 keep Twilio's JSON error shape. The signalling WebSocket
at /video/signal is not HTTP and is documented in `signalling.py`.
"""

from __future__ import annotations

import json

import falcon

from podium import health

from .rest import MAX_BODY_BYTES, MAX_NAME, MAX_PAGE_SIZE
from .rules import MAX_RULES

OPENAPI_PATH = '/video/openapi.json'
FORM = 'application/x-www-form-urlencoded'

TWILIO_ERROR = {
    'type': 'object',
    'required': ['code', 'message', 'more_info', 'status'],
    'properties': {
        'code': {'type': 'integer'},
        'message': {'type': 'string', 'minLength': 1},
        'more_info': {'type': 'string'},
        'status': {'type': 'integer'},
    },
}
PROBLEM = {
    'type': 'object',
    'required': ['title', 'description'],
    'properties': {'title': {'type': 'string'}, 'description': {'type': 'string'}},
}
WHY = {
    400: 'Invalid parameter (Twilio error code in the body).',
    401: 'HTTP Basic with the API key SID and secret (or account SID and auth '
    'token) is required.',
    404: 'No such room, participant, recording or composition (or no media yet).',
    405: 'A composition cannot be changed.',
    413: f'Request body larger than {MAX_BODY_BYTES} bytes.',
    415: 'Send parameters form-encoded.',
}


def _errors(*statuses: int) -> dict:
    schema = {'$ref': '#/components/schemas/TwilioError'}
    return {
        str(status): {
            'description': WHY[status],
            'content': {'application/json': {'schema': schema}},
        }
        for status in statuses
    }


def _ok(status: int, ref: str, description: str) -> dict:
    return {
        str(status): {
            'description': description,
            'content': {
                'application/json': {'schema': {'$ref': f'#/components/schemas/{ref}'}}
            },
        }
    }


def _form(properties: dict, required: tuple[str, ...] = ()) -> dict:
    schema: dict = {'type': 'object', 'properties': properties}
    if required:
        schema['required'] = list(required)
    return {'required': bool(required), 'content': {FORM: {'schema': schema}}}


def _query(name: str, schema: dict) -> dict:
    return {'name': name, 'in': 'query', 'required': False, 'schema': schema}


def _path(name: str, example: str) -> dict:
    return {
        'name': name,
        'in': 'path',
        'required': True,
        'schema': {'type': 'string'},
        'example': example,
    }


PAGING = [
    _query('PageSize', {'type': 'integer', 'minimum': 1, 'maximum': MAX_PAGE_SIZE}),
    _query('Page', {'type': 'integer', 'minimum': 0}),
]
ROOM = _path('room', 'demo-room')
PARTICIPANT = _path('participant', 'presenter')
SECURE = [{'basic': []}]
RECORDING = _path('sid', 'RT' + '0' * 32)
COMPOSITION = _path('sid', 'CJ' + '0' * 32)

ROOM_SCHEMA = {
    'type': 'object',
    'required': ['sid', 'status', 'unique_name', 'account_sid', 'url', 'links'],
    'properties': {
        'sid': {'type': 'string', 'pattern': '^RM[0-9a-f]{32}$'},
        'status': {'type': 'string', 'enum': ['in-progress', 'completed', 'failed']},
        'unique_name': {'type': 'string'},
        'account_sid': {'type': 'string'},
        'status_callback': {'type': 'string', 'nullable': True},
        'max_participants': {'type': 'integer'},
        'empty_room_timeout': {'type': 'integer'},
        'unused_room_timeout': {'type': 'integer'},
        'url': {'type': 'string'},
        'links': {'type': 'object'},
    },
}
PARTICIPANT_SCHEMA = {
    'type': 'object',
    'required': ['sid', 'room_sid', 'status', 'identity', 'url'],
    'properties': {
        'sid': {'type': 'string', 'pattern': '^PA[0-9a-f]{32}$'},
        'room_sid': {'type': 'string'},
        'status': {'type': 'string', 'enum': ['connected', 'disconnected']},
        'identity': {'type': 'string'},
        'url': {'type': 'string'},
    },
}
TRACK_SCHEMA = {
    'type': 'object',
    'required': ['sid', 'participant_sid', 'room_sid', 'name', 'kind', 'enabled'],
    'properties': {
        'sid': {'type': 'string', 'pattern': '^MT[0-9a-f]{32}$'},
        'participant_sid': {'type': 'string'},
        'room_sid': {'type': 'string'},
        'name': {'type': 'string'},
        'date_created': {'type': 'string', 'format': 'date-time'},
        'date_updated': {'type': 'string', 'format': 'date-time'},
        'enabled': {'type': 'boolean'},
        'kind': {'type': 'string', 'enum': ['audio', 'video', 'data']},
        'url': {'type': 'string'},
    },
}
RULES_SCHEMA = {
    'type': 'object',
    'required': ['participant_sid', 'room_sid', 'rules'],
    'properties': {
        'participant_sid': {'type': 'string'},
        'room_sid': {'type': 'string'},
        'rules': {'type': 'array', 'items': {'type': 'object'}},
    },
}

RECORDING_RULES_SCHEMA = {
    'type': 'object',
    'required': ['room_sid', 'rules'],
    'properties': {
        'room_sid': {'type': 'string'},
        'rules': {'type': 'array', 'items': {'type': 'object'}},
    },
}
RECORDING_SCHEMA = {
    'type': 'object',
    'required': ['sid', 'status', 'source_sid', 'track_name', 'type', 'url'],
    'properties': {
        'sid': {'type': 'string', 'pattern': '^RT[0-9a-f]{32}$'},
        'status': {
            'type': 'string',
            'enum': ['processing', 'completed', 'deleted', 'failed'],
        },
        'source_sid': {'type': 'string'},
        'track_name': {'type': 'string'},
        'type': {'type': 'string', 'enum': ['audio', 'video', 'data']},
        'container_format': {'type': 'string', 'enum': ['mka', 'mkv']},
        'duration': {'type': 'integer', 'nullable': True},
        'size': {'type': 'integer'},
        'offset': {'type': 'integer'},
        'grouping_sids': {'type': 'object'},
        'url': {'type': 'string'},
    },
}
COMPOSITION_SCHEMA = {
    'type': 'object',
    'required': ['sid', 'status', 'room_sid', 'resolution', 'format', 'url'],
    'properties': {
        'sid': {'type': 'string', 'pattern': '^CJ[0-9a-f]{32}$'},
        'status': {
            'type': 'string',
            'enum': ['enqueued', 'processing', 'completed', 'deleted', 'failed'],
        },
        'room_sid': {'type': 'string'},
        'video_layout': {'type': 'object'},
        'audio_sources': {'type': 'array', 'items': {'type': 'string'}},
        'resolution': {'type': 'string'},
        'format': {'type': 'string', 'enum': ['mp4', 'webm']},
        'size': {'type': 'integer'},
        'duration': {'type': 'integer'},
        'url': {'type': 'string'},
    },
}


def _page_of(key: str, ref: str) -> dict:
    return {
        'type': 'object',
        'required': [key, 'meta'],
        'properties': {
            key: {'type': 'array', 'items': {'$ref': f'#/components/schemas/{ref}'}},
            'meta': {'type': 'object'},
        },
    }


PATHS = {
    '/v1/Rooms': {
        'post': {
            'summary': 'Create a group room',
            'operationId': 'createRoom',
            'security': SECURE,
            'requestBody': _form(
                {
                    'Type': {'type': 'string', 'enum': ['group']},
                    'UniqueName': {'type': 'string', 'maxLength': MAX_NAME},
                    'StatusCallback': {'type': 'string', 'format': 'uri'},
                    'StatusCallbackMethod': {'type': 'string', 'enum': ['GET', 'POST']},
                    'MaxParticipants': {'type': 'integer', 'minimum': 1},
                    'EmptyRoomTimeout': {
                        'type': 'integer',
                        'minimum': 1,
                        'maximum': 60,
                    },
                    'UnusedRoomTimeout': {
                        'type': 'integer',
                        'minimum': 1,
                        'maximum': 60,
                    },
                }
            ),
            'responses': {
                **_ok(201, 'Room', 'Created.'),
                **_errors(400, 401, 413, 415),
            },
        },
        'get': {
            'summary': 'List rooms, newest first',
            'operationId': 'listRooms',
            'security': SECURE,
            'parameters': [
                _query('Status', {'type': 'string'}),
                _query('UniqueName', {'type': 'string'}),
                *PAGING,
            ],
            'responses': {**_ok(200, 'RoomPage', 'A page.'), **_errors(400, 401)},
        },
    },
    '/v1/Rooms/{room}': {
        'parameters': [ROOM],
        'get': {
            'summary': 'Fetch a room by SID or in-progress UniqueName',
            'operationId': 'fetchRoom',
            'security': SECURE,
            'responses': {**_ok(200, 'Room', 'The room.'), **_errors(401, 404)},
        },
        'post': {
            'summary': 'Complete a room',
            'operationId': 'completeRoom',
            'security': SECURE,
            'requestBody': _form(
                {'Status': {'type': 'string', 'enum': ['completed']}}, ('Status',)
            ),
            'responses': {
                **_ok(202, 'Room', 'Completed.'),
                **_errors(400, 401, 404, 413, 415),
            },
        },
    },
    '/v1/Rooms/{room}/Participants': {
        'parameters': [ROOM],
        'get': {
            'summary': "List a room's participants",
            'operationId': 'listParticipants',
            'security': SECURE,
            'parameters': [
                _query('Status', {'type': 'string'}),
                _query('Identity', {'type': 'string'}),
                *PAGING,
            ],
            'responses': {
                **_ok(200, 'ParticipantPage', 'A page.'),
                **_errors(400, 401, 404),
            },
        },
    },
    '/v1/Rooms/{room}/Participants/{participant}': {
        'parameters': [ROOM, PARTICIPANT],
        'get': {
            'summary': 'Fetch a participant by SID or identity',
            'operationId': 'fetchParticipant',
            'security': SECURE,
            'responses': {
                **_ok(200, 'Participant', 'The participant.'),
                **_errors(401, 404),
            },
        },
        'post': {
            'summary': 'Disconnect (kick) a participant',
            'operationId': 'kickParticipant',
            'security': SECURE,
            'requestBody': _form(
                {'Status': {'type': 'string', 'enum': ['disconnected']}}, ('Status',)
            ),
            'responses': {
                **_ok(202, 'Participant', 'Disconnected.'),
                **_errors(400, 401, 404, 413, 415),
            },
        },
    },
    '/v1/Rooms/{room}/Participants/{participant}/PublishedTracks': {
        'parameters': [ROOM, PARTICIPANT],
        'get': {
            'summary': "List a participant's currently published tracks",
            'operationId': 'listPublishedTracks',
            'security': SECURE,
            'parameters': PAGING,
            'responses': {
                **_ok(200, 'PublishedTrackPage', 'A page (empty once disconnected).'),
                **_errors(400, 401, 404),
            },
        },
    },
    '/v1/Rooms/{room}/Participants/{participant}/SubscribeRules': {
        'parameters': [ROOM, PARTICIPANT],
        'get': {
            'summary': "Read a participant's subscribe rules",
            'operationId': 'fetchSubscribeRules',
            'security': SECURE,
            'responses': {**_ok(200, 'Rules', 'The rules.'), **_errors(401, 404)},
        },
        'post': {
            'summary': "Replace a connected participant's subscribe rules",
            'operationId': 'updateSubscribeRules',
            'security': SECURE,
            'requestBody': _form(
                {
                    'Rules': {
                        'type': 'string',
                        'description': f'A JSON array of 1 to {MAX_RULES} rules.',
                    }
                },
                ('Rules',),
            ),
            'responses': {
                **_ok(200, 'Rules', 'The rules now in force.'),
                **_errors(400, 401, 404, 413, 415),
            },
        },
    },
    '/v1/Rooms/{room}/RecordingRules': {
        'parameters': [ROOM],
        'get': {
            'summary': "Read a room's Recording Rules",
            'operationId': 'fetchRecordingRules',
            'security': SECURE,
            'responses': {
                **_ok(200, 'RecordingRules', 'The rules.'),
                **_errors(401, 404),
            },
        },
        'post': {
            'summary': "Replace an in-progress room's Recording Rules",
            'operationId': 'updateRecordingRules',
            'security': SECURE,
            'requestBody': _form(
                {
                    'Rules': {
                        'type': 'string',
                        'description': 'A JSON array of include/exclude rules, '
                        'e.g. [{"type": "include", "all": true}].',
                    }
                },
                ('Rules',),
            ),
            'responses': {
                **_ok(200, 'RecordingRules', 'The rules now in force.'),
                **_errors(400, 401, 404, 413, 415),
            },
        },
    },
    '/v1/Recordings': {
        'get': {
            'summary': 'List recordings (one per recorded track), newest first',
            'operationId': 'listRecordings',
            'security': SECURE,
            'parameters': [
                _query('Status', {'type': 'string'}),
                _query('SourceSid', {'type': 'string'}),
                _query('GroupingSid', {'type': 'string'}),
                _query('MediaType', {'type': 'string'}),
                *PAGING,
            ],
            'responses': {
                **_ok(200, 'RecordingPage', 'A page.'),
                **_errors(400, 401),
            },
        }
    },
    '/v1/Recordings/{sid}': {
        'parameters': [RECORDING],
        'get': {
            'summary': 'Fetch a recording',
            'operationId': 'fetchRecording',
            'security': SECURE,
            'responses': {
                **_ok(200, 'Recording', 'The recording.'),
                **_errors(401, 404),
            },
        },
        'delete': {
            'summary': 'Delete a completed or failed recording and its file',
            'operationId': 'deleteRecording',
            'security': SECURE,
            'responses': {
                '204': {'description': 'Deleted.'},
                **_errors(400, 401, 404),
            },
        },
    },
    '/v1/Rooms/{room}/Recordings': {
        'parameters': [ROOM],
        'get': {
            'summary': "List a room's recordings",
            'operationId': 'listRoomRecordings',
            'security': SECURE,
            'parameters': [
                _query('Status', {'type': 'string'}),
                _query('SourceSid', {'type': 'string'}),
                *PAGING,
            ],
            'responses': {
                **_ok(200, 'RecordingPage', 'A page.'),
                **_errors(400, 401, 404),
            },
        },
    },
    '/v1/Rooms/{room}/Recordings/{sid}': {
        'parameters': [ROOM, RECORDING],
        'get': {
            'summary': "Fetch one of a room's recordings",
            'operationId': 'fetchRoomRecording',
            'security': SECURE,
            'responses': {
                **_ok(200, 'Recording', 'The recording.'),
                **_errors(401, 404),
            },
        },
        'delete': {
            'summary': "Delete one of a room's recordings",
            'operationId': 'deleteRoomRecording',
            'security': SECURE,
            'responses': {
                '204': {'description': 'Deleted.'},
                **_errors(400, 401, 404),
            },
        },
    },
    '/v1/Compositions': {
        'post': {
            'summary': "Compose a room's recordings into one file",
            'operationId': 'createComposition',
            'security': SECURE,
            'requestBody': _form(
                {
                    'RoomSid': {'type': 'string'},
                    'VideoLayout': {
                        'type': 'string',
                        'description': 'JSON object of named regions '
                        '(x_pos, y_pos, z_pos, width, height, video_sources).',
                    },
                    'AudioSources': {'type': 'array', 'items': {'type': 'string'}},
                    'AudioSourcesExcluded': {
                        'type': 'array',
                        'items': {'type': 'string'},
                    },
                    'Resolution': {'type': 'string', 'example': '1280x720'},
                    'Format': {'type': 'string', 'enum': ['mp4', 'webm']},
                    'Trim': {'type': 'boolean'},
                    'StatusCallback': {'type': 'string', 'format': 'uri'},
                    'StatusCallbackMethod': {'type': 'string', 'enum': ['GET', 'POST']},
                },
                ('RoomSid',),
            ),
            'responses': {
                **_ok(201, 'Composition', 'Enqueued.'),
                **_errors(400, 401, 413, 415),
            },
        },
        'get': {
            'summary': 'List compositions, newest first',
            'operationId': 'listCompositions',
            'security': SECURE,
            'parameters': [
                _query('Status', {'type': 'string'}),
                _query('RoomSid', {'type': 'string'}),
                *PAGING,
            ],
            'responses': {
                **_ok(200, 'CompositionPage', 'A page.'),
                **_errors(400, 401),
            },
        },
    },
    '/v1/Compositions/{sid}': {
        'parameters': [COMPOSITION],
        'get': {
            'summary': 'Fetch a composition',
            'operationId': 'fetchComposition',
            'security': SECURE,
            'responses': {
                **_ok(200, 'Composition', 'The composition.'),
                **_errors(401, 404),
            },
        },
        'delete': {
            'summary': 'Delete a completed or failed composition and its file',
            'operationId': 'deleteComposition',
            'security': SECURE,
            'responses': {
                '204': {'description': 'Deleted.'},
                **_errors(400, 401, 404),
            },
        },
    },
    '/v1/Compositions/{sid}/Media': {
        'parameters': [COMPOSITION],
        'get': {
            'summary': 'Redirect to a signed, expiring link to the composed file',
            'operationId': 'fetchCompositionMedia',
            'security': SECURE,
            'parameters': [
                _query('Ttl', {'type': 'integer', 'minimum': 1, 'maximum': 3600})
            ],
            'responses': {
                '302': {
                    'description': 'The signed link, in Location and redirect_to.',
                    'content': {'application/json': {'schema': {'type': 'object'}}},
                },
                **_errors(400, 401, 404),
            },
        },
    },
    '/video/media/{sid}': {
        'parameters': [COMPOSITION],
        'get': {
            'summary': 'A composed file, for a link /Media signed (no credentials)',
            'operationId': 'downloadCompositionMedia',
            'parameters': [
                _query('Expires', {'type': 'integer'}),
                _query('Signature', {'type': 'string'}),
            ],
            'responses': {
                '200': {
                    'description': 'The file.',
                    'content': {'video/mp4': {}, 'video/webm': {}},
                },
                '403': {
                    'description': 'The link is invalid or has expired.',
                    'content': {'application/json': {'schema': PROBLEM}},
                },
                '404': {
                    'description': 'No such composition file.',
                    'content': {'application/json': {'schema': PROBLEM}},
                },
            },
        },
    },
    '/video/healthz': {
        'get': {
            'summary': 'Health: the service is up and its media server is ready',
            'operationId': 'health',
            'responses': {
                '200': {
                    'description': 'Ready.',
                    'content': {'application/json': {'schema': {'type': 'object'}}},
                },
                '503': {
                    'description': 'The media server is restarting.',
                    'content': {'application/json': {'schema': {'type': 'object'}}},
                },
            },
        }
    },
    **health.openapi_paths('/video', 'the media server (Janus)'),
    OPENAPI_PATH: {
        'get': {
            'summary': 'This OpenAPI document',
            'operationId': 'openapi',
            'responses': {
                '200': {
                    'description': 'The OpenAPI 3 description of this service.',
                    'content': {'application/json': {'schema': {'type': 'object'}}},
                }
            },
        }
    },
}

SPEC = {
    'openapi': '3.0.3',
    'info': {
        'title': 'Podium local video',
        'version': '1',
        'description': 'A Twilio-compatible subset of the Video v1 Rooms API, on '
        'loopback, for the local video backend.',
    },
    'paths': PATHS,
    'components': {
        'schemas': {
            'TwilioError': TWILIO_ERROR,
            'Problem': PROBLEM,
            'Room': ROOM_SCHEMA,
            'RoomPage': _page_of('rooms', 'Room'),
            'Participant': PARTICIPANT_SCHEMA,
            'ParticipantPage': _page_of('participants', 'Participant'),
            'PublishedTrack': TRACK_SCHEMA,
            'PublishedTrackPage': _page_of('published_tracks', 'PublishedTrack'),
            'Rules': RULES_SCHEMA,
            'RecordingRules': RECORDING_RULES_SCHEMA,
            'Recording': RECORDING_SCHEMA,
            'RecordingPage': _page_of('recordings', 'Recording'),
            'Composition': COMPOSITION_SCHEMA,
            'CompositionPage': _page_of('compositions', 'Composition'),
        },
        'securitySchemes': {'basic': {'type': 'http', 'scheme': 'basic'}},
    },
}


class OpenApiDocument:
    """`GET /video/openapi.json`."""

    def __init__(self) -> None:
        self._body = json.dumps(SPEC, indent=1).encode()

    async def on_get(self, req, resp) -> None:
        resp.content_type = falcon.MEDIA_JSON
        resp.data = self._body
