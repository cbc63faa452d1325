"""The audience endpoints of the token service, on fakeredis."""

from __future__ import annotations

import csv
import io
import json

import falcon.testing
import pytest

from podium.store import AudienceStore
from tests.unit.test_token_service import FakeClock, FakeRooms
from token_service.app import create_app
from token_service.rate_limits import RateLimitSettings


class Talk:
    """A presentation with a presenter and attendees, driven over HTTP."""

    def __init__(self, client, moderated=False):
        self.client = client
        created = client.simulate_post(
            '/api/presentations', json={'title': 'Talk', 'moderated': moderated}
        )
        assert created.status_code == 201, created.text
        self.id = created.json['id']
        self.key = created.json['presenter_key']
        self.base = f'/api/presentations/{self.id}'

    def join(self, name=None) -> dict:
        body = {'role': 'attendee'} | ({'name': name} if name is not None else {})
        result = self.client.simulate_post(f'{self.base}/tokens', json=body)
        assert result.status_code == 200, result.text
        return {'Authorization': f'Bearer {result.json["token"]}'}

    @property
    def presenter(self) -> dict:
        return {'Authorization': f'Presenter {self.key}'}

    def call(self, method, path, headers=None, **kw):
        return self.client.simulate_request(
            method, f'{self.base}/{path}', headers=headers, **kw
        )

    def ask(self, headers, text='Why?', **body):
        # json.dumps escapes what UTF-8 cannot carry (a lone surrogate), as
        # browsers' JSON.stringify does.
        return self.call(
            'POST',
            'questions',
            {**(headers or {}), 'Content-Type': 'application/json'},
            body=json.dumps({'text': text, **body}),
        )


@pytest.fixture
def limits():
    return RateLimitSettings(presentations_per_minute=0, tokens_per_minute=0)


@pytest.fixture
def clock():
    return FakeClock()


@pytest.fixture
def app(config, store, clock, limits):
    return create_app(
        config, store=store, rooms=FakeRooms(), clock=clock, rate_limits=limits
    )


@pytest.fixture
def talk(app):
    return Talk(falcon.testing.TestClient(app))


def snapshot(store, talk, kinds=('questions', 'hands', 'polls')):
    return AudienceStore(store).read_audience(talk.id, kinds)


def assert_error(result, status, title_part):
    assert result.status_code == status, result.text
    assert title_part in result.json['title'] + result.json['description']
    assert result.json['description']


# Names and questions --------------------------------------------------------------


def test_an_attendee_asks_under_the_name_they_joined_with(talk, store):
    ann = talk.join('  Ann  ')
    result = talk.ask(ann, '  Why is the sky blue?  ')
    assert result.status_code == 201
    assert result.json | {'id': None} == {
        'id': None,
        'text': 'Why is the sky blue?',
        'author': 'Ann',
        'anonymous': False,
        'state': 'approved',
        'votes': 0,
        'asked_at': 1_700_000_000_000,
    }
    anonymous = talk.ask(ann, 'Secret?', anonymous=True)
    assert anonymous.json['author'] is None
    assert len(snapshot(store, talk).questions) == 2


@pytest.mark.parametrize(
    ('name', 'says'),
    [('x' * 61, 'at most 60'), ('a\nb', 'control characters'), (7, 'string')],
)
def test_bad_display_names_are_refused(talk, name, says):
    result = talk.call('POST', 'tokens', json={'role': 'attendee', 'name': name})
    assert_error(result, 400, says)


BAD_TEXT = [
    ('', 'must not be empty'),
    ('   ', 'must not be empty'),
    ('x' * 501, 'at most 500'),
    ('line\nbreak', 'control characters'),
    ('bell\x07', 'control characters'),
    ('\ud83d', 'lone surrogate'),
    (None, 'must be a string'),
]


@pytest.mark.parametrize(('text', 'says'), BAD_TEXT)
def test_bad_question_text_is_refused_and_nothing_is_stored(talk, store, text, says):
    result = talk.ask(talk.join('Ann'), text)
    assert_error(result, 400, says)
    assert snapshot(store, talk).questions == []
    assert snapshot(store, talk).versions == {}


def test_invalid_utf8_is_refused(talk, store):
    result = talk.client.simulate_post(
        f'{talk.base}/questions',
        body=b'{"text": "caf\xe9"}',
        headers={**talk.join(), 'Content-Type': 'application/json'},
    )
    assert_error(result, 400, 'UTF-8')
    assert snapshot(store, talk).questions == []


def test_500_emoji_fit_even_json_escaped(talk):
    result = talk.client.simulate_post(
        f'{talk.base}/questions',
        body=('{"text": "' + '\\ud83c\\udf89' * 500 + '"}').encode(),
        headers={**talk.join(), 'Content-Type': 'application/json'},
    )
    assert result.status_code == 201, result.text


