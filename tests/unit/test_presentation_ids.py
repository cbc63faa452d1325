"""Malformed presentation ids are a 404 everywhere and never become a Redis key.

Ids used to reach key builders unchecked: `GET /presentations/<id>:version`
ran HGETALL on the presentation's version counter (a string) and answered 500.
"""

from __future__ import annotations

from urllib.parse import quote

import falcon
import falcon.testing
import pytest

from podium import ids, room_state
from podium.store import (
    Store,
    audience_versions_key,
    hands_key,
    names_key,
    poll_key,
    polls_key,
    presentation_key,
    presentation_rooms_key,
    question_key,
    questions_key,
    reactions_key,
    sent_rules_key,
    version_key,
)
from tests.unit.test_token_service import FakeClock, FakeRooms
from tests.unit.test_webhooks import callback, participant, send
from token_service.app import create_app as token_app
from web_service.app import create_app as web_app
from web_service.changes import ChangeHub
from webhooks.app import create_app as webhooks_app

pytestmark = pytest.mark.filterwarnings('ignore::jwt.warnings.InsecureKeyLengthWarning')

LIVE = 'demo-talk'
MALFORMED = [
    'x:y',
    f'{LIVE}:version',  # a string key: the WRONGTYPE 500
    f'{LIVE}:rooms',  # a set key
    '..',
    '.',
    'a.b',
    'a b',
    'x' * (ids.MAX_LENGTH + 1),
    'x' * 10_000,
    'caf\u00e9',
    '\u65e5\u672c',
    '\U0001f600',
    'a\x00b',
    'a\nb',
    '*',
]


def path_segment(presentation_id: str) -> str:
    return quote(presentation_id, safe='')


@pytest.fixture
def live(store: Store) -> Store:
    store.create_presentation(
        {'id': LIVE, 'title': 'Demo', 'room_name': f'podium-{LIVE}', 'created_at': '1'}
    )
    store.set_room(LIVE, 'RM' + 'a' * 32, 0)
    return store


def assert_json_404(result) -> None:
    assert result.status_code == 404, result.text
    assert result.headers['content-type'].startswith('application/json')
    assert result.json['title'] and result.json['description'], result.json


# The id itself ----------------------------------------------------------------------


@pytest.mark.parametrize('value', ['demo-talk', 'a', 'A_b-9', 'x' * ids.MAX_LENGTH])
def test_ids_of_the_generated_alphabet_are_accepted(value):
    assert ids.is_presentation_id(value)
    assert ids.PresentationIdConverter().convert(value) == value


def test_generated_ids_are_accepted():
    for _ in range(200):
        generated = ids.new_presentation_id()
        assert len(generated) == 12
        assert ids.is_presentation_id(generated)


@pytest.mark.parametrize('value', ['', *MALFORMED])
def test_malformed_ids_are_refused(value):
    assert not ids.is_presentation_id(value)
    assert ids.PresentationIdConverter().convert(value) is None


@pytest.mark.parametrize('value', [None, 12, b'abc'])
def test_only_strings_are_ids(value):
    assert not ids.is_presentation_id(value)


@pytest.mark.parametrize(
    'builder',
    [
        presentation_key,
        version_key,
        presentation_rooms_key,
        # The audience data's keys too: 'x:hands' would name another key of x.
        audience_versions_key,
        names_key,
        questions_key,
        hands_key,
        polls_key,
        lambda value: sent_rules_key(value, 'attendee-1'),
        lambda value: question_key(value, 'q1'),
        lambda value: poll_key(value, 'p1'),
        lambda value: reactions_key(value, 7),
    ],
)
@pytest.mark.parametrize('value', ['', *MALFORMED])
def test_the_store_refuses_to_build_a_key_from_a_malformed_id(builder, value):
    with pytest.raises(ids.InvalidPresentationId):
        builder(value)


def test_the_store_never_reads_a_malformed_id(live):
    with pytest.raises(ids.InvalidPresentationId):
        live.get_presentation(f'{LIVE}:version')
    with pytest.raises(ids.InvalidPresentationId):
        live.read_view(f'{LIVE}:rooms')


@pytest.mark.parametrize('value', MALFORMED)
def test_rooms_with_a_malformed_id_are_not_ours(value):
    assert room_state.presentation_id_for(f'podium-{value}') is None


# token_service ----------------------------------------------------------------------


@pytest.fixture
def rooms() -> FakeRooms:
    return FakeRooms()


@pytest.fixture
def token_client(config, live, rooms):
    return falcon.testing.TestClient(
        token_app(config, store=live, rooms=rooms, clock=FakeClock())
    )


@pytest.mark.parametrize('action', ['tokens', 'subscribe-rules', 'end'])
@pytest.mark.parametrize('value', MALFORMED)
def test_token_service_answers_a_json_404(token_client, rooms, action, value):
    result = token_client.simulate_post(
        f'/api/presentations/{path_segment(value)}/{action}',
        json={'role': 'attendee'},
        headers={'Authorization': 'Bearer x'},
    )
    assert_json_404(result)
    assert rooms.calls == []


def test_token_service_still_serves_a_well_formed_id(token_client):
    result = token_client.simulate_post(
        f'/api/presentations/{LIVE}/tokens', json={'role': 'attendee'}
    )
    assert result.status_code == 200, result.text


# web_service ------------------------------------------------------------------------


@pytest.fixture
def web_client(web_config, live):
    async def read_view(presentation_id):
        return live.read_view(presentation_id)

    app = web_app(web_config, store=live, changes=ChangeHub(read_view), environ={})
    return falcon.testing.TestClient(app)


@pytest.mark.parametrize('page', ['', '/present'])
@pytest.mark.parametrize('value', MALFORMED)
def test_pages_answer_the_html_404_page(web_client, page, value):
    result = web_client.simulate_get(f'/presentations/{path_segment(value)}{page}')
    assert result.status_code == 404
    assert result.headers['content-type'].startswith('text/html')
    assert 'Not found' in result.text


@pytest.mark.parametrize('stream', ['', '/events'])
@pytest.mark.parametrize('value', MALFORMED)
def test_live_state_answers_a_json_404(web_client, stream, value):
    result = web_client.simulate_get(
        f'/live/presentations/{path_segment(value)}{stream}'
    )
    assert_json_404(result)


@pytest.mark.parametrize(
    'path', [f'/presentations/{LIVE}', f'/live/presentations/{LIVE}']
)
def test_web_service_still_serves_a_well_formed_id(web_client, path):
    assert web_client.simulate_get(path).status_code == 200


# webhooks ---------------------------------------------------------------------------


@pytest.mark.parametrize('value', MALFORMED[:4])
def test_callbacks_for_a_malformed_room_name_are_ignored(webhooks_config, live, value):
    client = falcon.testing.TestClient(webhooks_app(webhooks_config, store=live))
    before = dict(live.client.hgetall(presentation_key(LIVE)))
    form = callback(
        'participant-connected',
        1,
        RoomName=f'podium-{value}',
        **participant('PA' + '1' * 32, 'presenter'),
    )

    result = send(client, form)

    assert result.status_code == 204
    assert live.client.hgetall(presentation_key(LIVE)) == before
    assert live.read_view(LIVE)['status'] == 'waiting'
