"""After a browser-driven talk with two attendees, the presenter's report says so.

One scenario on the real stack (nginx, services, Redis, local_video, Janus): two
attendees join, one leaves, the presenter ends the talk; the report on the page
and from the API counts both, a peak of two, and the leaver's shorter watch time.
Screenshots of the report at 1280x800 and 390x844 go to PODIUM_SHOTS_DIR (or the
test's tmp_path).
"""

from __future__ import annotations

import os
from pathlib import Path

import httpx
import pytest
from prometheus_client.parser import text_string_to_metric_families

from tests.browser.browser_support import wait_until
from tests.browser.test_presentation_flow import (
    create_presentation,
    present,
    wait_counts,
)

pytestmark = [pytest.mark.browser, pytest.mark.timeout(120)]


def scrape(port: int) -> dict[str, float]:
    """Return the unlabelled samples of a metrics port."""
    text = httpx.get(f'http://127.0.0.1:{port}/metrics', timeout=5).text
    return {
        s.name: s.value
        for family in text_string_to_metric_families(text)
        for s in family.samples
        if not s.labels
    }


def join_as(open_page, presentation: dict, name: str):
    page = open_page(presentation['attendee_url'])
    page.fill('#name-input', name)
    page.click('#join')
    page.wait_for_selector('#stage', state='visible')
    return page


def test_the_report_of_a_talk_with_two_attendees(local_stack, open_page, api, tmp_path):
    presentation = create_presentation(api, 'Report end to end')
    presenter = present(open_page, presentation)
    ann = join_as(open_page, presentation, 'Ann')
    bob = join_as(open_page, presentation, 'Bob')
    wait_counts([presenter], 2, 10, 'the presenter to see two attendees')
    # local_video's metrics: the room, who publishes, who watches, Janus's media.
    port = local_stack.ports.local_video_metrics
    samples = {}

    def media_figures_arrived() -> bool:
        samples.update(scrape(port))
        return samples.get('podium_janus_bitrate_in', 0) > 0

    wait_until(media_figures_arrived, 20, what="Janus's figures in the metrics")
    assert samples['podium_local_rooms'] >= 1
    assert samples['podium_local_publishers'] >= 1
    assert samples['podium_local_subscribers'] >= 2
    assert samples['podium_janus_bitrate_out'] > 0
    assert samples['podium_janus_handles'] >= 3
    ann.wait_for_selector('#ask-form', state='visible')
    ann.fill('#question-input', 'How many of us were here?')
    ann.click('#ask')
    presenter.wait_for_selector('#questions-list li', timeout=10000)
    bob.context.close()  # Bob leaves early
    wait_counts([presenter], 1, 10, 'the presenter to see Bob leave')
    presenter.click('#stop')
    presenter.click('#stop-confirm')
    presenter.wait_for_selector('[data-testid=report-unique]', timeout=15000)

    assert presenter.inner_text('[data-testid=report-unique]') == '2'
    assert presenter.inner_text('[data-testid=report-peak]') == '2'
    assert presenter.locator('[data-testid=audience-chart] path.line').count() == 1
    assert 'How many of us were here?' in presenter.inner_text(
        '[data-testid=report-questions]'
    )

    headers = {'Authorization': f'Presenter {presentation["presenter_key"]}'}
    report = api.get(f'/api/presentations/{presentation["id"]}/report', headers=headers)
    assert report.status_code == 200, report.text
    body = report.json()
    assert body['status'] == 'ended'
    assert body['unique_attendees'] == 2 and body['peak']['count'] == 2
    watch = {a['name']: a['watch_seconds'] for a in body['attendees']}
    assert set(watch) == {'Ann', 'Bob'} and watch['Bob'] < watch['Ann']
    assert [p['count'] for p in body['series']][-1] == 0
    assert body['questions']['total'] == 1
    assert max(p['count'] for p in body['series']) == 2

    shots = Path(os.environ.get('PODIUM_SHOTS_DIR') or tmp_path)
    shots.mkdir(parents=True, exist_ok=True)
    for width, height in ((1280, 800), (390, 844)):
        presenter.set_viewport_size({'width': width, 'height': height})
        # Reloaded: the chart is drawn at the width it gets (the key stays in the tab).
        presenter.reload()
        presenter.wait_for_selector('[data-testid=audience-chart]', timeout=15000)
        assert presenter.inner_text('[data-testid=report-unique]') == '2'
        presenter.screenshot(
            path=str(shots / f'report-{width}x{height}.png'), full_page=True
        )
    wait_until(lambda: ann.is_visible('#over, [data-testid=over]'), 10, what='Ann told')
