"""The audience takes part, as people click through it: a presenter and two
attendees on their pages at once, through nginx on the local backend.

Questions (ask, upvote, answering now, answered, dismissed, moderation),
reactions, raised hands, polls and an export.
"""

from __future__ import annotations

import csv
import io
from pathlib import Path

import pytest

from tests.browser.browser_support import wait_until

pytestmark = [pytest.mark.browser, pytest.mark.timeout(120)]

# Every page must show a change within this many seconds (the budget).
LIVE_DEADLINE = 2.0
QUESTIONS = '#questions-list [data-testid=question] .question-text'


def create(api, title: str, *, moderated: bool = False) -> dict:
    response = api.post(
        '/api/presentations', json={'title': title, 'moderated': moderated}
    )
    assert response.status_code == 201, response.text
    return response.json()


def join(open_page, presentation: dict, name: str):
    """Open the attendee link, join under `name`; return once it can ask."""
    page = open_page(presentation['attendee_url'])
    page.fill('#name-input', name)
    page.click('#join')
    page.wait_for_selector('#ask-form', state='visible')
    return page


def questions_on(page) -> list[str]:
    return page.locator(QUESTIONS).all_inner_texts()


def wait_questions(pages, expected: list[str], what: str) -> None:
    wait_until(
        lambda: all(questions_on(p) == expected for p in pages),
        LIVE_DEADLINE,
        interval=0.05,
        what=f'{what}: {expected} on every page',
    )


def ask(page, text: str, *, anonymous: bool = False) -> None:
    page.fill('#question-input', text)
    if anonymous:
        page.check('#anonymous-input')
    page.click('#ask')
    page.wait_for_selector('#question-input:text-is("")', state='attached')


def question(page, text: str, container: str = '#questions-list'):
    return page.locator(f'{container} [data-testid=question]', has_text=text)


def test_questions_live_on_every_page(api, open_page):
    presentation = create(api, 'Questions')
    presenter = open_page(presentation['presenter_url'])
    ann = join(open_page, presentation, 'Ann')
    bob = join(open_page, presentation, 'Bob')
    pages = [presenter, ann, bob]

    ask(ann, 'First question?')
    wait_questions(pages, ['First question?'], 'a question appears')
    ask(bob, 'Second, anonymous?', anonymous=True)
    wait_questions(pages, ['First question?', 'Second, anonymous?'], 'oldest first')
    assert question(ann, 'Second').locator('.author').inner_text() == 'Anonymous'
    assert question(bob, 'First').locator('.author').inner_text() == 'Ann'
    # The live counter follows what is typed.
    bob.fill('#question-input', 'héllo')
    assert bob.inner_text('#question-count') == '5 / 500'
    bob.fill('#question-input', '')

    # Two upvotes put the second question first everywhere.
    for page in (ann, bob):
        vote = question(page, 'Second').locator('button.vote')
        vote.click()
        wait_until(
            lambda v=vote: v.get_attribute('aria-pressed') == 'true', 2, what='pressed'
        )
    wait_questions(pages, ['Second, anonymous?', 'First question?'], 'upvotes re-order')
    assert question(bob, 'Second').locator('.vote-count').inner_text() == '2'
    # A toggle: a second click takes the upvote back.
    question(bob, 'Second').locator('button.vote').click()
    wait_until(
        lambda: question(ann, 'Second').locator('.vote-count').inner_text() == '1',
        LIVE_DEADLINE,
        what='the upvote taken back on the other page',
    )

    # Answering now: highlighted for everyone; then answered; then dismissed.
    question(presenter, 'First').locator('[data-action=now]').click()
    for page in (ann, bob):
        wait_until(
            lambda p=page: 'is-now' in question(p, 'First').get_attribute('class'),
            LIVE_DEADLINE,
            what='"answering now" highlighted',
        )
    assert question(bob, 'First').locator('.tag-now').inner_text() == 'Answering now'
    question(presenter, 'First').locator('[data-action=answered]').click()
    wait_until(
        lambda: (
            question(bob, 'First').locator('.tag-done').count() == 1
            and 'is-now' not in question(bob, 'First').get_attribute('class')
        ),
        LIVE_DEADLINE,
        what='marked answered, no longer answering now',
    )
    question(presenter, 'Second').locator('[data-action=dismiss]').click()
    wait_questions([ann, bob], ['First question?'], 'a dismissed question disappears')
    # In the closed "Dismissed" list, where it can be restored.
    presenter.wait_for_selector(
        '#dismissed-list >> text=Second, anonymous?', state='attached'
    )
    # Its author still sees it, with its state.
    mine = bob.locator('[data-testid=my-question]', has_text='Second')
    wait_until(
        lambda: (
            mine.locator('[data-testid=my-question-state]').inner_text() == 'Dismissed'
        ),
        LIVE_DEADLINE,
        what="the author's dismissed state",
    )
    # A refused write: its description is what the user reads.
    ann.fill('#question-input', 'x' * 10)
    ann.evaluate("document.getElementById('question-input').value = 'a\\u0007b'")
    ann.dispatch_event('#question-input', 'input')
    ann.click('#ask')
    message = ann.locator('#panel-message.is-error')
    message.wait_for()
    assert 'control' in message.inner_text().lower(), message.inner_text()


