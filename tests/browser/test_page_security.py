"""The whole flow under the pages' Content-Security-Policy, through nginx: no page
logs anything to the console and none reports a policy violation."""

from __future__ import annotations

import pytest

from tests.browser.browser_support import wait_video_playing

pytestmark = [pytest.mark.browser, pytest.mark.timeout(120)]

# Runs before any page script: reports every violation on the console, where the
# test collects it (also those of documents that come after a navigation).
REPORT_VIOLATIONS = """
document.addEventListener('securitypolicyviolation', (event) => {
  console.error(`CSP violation: ${event.effectiveDirective} blocked ` +
    `${event.blockedURI || 'inline code'} at ${event.sourceFile}:${event.lineNumber}`);
});
"""


def open_watched(open_page, url: str, messages: list[str]):
    """Open `url` in a new page whose console messages go to `messages`."""
    page = open_page()
    page.context.add_init_script(REPORT_VIOLATIONS)
    page.on('console', lambda m: messages.append(f'{page.url} {m.type}: {m.text}'))
    response = page.goto(url)
    # nginx passes the web service's headers on untouched.
    headers = response.headers
    assert "default-src 'self'" in headers['content-security-policy']
    assert headers['x-content-type-options'] == 'nosniff'
    assert headers['referrer-policy'] == 'no-referrer'
    return page


def test_the_whole_flow_runs_without_console_messages_or_violations(
    local_stack, open_page
):
    messages: list[str] = []
    home = open_watched(open_page, local_stack.url + '/', messages)
    home.fill('#title-input', 'Under policy')
    home.click('#create')
    home.wait_for_selector('#links', state='visible')
    home.click('#copy-attendee-link')
    home.wait_for_selector('#copy-status:not(:empty)')
    presenter_url = home.get_attribute('#presenter-link', 'href')
    attendee_url = home.get_attribute('#attendee-link', 'href')

    presenter = open_watched(open_page, presenter_url, messages)
    wait_video_playing(presenter, '#preview-video')
    presenter.click('#start')
    presenter.wait_for_selector('#stop', state='visible')

    attendee = open_watched(open_page, attendee_url, messages)
    attendee.click('#join')
    wait_video_playing(attendee, '#screen-video')
    wait_video_playing(attendee, '#camera-video')

    presenter.click('#stop')
    presenter.click('#stop-confirm')
    attendee.wait_for_selector('#over', state='visible')
    assert messages == []

    # The friendly 404 page: its own status is all the console has to say.
    open_watched(open_page, local_stack.url + '/presentations/nope', messages)
    assert len(messages) == 1 and 'status of 404' in messages[0], messages
