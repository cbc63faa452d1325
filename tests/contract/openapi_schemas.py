"""Twilio's OpenAPI description of Video v1 as JSON Schema validators.

Read from the shared reference copy, never from the repository. OpenAPI 3.0
marks optional nulls with `nullable: true`, which JSON Schema spells as a
`null` type; that is the only translation needed here.
"""

from __future__ import annotations

import functools
import json

import jsonschema

from .reference import TWILIO_VIDEO_OPENAPI, reference_file

ROOM = 'video.v1.room'
PARTICIPANT = 'video.v1.room.room_participant'
SUBSCRIBE_RULES = 'video.v1.room.room_participant.room_participant_subscribe_rule'


def _nullable_to_null_type(node):
    if isinstance(node, list):
        return [_nullable_to_null_type(item) for item in node]
    if not isinstance(node, dict):
        return node
    node = {key: _nullable_to_null_type(value) for key, value in node.items()}
    if node.pop('nullable', False):
        if 'type' in node:
            node['type'] = [node['type'], 'null']
        if 'enum' in node:
            node['enum'] = [*node['enum'], None]
    return node


@functools.cache
def _components() -> dict:
    spec = json.loads(reference_file(TWILIO_VIDEO_OPENAPI).read_text())
    return _nullable_to_null_type(spec['components'])


def validate(instance: dict, schema_name: str) -> None:
    """Raise jsonschema.ValidationError unless `instance` fits the named schema."""
    schema = {
        '$ref': f'#/components/schemas/{schema_name}',
        'components': _components(),
    }
    jsonschema.Draft7Validator(schema).validate(instance)


def validate_list(instance: dict, key: str, schema_name: str) -> None:
    """Validate a list page: `{key: [...], 'meta': {...}}`."""
    assert set(instance) == {key, 'meta'}
    assert instance['meta']['key'] == key
    for item in instance[key]:
        validate(item, schema_name)