@pytest.mark.parametrize(
    'headers',
    [
        {},
        {'Authorization': 'Bearer not-a-token'},
        {'Authorization': 'Basic dXNlcjpwYXNz'},
    ],
)
def test_writes_need_a_valid_access_token(talk, store, headers):
    assert talk.ask(headers).status_code == 401
    assert snapshot(store, talk).questions == []


def test_a_token_for_another_presentation_is_refused(talk, app):
    other = Talk(talk.client)
    assert talk.ask(other.join()).status_code == 401


def test_votes_toggle_and_count_each_person_once(talk):
    ann, bo = talk.join('Ann'), talk.join('Bo')
    qid = talk.ask(ann).json['id']
    for _ in range(3):
        result = talk.call('PUT', f'questions/{qid}/vote', bo)
        assert result.json == {'question_id': qid, 'voted': True, 'votes': 1}
    assert talk.call('PUT', f'questions/{qid}/vote', ann).json['votes'] == 2
    assert talk.call('DELETE', f'questions/{qid}/vote', bo).json['votes'] == 1
    mine = talk.call('GET', 'questions', bo, params={'view': 'mine'}).json
    assert mine == {'questions': [], 'voted': []}
    mine = talk.call('GET', 'questions', ann, params={'view': 'mine'}).json
    assert mine['voted'] == [qid]
    assert [q['id'] for q in mine['questions']] == [qid]
    assert 'identity' not in mine['questions'][0]


def test_votes_are_rate_limited_per_identity_and_inflate_nothing(config, store, clock):
    limits = RateLimitSettings(0, 0, votes_per_minute=5)
    talk = Talk(
        falcon.testing.TestClient(
            create_app(
                config, store=store, rooms=FakeRooms(), clock=clock, rate_limits=limits
            )
        )
    )
    ann, bo = talk.join(), talk.join()
    qid = talk.ask(ann).json['id']
    statuses = [
        talk.call('PUT', f'questions/{qid}/vote', bo).status_code for _ in range(20)
    ]
    assert statuses == [200] * 5 + [429] * 15
    limited = talk.call('PUT', f'questions/{qid}/vote', bo)
    assert_error(limited, 429, 'at most 5 times a minute')
    assert int(limited.headers['retry-after']) >= 1
    assert talk.call('PUT', f'questions/{qid}/vote', ann).status_code == 200
    assert snapshot(store, talk).questions[0]['votes'] == 2


def test_votes_for_missing_dismissed_or_pending_questions_are_refused(app, store):
    talk = Talk(falcon.testing.TestClient(app), moderated=True)
    ann, bo = talk.join(), talk.join()
    assert_error(talk.call('PUT', 'questions/nope/vote', bo), 404, 'No such question')
    qid = talk.ask(ann).json['id']
    assert_error(talk.call('PUT', f'questions/{qid}/vote', bo), 404, 'not visible')
    talk.call('PATCH', f'questions/{qid}', talk.presenter, json={'state': 'dismissed'})
    assert_error(talk.call('PUT', f'questions/{qid}/vote', bo), 409, 'dismissed')
    assert snapshot(store, talk).questions[0]['votes'] == 0


def test_moderation_approve_answer_now_answer(app, store):
    talk = Talk(falcon.testing.TestClient(app), moderated=True)
    ann = talk.join('Ann')
    qid = talk.ask(ann).json['id']
    assert (
        talk.call('GET', 'questions', ann, params={'view': 'mine'}).json['questions'][
            0
        ]['state']
        == 'pending'
    )
    pending = talk.call(
        'GET', 'questions', talk.presenter, params={'view': 'moderation'}
    )
    assert [q['state'] for q in pending.json['questions']] == ['pending']
    now = talk.call(
        'PATCH', f'questions/{qid}', talk.presenter, json={'answering_now': True}
    )
    assert now.json['answering_now'] == qid
    assert now.json['question']['state'] == 'approved'
    done = talk.call(
        'PATCH', f'questions/{qid}', talk.presenter, json={'state': 'answered'}
    )
    assert done.json['answering_now'] is None
    assert done.json['question']['answered_at'] == 1_700_000_000_000


@pytest.mark.parametrize(
    ('body', 'status'),
    [
        ({}, 400),
        ({'state': 'pending'}, 400),
        ({'state': 3}, 400),
        ({'answering_now': 'yes'}, 400),
    ],
)
def test_bad_question_changes_are_refused(talk, body, status):
    qid = talk.ask(talk.join()).json['id']
    assert (
        talk.call('PATCH', f'questions/{qid}', talk.presenter, json=body).status_code
        == status
    )


