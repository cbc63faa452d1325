"""The pages under their Content-Security-Policy: the whole local flow through
nginx, and twilio-video starting under the Twilio backend's policy. No page logs
anything to the console and none reports a policy violation."""

from __future__ import annotations

from concurrent.futures import ThreadPoolExecutor
from urllib.parse import urlsplit

import fakeredis
import falcon.testing
import pytest

from podium.config import Config
from podium.store import Store
from tests.browser.browser_support import new_page, wait_video_playing
from tests.conftest import TEST_ENV
from web_service.app import create_app
from web_service.changes import ChangeHub

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


def test_twilio_video_starts_under_the_twilio_backends_policy(browser):
    """twilio-video loads (and evals) under the policy; nothing is blocked."""
    store = Store(fakeredis.FakeRedis(decode_responses=True))
    store.create_presentation({'id': 'p1', 'title': 'Twilio', 'created_at': '1'})

    async def read_view(presentation_id):
        return store.read_view(presentation_id)

    env = {**TEST_ENV, 'PODIUM_VIDEO_BACKEND': 'twilio'}
    app = create_app(
        Config.from_env(env),
        store=store,
        changes=ChangeHub(read_view),
        environ=env,
        stream_limit=1,  # the page's state stream ends, so a worker never hangs
    )
    client = falcon.testing.TestClient(app)
    # The test client runs its own event loop: keep it off Playwright's thread.
    workers = ThreadPoolExecutor(max_workers=1)

    def serve(route):
        path = urlsplit(route.request.url).path
        result = workers.submit(client.simulate_get, path).result()
        route.fulfill(
            status=result.status_code, headers=result.headers, body=result.content
        )

    messages: list[str] = []
    page = new_page(browser)
    try:
        page.context.add_init_script(REPORT_VIOLATIONS)
        page.on('console', lambda m: messages.append(f'{m.type}: {m.text}'))
        # Only the page's own origin is served; Twilio's is never reached.
        page.route('http://podium.test/**', serve)
        page.goto('http://podium.test/presentations/p1')
        assert page.evaluate('typeof Twilio.Video.connect') == 'function'
        assert page.errors == []
        assert messages == []
    finally:
        page.context.close()
        workers.shutdown()
