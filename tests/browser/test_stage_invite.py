"""Inviting an attendee on stage, end to end through nginx: the presenter invites
a raised hand, the attendee checks the microphone and accepts, a second attendee
and the presenter receive the speaker's voice (WebRTC statistics), the presenter
mutes (badge, packets stop) and removes the speaker; and an invitation declined."""

from __future__ import annotations

import time
from pathlib import Path

import pytest

from tests.browser.browser_support import inbound_stats, wait_until
from tests.browser.test_audience import join
from tests.browser.test_presentation_flow import create_presentation, start_presenting
from tests.browser.test_stage_controls import SETTLE

pytestmark = [pytest.mark.browser, pytest.mark.timeout(150)]

SHOTS = Path('/tmp/shots/stage-invite')

SPEAKER_AUDIO_TRACK = """
() => [...document.querySelectorAll('[data-testid=speaker-audio]')]
  .map((a) => a.srcObject && a.srcObject.getAudioTracks()[0])
  .filter(Boolean).map((t) => t.id)
"""


def speaker_packets(page) -> int:
    """Audio packets received of the speakers' voices (not of the presenter's)."""
    voices = set(page.evaluate(SPEAKER_AUDIO_TRACK))
    return sum(
        a['packetsReceived']
        for a in inbound_stats(page)['audio']
        if a['trackIdentifier'] in voices
    )


def wait_video(page, selector: str) -> None:
    wait_until(
        lambda: page.evaluate(
            '(s) => (document.querySelector(s) || {}).videoWidth > 0', selector
        ),
        15,
        what=f'{selector} to show video',
    )


def shoot(page, name: str) -> None:
    SHOTS.mkdir(parents=True, exist_ok=True)
    for width, height in ((1280, 800), (390, 844)):
        page.set_viewport_size({'width': width, 'height': height})
        page.screenshot(
            path=str(SHOTS / f'{name}-{width}x{height}.png'), full_page=True
        )
    page.set_viewport_size({'width': 1280, 'height': 800})


def invite(presenter, name: str) -> None:
    hand = presenter.locator('[data-testid=hand]', has_text=name)
    hand.locator('[data-testid=invite-hand]').click()
    presenter.wait_for_selector(
        f'[data-testid=stage-seat][data-status=invited]:has-text("{name}")'
    )


def test_invite_accept_hear_mute_remove(api, open_page):
    presentation = create_presentation(api, 'On stage')
    presenter = open_page(presentation['presenter_url'])
    start_presenting(presenter)
    ann = join(open_page, presentation, 'Ann')
    bob = join(open_page, presentation, 'Bob')
    presenter.click('#tab-hands')
    ann.click('#hand-button')
    presenter.wait_for_selector('[data-testid=hand-name]:text-is("Ann")')

    invite(presenter, 'Ann')
    dialog = ann.locator('[data-testid=stage-invite]')
    dialog.wait_for(state='visible', timeout=5000)
    assert bob.is_hidden('[data-testid=stage-invite]')
    # Chromium's fake microphone beeps: the level meter moves.
    wait_until(
        lambda: (
            ann.evaluate(
                "document.querySelector('[data-testid=stage-mic-level]').value"
            )
            > 0
        ),
        10,
        what='the microphone check to hear something',
    )
    ann.check('[data-testid=stage-camera]')
    wait_video(ann, '[data-testid=stage-preview]')
    shoot(ann, 'invite-prompt')

    accepted_at = time.monotonic()
    ann.click('[data-testid=stage-accept]')
    # Bob and the presenter hear Ann: her voice's packets arrive and keep rising.
    wait_until(lambda: speaker_packets(bob) > 0, 15, what="Ann's voice at Bob")
    heard_after = time.monotonic() - accepted_at
    print(f'accept -> the other attendee receives the speaker: {heard_after:.2f} s')
    for page in (bob, presenter):
        before = speaker_packets(page)
        wait_until(lambda p=page, b=before: speaker_packets(p) > b, 10, what='rising')
    ann.wait_for_selector('[data-testid=on-stage]', state='visible')
    assert ann.is_hidden('[data-testid=stage-invite]')
    assert 'everyone hears you' in ann.inner_text('[data-testid=on-stage-text]')
    tile = bob.locator('[data-testid=speaker-tile]')
    assert tile.locator('[data-testid=speaker-name]').inner_text() == 'Ann'
    assert tile.locator('[data-testid=speaker-badge]').is_hidden()
    wait_video(bob, '[data-testid=speaker-video]')
    # Ann sees herself on stage, but never hears herself.
    assert ann.locator('[data-testid=speaker-name]').inner_text() == 'Ann (you)'
    assert speaker_packets(ann) == 0
    presenter.wait_for_selector('[data-testid=stage-seat][data-status=speaking]')
    assert presenter.inner_text('#panel-message') == 'Ann is on stage.'
    shoot(bob, 'attendee-with-speaker')
    shoot(presenter, 'presenter-stage-list')

    # The presenter mutes Ann: Bob sees the badge, her packets stop, Ann cannot unmute.
    presenter.click('[data-testid=stage-mute]')
    tile.locator('[data-testid=speaker-badge]').wait_for(state='visible', timeout=2000)
    ann.wait_for_selector('[data-testid=stage-mute][disabled]')
    shoot(bob, 'attendee-speaker-muted')
    shoot(ann, 'speaker-muted')
    assert 'presenter muted you' in ann.inner_text('[data-testid=on-stage-text]')
    time.sleep(SETTLE)
    before = speaker_packets(bob)
    time.sleep(1.0)
    assert speaker_packets(bob) == before, 'speaker audio still arriving after mute'
    presenter.click('[data-testid=stage-unmute]')
    ann.wait_for_selector('[data-testid=stage-mute]:not([disabled])')

    # Removed: the tile goes at Bob, Ann is an attendee again.
    presenter.click('[data-testid=stage-remove]')
    bob.wait_for_selector('[data-testid=speaker-tile]', state='detached', timeout=5000)
    ann.wait_for_selector('[data-testid=on-stage]', state='hidden', timeout=5000)
    presenter.wait_for_selector('[data-testid=stage-empty]', state='visible')
    assert 'took you off stage' in ann.inner_text('#panel-message')
    assert ann.is_visible('#hand-button')


