"""OpenAPI description of the audience endpoints (docs/audience-api.md has more)."""

from __future__ import annotations

from podium import audience
from podium.openapi import errors, json_content
from token_service.audience_access import MAX_AUDIENCE_BODY_BYTES

BASE = '/api/presentations/{presentation_id}'
ATTENDEE = [{'accessToken': []}]
PRESENTER = [{'presenterKey': []}]
BODY_NOTE = (
    f'JSON, at most {MAX_AUDIENCE_BODY_BYTES} bytes. Text is one line (no control '
    'characters), counted in characters after stripping.'
)


def _path_param(name: str, description: str) -> dict:
    return {
        'name': name,
        'in': 'path',
        'required': True,
        'description': description,
        'schema': {'type': 'string'},
    }


QUESTION_ID = _path_param('question_id', 'A question id from POST questions.')
POLL_ID = _path_param('poll_id', 'A poll id from POST polls.')
SLOT = _path_param('slot', 'A stage slot number, 1..PODIUM_STAGE_SLOTS.')
IDENTITY = _path_param('identity', 'An attendee identity from the hand queue.')

TEXT = {'type': 'string', 'minLength': 1}
OBJECT = {'type': 'object'}
QUESTION = {
    'type': 'object',
    'required': ['id', 'text', 'author', 'state', 'votes', 'asked_at'],
    'properties': {
        'id': {'type': 'string'},
        'text': {'type': 'string'},
        'author': {'type': 'string', 'nullable': True},
        'anonymous': {'type': 'boolean'},
        'state': {
            'type': 'string',
            'enum': [audience.PENDING, *audience.QUESTION_STATES],
        },
        'votes': {'type': 'integer', 'minimum': 0},
        'asked_at': {'type': 'integer'},
    },
}
POLL = {
    'type': 'object',
    'required': ['id', 'question', 'options', 'state', 'visibility'],
    'properties': {
        'id': {'type': 'string'},
        'question': {'type': 'string'},
        'options': {'type': 'array', 'items': {'type': 'string'}},
        'state': {'type': 'string', 'enum': ['draft', 'open', 'closed']},
        'visibility': {'type': 'string', 'enum': list(audience.VISIBILITIES)},
        'votes': {
            'type': 'array',
            'nullable': True,
            'items': {'type': 'integer'},
        },
        'total': {'type': 'integer'},
    },
}

# Every audience operation can meet these (auth, body, presentation, limits).
COMMON = (400, 401, 403, 404, 409, 410, 413, 415, 429, 503)
READ = (400, 401, 403, 404, 503)


def _body(schema: dict) -> dict:
    return {'required': True, 'content': json_content(schema)}


def _op(
    summary: str,
    operation_id: str,
    security: list,
    status: str,
    response: dict,
    *,
    body: dict | None = None,
    statuses: tuple[int, ...] = COMMON,
    description: str = '',
    parameters: list | None = None,
    content: dict | None = None,
) -> dict:
    op = {
        'summary': summary,
        'operationId': operation_id,
        'description': description or BODY_NOTE,
        'security': security,
        'responses': {
            status: {
                'description': 'Done.',
                'content': content or json_content(response),
            },
            **errors(*statuses),
        },
    }
    if body is not None:
        op['requestBody'] = _body(body)
    if parameters:
        op['parameters'] = parameters
    return op


def _view(*values: str) -> dict:
    return {
        'name': 'view',
        'in': 'query',
        'required': True,
        'schema': {'type': 'string', 'enum': list(values)},
    }


def _export(what: str, fmt: str) -> dict:
    media = 'text/csv' if fmt == 'csv' else 'application/json'
    schema = {'type': 'string'} if fmt == 'csv' else OBJECT
    return {
        'get': _op(
            f'Download the {what} as {fmt.upper()} (presenter; also once ended)',
            f'export_{what}_{fmt}',
            PRESENTER,
            '200',
            schema,
            statuses=(401, 403, 404, 503),
            description='An attachment. Send the key in the Authorization header, '
            'never in the URL.',
            content={media: {'schema': schema}},
        )
    }


