"""kill -9 redis-server during a Q&A, start it again: nothing people typed is lost.

Every question, vote, hand and poll ballot older than about a second (Redis's
append-only file with `appendfsync everysec`) is there afterwards, read over
HTTP and on a fresh event stream; an attendee page that stayed open catches up
without a reload.
"""

from __future__ import annotations

import json
import time

import httpx
import pytest
import redis

from tests.browser.browser_support import wait_until
from tests.integration.conftest import HTTP_TIMEOUT, sse_events

pytestmark = [pytest.mark.browser, pytest.mark.timeout(120)]

FSYNC_WAIT = 1.5  # appendfsync everysec: what is older than a second is on disk
CATCH_UP = 10.0  # seconds for the page to show new data once Redis is back


def require_append_only(redis_url: str) -> None:
    """Check that the launcher's Redis keeps its append-only file, as it must."""
    client = redis.Redis.from_url(redis_url)
    assert client.config_get('appendonly')['appendonly'] == 'yes'
    wait_until(
        lambda: (
            client.info('persistence')['aof_rewrite_in_progress'] == 0
            and client.info('persistence')['aof_enabled'] == 1
        ),
        10,
        what='the append-only file to be written',
    )
    assert client.config_get('appendfsync')['appendfsync'] == 'everysec'
    client.close()


def sections(stack_url: str, presentation_id: str) -> dict[str, dict]:
    """Open a new event stream and return the sections it sends first."""
    found: dict[str, dict] = {}
    url = f'{stack_url}/live/presentations/{presentation_id}/events'
    with httpx.Client(timeout=HTTP_TIMEOUT) as client:
        with client.stream('GET', url) as response:
            assert response.status_code == 200, response.read()
            for event in sse_events(response):
                found[event.get('event', '')] = json.loads(event['data'])
                if {'state', 'questions', 'hands', 'polls'} <= found.keys():
                    return found
    raise AssertionError(f'the stream ended after {list(found)}')


def test_redis_killed_during_a_qa_loses_nothing(local_stack, api, open_page):
    require_append_only(local_stack.settings['PODIUM_REDIS_URL'])
    created = api.post('/api/presentations', json={'title': 'Kill -9'}).json()
    pid, base = created['id'], f'/api/presentations/{created["id"]}'
    presenter = {'Authorization': f'Presenter {created["presenter_key"]}'}
    people = []
    for name in ('Ann', 'Bob', 'Chloé'):
        token = api.post(
            f'{base}/tokens', json={'role': 'attendee', 'name': name}
        ).json()
        people.append({'Authorization': f'Bearer {token["token"]}'})
    page = open_page(created['attendee_url'])
    page.wait_for_selector('#questions-empty', state='visible')

    questions = []
    for i, person in enumerate(people * 2):
        answer = api.post(
            f'{base}/questions', json={'text': f'Question {i}?'}, headers=person
        )
        assert answer.status_code == 201, answer.text
        questions.append(answer.json()['id'])
    for i, question in enumerate(questions[:3]):
        for person in people[: i + 1]:
            api.put(f'{base}/questions/{question}/vote', headers=person)
    for person in people[1:]:
        assert api.put(f'{base}/hand', headers=person).status_code == 200
    poll = api.post(
        f'{base}/polls',
        json={'question': 'Kept?', 'options': ['yes', 'no'], 'open': True},
        headers=presenter,
    ).json()
    for person, option in zip(people, (0, 0, 1), strict=True):
        api.put(
            f'{base}/polls/{poll["id"]}/vote', json={'option': option}, headers=person
        )
    before = {
        'questions': api.get(
            f'{base}/questions?view=moderation', headers=presenter
        ).json(),
        'polls': api.get(f'{base}/polls?view=presenter', headers=presenter).json(),
        'stream': sections(local_stack.url, pid),
    }
    wait_until(
        lambda: len(page.locator('#questions-list [data-testid=question]').all()) == 6,
        5,
        what='the page to show the six questions',
    )
    time.sleep(FSYNC_WAIT)

    local_stack.process('redis').kill()
    local_stack.process('redis').restart()

    after = wait_until(
        lambda: (
            (
                r := api.get(f'{base}/questions?view=moderation', headers=presenter)
            ).status_code
            == 200
            and r.json()
        ),
        10,
        what='the questions to be readable again',
    )
    assert after == before['questions']
    votes = {q['id']: q['votes'] for q in after['questions']}
    assert [votes[q] for q in questions[:3]] == [1, 2, 3]
    polls = api.get(f'{base}/polls?view=presenter', headers=presenter).json()
    assert polls == before['polls']
    assert polls['polls'][0]['votes'] == [2, 1]
    stream = sections(local_stack.url, pid)
    for kind in ('questions', 'hands', 'polls'):
        assert stream[kind] == before['stream'][kind], kind
    assert [h['name'] for h in stream['hands']['queue']] == ['Bob', 'Chloé']

    # The page that stayed open follows what happens next, without a reload.
    # (The token service's first write after the restart may still meet its dead
    # connection and answer 503 "try again in a moment"; the next one goes through.)
    tries = []

    def ask_again():
        answer = api.post(
            f'{base}/questions', json={'text': 'After the crash?'}, headers=people[0]
        )
        tries.append(answer.status_code)
        return answer.status_code == 201

    wait_until(ask_again, 10, interval=0.2, what='a question after the crash')
    assert set(tries) <= {201, 503}, tries
    texts = page.locator('#questions-list [data-testid=question] .question-text')
    wait_until(
        lambda: (
            'After the crash?' in texts.all_inner_texts()
            and len(texts.all_inner_texts()) == 7
        ),
        CATCH_UP,
        what='the open page to catch up',
    )
    assert page.evaluate('performance.getEntriesByType("navigation").length') == 1