def test_a_speaker_who_reloads_is_an_attendee_again(api, open_page):
    presentation = create_presentation(api, 'Reload')
    presenter = open_page(presentation['presenter_url'])
    start_presenting(presenter)
    dan = join(open_page, presentation, 'Dan')
    eve = join(open_page, presentation, 'Eve')
    presenter.click('#tab-hands')
    dan.click('#hand-button')
    presenter.wait_for_selector('[data-testid=hand-name]:text-is("Dan")')
    invite(presenter, 'Dan')
    dan.locator('[data-testid=stage-accept]').click()  # enabled once the mic is on
    wait_until(lambda: speaker_packets(eve) > 0, 15, what="Dan's voice at Eve")

    dan.reload()

    # The slot connection's participant-disconnected frees the slot.
    presenter.wait_for_selector('[data-testid=stage-empty]', state='visible')
    eve.wait_for_selector('[data-testid=speaker-tile]', state='detached')
    dan.click('#join')
    dan.wait_for_selector('#stage', state='visible')
    assert dan.is_hidden('[data-testid=on-stage]')
    assert dan.is_hidden('[data-testid=stage-invite]')


def test_an_invitation_declined_frees_the_slot(api, open_page):
    presentation = create_presentation(api, 'Declined')
    presenter = open_page(presentation['presenter_url'])
    start_presenting(presenter)
    cem = join(open_page, presentation, 'Cem')
    presenter.click('#tab-hands')
    cem.click('#hand-button')
    presenter.wait_for_selector('[data-testid=hand-name]:text-is("Cem")')

    invite(presenter, 'Cem')
    assert presenter.inner_text('[data-testid=invite-hand]') == 'Invited'
    cem.locator('[data-testid=stage-invite]').wait_for(state='visible', timeout=5000)
    cem.click('[data-testid=stage-decline]')

    presenter.wait_for_selector('[data-testid=stage-empty]', state='visible')
    assert cem.is_hidden('[data-testid=stage-invite]')
    assert cem.is_hidden('[data-testid=on-stage]')
    assert presenter.inner_text('[data-testid=invite-hand]') == 'Invite on stage'
    assert 'declined' in cem.inner_text('#panel-message')
    assert 'declined or withdrawn' in presenter.inner_text('#panel-message')

    # A full stage: the presenter reads why the invitation was refused.
    key = {'Authorization': f'Presenter {presentation["presenter_key"]}'}
    for n in range(3):
        taken = api.post(
            f'/api/presentations/{presentation["id"]}/stage',
            json={'identity': f'attendee-{n:016x}'},
            headers=key,
        )
        assert taken.status_code == 201, taken.text
    wait_until(
        lambda: presenter.locator('[data-testid=stage-seat]').count() == 3,
        5,
        what='three seats taken',
    )
    presenter.click('[data-testid=invite-hand]')
    presenter.wait_for_selector('#panel-message:has-text("The stage is full")')
    assert 'remove a speaker' in presenter.inner_text('#panel-message')
    assert presenter.inner_text('[data-testid=invite-hand]') == 'Invite on stage'
    assert cem.is_hidden('[data-testid=stage-invite]')