def test_presenter_only_actions_refuse_an_attendee_token(talk, store):
    ann = talk.join()
    qid = talk.ask(ann).json['id']
    attempts = [
        ('PATCH', f'questions/{qid}', {'state': 'dismissed'}),
        ('PATCH', 'settings', {'moderated': True}),
        ('POST', 'polls', {'question': 'Q', 'options': ['a', 'b']}),
        ('DELETE', 'hands', None),
        ('DELETE', 'hands/attendee-x', None),
        ('GET', 'questions.csv', None),
        ('GET', 'polls.json', None),
    ]
    for method, path, body in attempts:
        assert_error(talk.call(method, path, ann, json=body), 403, 'presenter')
        wrong = {'Authorization': 'Presenter wrong-key'}
        assert talk.call(method, path, wrong, json=body).status_code == 403
        assert talk.call(method, path, None, json=body).status_code == 401
    moderation = talk.call('GET', 'questions', ann, params={'view': 'moderation'})
    assert moderation.status_code == 403
    assert snapshot(store, talk).questions[0]['state'] == 'approved'
    assert snapshot(store, talk).polls == []


def test_settings_switch_moderation(talk):
    ann = talk.join()
    assert talk.call(
        'PATCH', 'settings', talk.presenter, json={'moderated': True}
    ).json == {'moderated': True}
    assert talk.ask(ann).json['state'] == 'pending'
    assert (
        talk.call(
            'PATCH', 'settings', talk.presenter, json={'moderated': 1}
        ).status_code
        == 400
    )


def test_a_created_presentation_can_be_moderated_and_says_so(talk):
    result = talk.client.simulate_post(
        '/api/presentations', json={'title': 'T', 'moderated': 'yes'}
    )
    assert_error(result, 400, 'moderated')


# Hands and reactions --------------------------------------------------------------


def test_hands_queue_in_order_and_the_presenter_lowers_them(talk, store, clock):
    ann, bo = talk.join('Ann'), talk.join('Bo')
    assert talk.call('PUT', 'hand', bo).json['raised'] is True
    clock.now += 1
    talk.call('PUT', 'hand', ann)
    talk.call('PUT', 'hand', bo)  # still first
    hands = snapshot(store, talk).hands
    assert sorted(hands.values()) == [1_700_000_000_000, 1_700_000_001_000]
    first = min(hands, key=hands.get)
    assert talk.call('DELETE', f'hands/{first}', talk.presenter).json['changed'] is True
    assert len(snapshot(store, talk).hands) == 1
    assert talk.call('DELETE', 'hands', talk.presenter).json['changed'] is True
    assert snapshot(store, talk).hands == {}
    talk.call('PUT', 'hand', ann)
    assert talk.call('DELETE', 'hand', ann).json['raised'] is False
    assert snapshot(store, talk).hands == {}


def test_reactions_are_from_the_fixed_set_and_limited_per_second(talk, store, clock):
    ann = talk.join()
    for emoji in ['💩', '', None, '👍👍', '<b>']:
        result = talk.call('POST', 'reactions', ann, json={'emoji': emoji})
        assert_error(result, 400, 'must be one of')
    statuses = [
        talk.call('POST', 'reactions', ann, json={'emoji': '🎉'}).status_code
        for _ in range(12)
    ]
    assert statuses == [202] * 10 + [429] * 2
    clock.now += 1
    assert talk.call('POST', 'reactions', ann, json={'emoji': '👍'}).status_code == 202


# Polls ----------------------------------------------------------------------------


def create_poll(talk, **body):
    body = {'question': 'Tabs or spaces?', 'options': ['Tabs', 'Spaces'], **body}
    return talk.call('POST', 'polls', talk.presenter, json=body)


@pytest.mark.parametrize(
    ('body', 'says'),
    [
        ({'question': ''}, 'must not be empty'),
        ({'question': 'q' * 201}, 'at most 200'),
        ({'options': ['only one']}, '2 to 6'),
        ({'options': list('abcdefg')}, '2 to 6'),
        ({'options': ['a', 'o' * 101]}, 'at most 100'),
        ({'options': ['a', 'a']}, 'repeat'),
        ({'visibility': 'never'}, 'after_vote'),
        ({'open': 'yes'}, 'true or false'),
    ],
)
def test_bad_polls_are_refused(talk, store, body, says):
    assert_error(create_poll(talk, **body), 400, says)
    assert snapshot(store, talk).polls == []


