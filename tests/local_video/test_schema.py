"""REST responses validate against Twilio's own OpenAPI description of Video v1."""

from __future__ import annotations

import json

import httpx
import jsonschema
import pytest

from tests.contract.reference import TWILIO_VIDEO_OPENAPI, reference_file

from .helpers import Signal, make_token


def _nullable_to_json_schema(node):
    """Turn OpenAPI 3.0 `nullable: true` into JSON Schema's type lists."""
    if isinstance(node, dict):
        node = {k: _nullable_to_json_schema(v) for k, v in node.items()}
        if node.pop('nullable', False):
            if 'type' in node:
                node['type'] = [node['type'], 'null']
                if 'enum' in node:
                    node['enum'] = [*node['enum'], None]
            elif '$ref' in node:
                node = {'anyOf': [{'$ref': node['$ref']}, {'type': 'null'}]}
        return node
    if isinstance(node, list):
        return [_nullable_to_json_schema(v) for v in node]
    return node


@pytest.fixture(scope='module')
def spec():
    spec = json.loads(reference_file(TWILIO_VIDEO_OPENAPI).read_text())
    return _nullable_to_json_schema(spec)


def check(spec, path: str, method: str, status: int, body: dict) -> None:
    """Validate `body` against the response schema; $refs resolve in the spec."""
    schema = spec['paths'][path][method]['responses'][str(status)]['content'][
        'application/json'
    ]['schema']
    validator = jsonschema.Draft7Validator({**schema, 'components': spec['components']})
    validator.validate(body)
    # Twilio always sends every property; so do we.
    target = schema
    if '$ref' in target:
        target = spec['components']['schemas'][target['$ref'].split('/')[-1]]
        missing = set(target['properties']) - set(body)
        assert not missing, f'{path} {method} lacks {sorted(missing)}'


def test_responses_match_twilio_openapi(spec, rest_server, lv_config):
    _, url = rest_server
    auth = (lv_config.api_key_sid, lv_config.api_key_secret)
    with httpx.Client(base_url=url, auth=auth) as http:
        created = http.post(
            '/v1/Rooms',
            data={'UniqueName': 'schema', 'StatusCallback': 'http://127.0.0.1:9/cb'},
        )
        assert created.status_code == 201
        check(spec, '/v1/Rooms', 'post', 201, created.json())
        sid = created.json()['sid']
        check(spec, '/v1/Rooms/{Sid}', 'get', 200, http.get(f'/v1/Rooms/{sid}').json())
        listed = http.get('/v1/Rooms', params={'PageSize': 1})
        check(spec, '/v1/Rooms', 'get', 200, listed.json())
        assert listed.json()['meta']['key'] == 'rooms'

        viewer = Signal(url, make_token(lv_config, 'viewer', 'schema'))
        participant = viewer.first['participant']['sid']
        base = f'/v1/Rooms/{sid}/Participants'
        check(
            spec, '/v1/Rooms/{RoomSid}/Participants', 'get', 200, http.get(base).json()
        )
        check(
            spec,
            '/v1/Rooms/{RoomSid}/Participants/{Sid}',
            'get',
            200,
            http.get(f'{base}/{participant}').json(),
        )
        rules_path = '/v1/Rooms/{RoomSid}/Participants/{ParticipantSid}/SubscribeRules'
        check(
            spec,
            rules_path,
            'get',
            200,
            http.get(f'{base}/{participant}/SubscribeRules').json(),
        )
        posted = http.post(
            f'{base}/{participant}/SubscribeRules',
            data={'Rules': json.dumps([{'type': 'include', 'kind': 'video'}])},
        )
        check(spec, rules_path, 'post', 200, posted.json())
        kicked = http.post(f'{base}/{participant}', data={'Status': 'disconnected'})
        check(
            spec, '/v1/Rooms/{RoomSid}/Participants/{Sid}', 'post', 202, kicked.json()
        )
        ended = http.post(f'/v1/Rooms/{sid}', data={'Status': 'completed'})
        check(spec, '/v1/Rooms/{Sid}', 'post', 202, ended.json())

        missing = http.get('/v1/Rooms/nope')
        assert missing.status_code == 404
        assert set(missing.json()) == {'code', 'message', 'more_info', 'status'}
        viewer.close()
