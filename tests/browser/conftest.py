"""One local-mode stack (local_video + real Janus behind nginx) and one Chromium
per browser test module; every page gets its own browser context.

Module scope, not session scope: while Playwright's sync API runs, the main thread
has a running event loop, so tests collected after this directory that call
asyncio.run() (Falcon's ASGI test client, for one) would fail.
"""

from __future__ import annotations

import secrets
import shutil
from collections.abc import Callable, Iterator
from pathlib import Path

import httpx
import pytest

from launcher import Ports, Stack, StackError
from tests.browser.browser_support import CHROMIUM, launch, new_page
from tests.integration.conftest import HTTP_TIMEOUT, SMALL_STACK


@pytest.fixture(scope='module')
def local_stack(tmp_path_factory) -> Iterator[Stack]:
    """Start Podium with the local video backend once; users reach it through nginx."""
    for binary in ('janus', 'nginx', 'redis-server'):
        if shutil.which(binary) is None:
            pytest.skip(f'{binary} is not installed')
    ports = Ports.free()
    # localhost/127.0.0.1 is a secure context: pages may use camera and screen.
    env = {
        **SMALL_STACK,
        'PODIUM_PUBLIC_URL': f'http://127.0.0.1:{ports.http}',
        'PODIUM_SECRET_KEY': secrets.token_urlsafe(32),
    }
    running = Stack(env, tmp_path_factory.mktemp('browser-stack'), ports)
    assert running.backend == 'local'
    try:
        running.start()
    except StackError as ex:
        pytest.fail(f'the local stack did not start: {ex}')
    try:
        yield running
    finally:
        running.stop()


@pytest.fixture(scope='module')
def browser():
    sync_api = pytest.importorskip('playwright.sync_api')
    if not Path(CHROMIUM).exists():
        pytest.skip('Debian chromium is not installed')
    with sync_api.sync_playwright() as playwright:
        chromium = launch(playwright)
        try:
            yield chromium
        finally:
            chromium.close()


@pytest.fixture
def api(local_stack) -> Iterator[httpx.Client]:
    """An HTTP client on nginx, the stack's only public door."""
    with httpx.Client(base_url=local_stack.url, timeout=HTTP_TIMEOUT) as client:
        yield client


@pytest.fixture
def open_page(browser) -> Iterator[Callable]:
    """Return `open_page(url=None)`: a page in a new context, closed after the test.

    After the test, any uncaught exception or unhandled rejection a page had fails it.
    """
    pages = []

    def opener(url: str | None = None):
        page = new_page(browser)
        pages.append(page)
        if url:
            page.goto(url)
        return page

    yield opener
    errors = [(page.url, error) for page in pages for error in page.errors]
    for page in pages:
        page.context.close()
    if errors:
        pytest.fail(f'uncaught errors in pages: {errors}')