def test_moderated_questions_wait_for_approval(local_stack, open_page):
    home = open_page(local_stack.url + '/')
    home.fill('#title-input', 'Moderated')
    home.check('#moderated-input')
    home.click('#create')
    home.wait_for_selector('#links', state='visible')
    presentation = {
        'presenter_url': home.get_attribute('#presenter-link', 'href'),
        'attendee_url': home.get_attribute('#attendee-link', 'href'),
    }
    presenter = open_page(presentation['presenter_url'])
    assert presenter.is_checked('#moderated-switch')
    ann = join(open_page, presentation, 'Ann')
    bob = join(open_page, presentation, 'Bob')
    presenter.click('#tab-hands')  # looking elsewhere: new questions are "unseen"

    ask(ann, 'Can I see this before approval?')
    presenter.wait_for_selector('#qa-unseen:text-is("1 new")')
    mine = ann.locator('[data-testid=my-question-state]')
    mine.wait_for()
    assert mine.inner_text() == 'Waiting for approval'
    assert questions_on(ann) == [] and questions_on(bob) == []
    presenter.click('#tab-qa')
    assert presenter.is_hidden('#qa-unseen')
    question(presenter, 'before approval', '#pending-list').locator(
        '[data-action=approve]'
    ).click()
    wait_questions(
        [ann, bob, presenter], ['Can I see this before approval?'], 'approved'
    )
    wait_until(
        lambda: mine.inner_text() == 'Approved', LIVE_DEADLINE, what='state followed'
    )
    # Switched off: the next question shows at once.
    presenter.uncheck('#moderated-switch')
    presenter.wait_for_selector('#panel-message:has-text("appear to everyone")')
    ask(bob, 'And now?')
    wait_until(
        lambda: 'And now?' in questions_on(ann), LIVE_DEADLINE, what='unmoderated'
    )


def test_reactions_hands_polls_and_export(api, open_page):
    presentation = create(api, 'Audience')
    presenter = open_page(presentation['presenter_url'])
    ann = join(open_page, presentation, 'Ann')
    bob = join(open_page, presentation, 'Bob')

    # A reaction floats up on the presenter's page, who never clicked one.
    ann.click('button.reaction[data-emoji="👏"]')
    presenter.wait_for_selector(
        '#reaction-layer .floating-reaction:text-is("👏")',
        state='attached',
        timeout=2000,
    )

    # Hands queue in the order raised, with names and a waiting clock.
    presenter.click('#tab-hands')
    bob.click('#hand-button')
    presenter.wait_for_selector('[data-testid=hand-name]:text-is("Bob")')
    ann.click('#hand-button')
    wait_until(
        lambda: (
            presenter.locator('[data-testid=hand-name]').all_inner_texts()
            == ['Bob', 'Ann']
        ),
        LIVE_DEADLINE,
        what='hands in the order raised',
    )
    assert presenter.inner_text('#hands-count') == '2'
    assert (
        presenter.locator('[data-testid=hand-waiting]')
        .first.inner_text()
        .startswith('waiting ')
    )
    assert bob.get_attribute('#hand-button', 'aria-pressed') == 'true'
    presenter.locator('[data-testid=hand]', has_text='Bob').locator(
        '[data-testid=lower-hand]'
    ).click()
    wait_until(
        lambda: bob.get_attribute('#hand-button', 'aria-pressed') == 'false',
        LIVE_DEADLINE,
        what="the lowered hand on the attendee's page",
    )
    assert presenter.locator('[data-testid=hand-name]').all_inner_texts() == ['Ann']

    # A poll: created on the page, both vote, results as bars.
    presenter.click('#tab-polls')
    presenter.fill('#poll-question', 'Tea or coffee?')
    options = presenter.locator('[data-testid=poll-option]')
    options.nth(0).fill('Tea')
    options.nth(1).fill('Coffee')
    presenter.click('#add-option')
    options.nth(2).fill('Water')
    presenter.click('#create-poll')
    for page, choice in ((ann, '1'), (bob, '2')):
        page.click('#tab-polls')
        poll = page.locator('[data-testid=poll]', has_text='Tea or coffee?')
        poll.locator(f'input[value="{choice}"]').check()
        poll.locator('[data-testid=poll-submit]').click()
        poll.locator('[data-testid=poll-results]').wait_for()
    bars = presenter.locator('[data-testid=poll-bar]')
    wait_until(
        lambda: (
            [bars.nth(i).get_attribute('data-count') for i in range(3)]
            == ['0', '1', '1']
        ),
        LIVE_DEADLINE,
        what="the presenter's live bars",
    )
    assert '1 · 50%' in bars.nth(1).inner_text()
    # Ann changes her vote while it is open.
    poll = ann.locator('[data-testid=poll]', has_text='Tea or coffee?')
    assert poll.locator('[data-testid=poll-submit]').inner_text() == 'Change vote'
    poll.locator('input[value="0"]').check()
    poll.locator('[data-testid=poll-submit]').click()
    wait_until(
        lambda: (
            [bars.nth(i).get_attribute('data-count') for i in range(3)]
            == ['1', '0', '1']
        ),
        LIVE_DEADLINE,
        what='a changed vote',
    )
    presenter.locator('[data-testid=poll-toggle]').click()  # close it
    bob.wait_for_selector('[data-testid=poll-state]:text-is("Closed")')

    # Exports download with the key in a header, as a file with the right rows.
    ann.click('#tab-qa')
    ask(ann, 'Exported, with a comma?')
    presenter.click('#tab-qa')
    with presenter.expect_download() as info:
        presenter.click('[data-testid=export-questions-csv]')
    download = info.value
    assert download.suggested_filename.endswith('.csv')
    rows = list(csv.DictReader(io.StringIO(Path(download.path()).read_text())))
    assert [row['text'] for row in rows] == ['Exported, with a comma?'], rows
    presenter.click('#tab-polls')
    with presenter.expect_download() as info:
        presenter.click('[data-testid=export-polls-json]')
    assert 'Tea or coffee?' in Path(info.value.path()).read_text()