def test_a_poll_lifecycle_with_results_after_voting(talk, store):
    ann, bo = talk.join(), talk.join()
    poll = create_poll(talk).json
    assert poll['state'] == 'draft'
    pid = poll['id']
    assert_error(
        talk.call('PUT', f'polls/{pid}/vote', ann, json={'option': 0}), 409, 'not open'
    )
    opened = talk.call('PATCH', f'polls/{pid}', talk.presenter, json={'state': 'open'})
    assert opened.json['state'] == 'open' and opened.json['opened_at']
    mine = talk.call('GET', 'polls', ann, params={'view': 'mine'}).json['polls'][0]
    assert mine['votes'] is None and mine['my_option'] is None
    voted = talk.call('PUT', f'polls/{pid}/vote', ann, json={'option': 0})
    assert voted.json == {'poll_id': pid, 'option': 0, 'votes': [1, 0], 'total': 1}
    changed = talk.call('PUT', f'polls/{pid}/vote', ann, json={'option': 1})
    assert changed.json['votes'] == [0, 1]
    talk.call('PUT', f'polls/{pid}/vote', bo, json={'option': 1})
    for option in (2, -1, True, '1', None):
        result = talk.call('PUT', f'polls/{pid}/vote', bo, json={'option': option})
        assert_error(result, 400, '"option"')
    mine = talk.call('GET', 'polls', ann, params={'view': 'mine'}).json['polls'][0]
    assert mine['votes'] == [0, 2] and mine['my_option'] == 1
    talk.call('PATCH', f'polls/{pid}', talk.presenter, json={'state': 'closed'})
    assert_error(
        talk.call('PUT', f'polls/{pid}/vote', bo, json={'option': 0}), 409, 'closed'
    )
    assert snapshot(store, talk).polls[0]['votes'] == [0, 2]


def test_results_hidden_until_close_stay_hidden_from_voters(talk):
    ann = talk.join()
    pid = create_poll(talk, visibility='after_close', open=True).json['id']
    voted = talk.call('PUT', f'polls/{pid}/vote', ann, json={'option': 1})
    assert voted.json['votes'] is None
    presenter = talk.call('GET', 'polls', talk.presenter, params={'view': 'presenter'})
    assert presenter.json['polls'][0]['votes'] == [0, 1]  # live bars


def test_unknown_polls_are_404(talk):
    ann = talk.join()
    assert (
        talk.call('PUT', 'polls/nope/vote', ann, json={'option': 0}).status_code == 404
    )
    result = talk.call('PATCH', 'polls/nope', talk.presenter, json={'state': 'open'})
    assert result.status_code == 404


# Ended presentations and exports --------------------------------------------------


def test_an_ended_presentation_takes_no_writes_but_exports(talk, store):
    ann = talk.join('Ann')
    qid = talk.ask(ann, '=HYPERLINK("x")').json['id']
    talk.call('PUT', f'questions/{qid}/vote', ann)
    pid = create_poll(talk, open=True).json['id']
    talk.call('PUT', f'polls/{pid}/vote', ann, json={'option': 1})
    talk.call('POST', 'end', json={'key': talk.key})
    before = snapshot(store, talk)
    writes = [
        ('POST', 'questions', ann, {'text': 'late?'}),
        ('PUT', f'questions/{qid}/vote', ann, None),
        ('PATCH', f'questions/{qid}', talk.presenter, {'state': 'answered'}),
        ('PUT', 'hand', ann, None),
        ('POST', 'reactions', ann, {'emoji': '👍'}),
        ('PUT', f'polls/{pid}/vote', ann, {'option': 0}),
        ('PATCH', f'polls/{pid}', talk.presenter, {'state': 'closed'}),
        ('POST', 'polls', talk.presenter, {'question': 'Q', 'options': ['a', 'b']}),
        ('PATCH', 'settings', talk.presenter, {'moderated': True}),
    ]
    for method, path, headers, body in writes:
        assert_error(talk.call(method, path, headers, json=body), 410, 'over')
    assert snapshot(store, talk) == before

    exported = talk.call('GET', 'questions.csv', talk.presenter)
    assert exported.status_code == 200
    assert exported.headers['content-type'] == 'text/csv; charset=utf-8'
    assert 'attachment' in exported.headers['content-disposition']
    rows = list(csv.DictReader(io.StringIO(exported.text.lstrip('\ufeff'))))
    assert rows[0]['text'] == '\'=HYPERLINK("x")'  # not a formula
    assert rows[0]['author'] == 'Ann' and rows[0]['votes'] == '1'
    assert rows[0]['asked_at'] == '2023-11-14T22:13:20.000+00:00'
    as_json = talk.call('GET', 'questions.json', talk.presenter).json
    assert as_json['questions'][0]['text'] == '=HYPERLINK("x")'
    polls = talk.call('GET', 'polls.csv', talk.presenter).text.lstrip('\ufeff')
    assert [r['votes'] for r in csv.DictReader(io.StringIO(polls))] == ['0', '1']
    polls = talk.call('GET', 'polls.json', talk.presenter).json['polls']
    assert polls[0]['votes'] == [0, 1] and polls[0]['options'] == ['Tabs', 'Spaces']


def test_reads_need_a_known_view(talk):
    ann = talk.join()
    assert talk.call('GET', 'questions', ann).status_code == 400
    assert talk.call('GET', 'polls', ann, params={'view': 'all'}).status_code == 400