def paths(presentation_id: dict) -> dict:
    """Return the audience paths; `presentation_id` is the shared path parameter."""
    text = {**TEXT, 'maxLength': audience.MAX_QUESTION_LENGTH}
    return {
        f'{BASE}/questions': {
            'parameters': [presentation_id],
            'post': _op(
                'Ask a question',
                'askQuestion',
                ATTENDEE,
                '201',
                QUESTION,
                body={
                    'type': 'object',
                    'required': ['text'],
                    'properties': {
                        'text': text,
                        'anonymous': {'type': 'boolean'},
                    },
                },
            ),
            'get': _op(
                'Private reads: your own questions (mine) or all (moderation)',
                'readQuestions',
                ATTENDEE + PRESENTER,
                '200',
                OBJECT,
                statuses=READ,
                description='view=mine needs your access token; view=moderation '
                'the presenter key.',
                parameters=[_view('mine', 'moderation')],
            ),
        },
        f'{BASE}/questions/{{question_id}}': {
            'parameters': [presentation_id, QUESTION_ID],
            'patch': _op(
                'Approve, answer or dismiss a question; pick it as answering now',
                'changeQuestion',
                PRESENTER,
                '200',
                OBJECT,
                body={
                    'type': 'object',
                    'properties': {
                        'state': {
                            'type': 'string',
                            'enum': list(audience.QUESTION_STATES),
                        },
                        'answering_now': {'type': 'boolean'},
                    },
                },
            ),
        },
        f'{BASE}/questions/{{question_id}}/vote': {
            'parameters': [presentation_id, QUESTION_ID],
            'put': _op('Upvote (idempotent)', 'upvote', ATTENDEE, '200', OBJECT),
            'delete': _op(
                'Take an upvote back (idempotent)', 'unvote', ATTENDEE, '200', OBJECT
            ),
        },
        f'{BASE}/reactions': {
            'parameters': [presentation_id],
            'post': _op(
                'React with an emoji from the fixed set',
                'react',
                ATTENDEE,
                '202',
                OBJECT,
                body={
                    'type': 'object',
                    'required': ['emoji'],
                    'properties': {
                        'emoji': {'type': 'string', 'enum': list(audience.REACTIONS)}
                    },
                },
            ),
        },
        f'{BASE}/hand': {
            'parameters': [presentation_id],
            'put': _op('Raise your hand', 'raiseHand', ATTENDEE, '200', OBJECT),
            'delete': _op('Lower your hand', 'lowerHand', ATTENDEE, '200', OBJECT),
        },
        f'{BASE}/hands': {
            'parameters': [presentation_id],
            'delete': _op(
                'Lower every hand (presenter)', 'lowerHands', PRESENTER, '200', OBJECT
            ),
        },
        f'{BASE}/hands/{{identity}}': {
            'parameters': [presentation_id, IDENTITY],
            'delete': _op(
                "Lower one attendee's hand (presenter)",
                'lowerHandOf',
                PRESENTER,
                '200',
                OBJECT,
            ),
        },
        f'{BASE}/stage': {
            'parameters': [presentation_id],
            'post': _op(
                'Invite an attendee on stage (presenter)',
                'inviteOnStage',
                PRESENTER,
                '201',
                OBJECT,
                body={
                    'type': 'object',
                    'required': ['identity'],
                    'properties': {'identity': {'type': 'string'}},
                },
                description='Reserves the lowest free slot (speaker-1..N); 409 '
                'when all are taken (docs/stage.md).',
            ),
        },
        f'{BASE}/stage/accept': {
            'parameters': [presentation_id],
            'post': _op(
                'Accept your invitation: returns an access token for your slot',
                'acceptStage',
                ATTENDEE,
                '200',
                OBJECT,
            ),
        },
        f'{BASE}/stage/decline': {
            'parameters': [presentation_id],
            'post': _op(
                'Decline your invitation', 'declineStage', ATTENDEE, '200', OBJECT
            ),
        },
        f'{BASE}/stage/leave': {
            'parameters': [presentation_id],
            'post': _op('Step off stage', 'leaveStage', ATTENDEE, '200', OBJECT),
        },
        f'{BASE}/stage/{{slot}}': {
            'parameters': [presentation_id, SLOT],
            'delete': _op(
                'Withdraw an invitation or take a speaker off stage (presenter)',
                'removeFromStage',
                PRESENTER,
                '200',
                OBJECT,
            ),
        },
        f'{BASE}/stage/{{slot}}/mute': {
            'parameters': [presentation_id, SLOT],
            'post': _op(
                'Mute a speaker, or let them unmute (presenter)',
                'muteOnStage',
                PRESENTER,
                '200',
                OBJECT,
                body={
                    'type': 'object',
                    'properties': {'muted': {'type': 'boolean'}},
                },
            ),
        },
        f'{BASE}/polls': {
            'parameters': [presentation_id],
            'post': _op(
                'Create a poll (presenter)',
                'createPoll',
                PRESENTER,
                '201',
                POLL,
                body={
                    'type': 'object',
                    'required': ['question', 'options'],
                    'properties': {
                        'question': {
                            **TEXT,
                            'maxLength': audience.MAX_POLL_QUESTION_LENGTH,
                        },
                        'options': {
                            'type': 'array',
                            'minItems': audience.MIN_OPTIONS,
                            'maxItems': audience.MAX_OPTIONS,
                            'items': {**TEXT, 'maxLength': audience.MAX_OPTION_LENGTH},
                        },
                        'visibility': {
                            'type': 'string',
                            'enum': list(audience.VISIBILITIES),
                        },
                        'open': {'type': 'boolean'},
                    },
                },
            ),
            'get': _op(
                'Private reads: polls with your ballot (mine) or live tallies '
                '(presenter)',
                'readPolls',
                ATTENDEE + PRESENTER,
                '200',
                OBJECT,
                statuses=READ,
                description='view=mine needs your access token; view=presenter '
                'the presenter key.',
                parameters=[_view('mine', 'presenter')],
            ),
        },
        f'{BASE}/polls/{{poll_id}}': {
            'parameters': [presentation_id, POLL_ID],
            'patch': _op(
                'Open or close a poll (presenter)',
                'changePoll',
                PRESENTER,
                '200',
                POLL,
                body={
                    'type': 'object',
                    'required': ['state'],
                    'properties': {
                        'state': {'type': 'string', 'enum': list(audience.POLL_STATES)}
                    },
                },
            ),
        },
        f'{BASE}/polls/{{poll_id}}/vote': {
            'parameters': [presentation_id, POLL_ID],
            'put': _op(
                'Vote in an open poll, or change your vote',
                'votePoll',
                ATTENDEE,
                '200',
                OBJECT,
                body={
                    'type': 'object',
                    'required': ['option'],
                    'properties': {'option': {'type': 'integer', 'minimum': 0}},
                },
            ),
        },
        f'{BASE}/settings': {
            'parameters': [presentation_id],
            'patch': _op(
                'Switch moderated mode (presenter)',
                'changeSettings',
                PRESENTER,
                '200',
                OBJECT,
                body={
                    'type': 'object',
                    'required': ['moderated'],
                    'properties': {'moderated': {'type': 'boolean'}},
                },
            ),
        },
        **{
            f'{BASE}/{what}.{fmt}': {
                'parameters': [presentation_id],
                **_export(what, fmt),
            }
            for what in ('questions', 'polls')
            for fmt in ('csv', 'json')
        },
    }


SECURITY_SCHEMES = {
    'presenterKey': {
        'type': 'apiKey',
        'in': 'header',
        'name': 'Authorization',
        'description': '"Presenter <presenter key>".',
    }
}
