// The presenter's stage: "Invite on stage" beside each raised hand, and the list
// of who is invited or speaking, with Mute and Remove. The calls and the
// section's shape are stage-client.js.

import { el, keepFocus } from './ui-kit.js';

/**
 * @typedef {import('./stage-client.js').StageSection} StageSection
 * @typedef {import('./stage-client.js').StageSpeaker} StageSpeaker
 * @typedef {ReturnType<typeof import('./stage-client.js').presenterStageApi>} PresenterStageApi
 */

/**
 * seatText says where a speaker is.
 * @param {StageSpeaker} seat
 * @returns {string}
 */
function seatText(seat) {
  if (seat.status === 'invited') return 'Invited, waiting for an answer';
  return seat.muted ? 'On stage, muted by you' : 'On stage';
}

/**
 * createStagePanel runs the presenter's stage list at the top of `panel`.
 * @param {object} options
 * @param {HTMLElement} options.panel - the Hands tab
 * @param {PresenterStageApi} options.api
 * @param {import('./ui-kit.js').MessageLine} options.messages
 */
export function createStagePanel({ panel, api, messages }) {
  const list = el('ul', { className: 'stage-list', attrs: { 'data-testid': 'stage-list' } });
  const empty = el('p', {
    className: 'empty',
    text: 'Nobody on stage. Invite a raised hand to let them speak.',
    attrs: { 'data-testid': 'stage-empty' },
  });
  const section = el('section', {
    className: 'stage-panel',
    attrs: { 'aria-labelledby': 'stage-panel-heading', 'data-testid': 'stage-panel' },
  }, [
    el('h2', { className: 'panel-heading', text: 'On stage', attrs: { id: 'stage-panel-heading' } }),
    list,
    empty,
  ]);
  panel.prepend(section);
  /** @type {StageSpeaker[]} */
  let seats = [];
  /** Who the last "is invited" line was about, until they answer. */
  let awaiting = '';

  /**
   * seatButton makes one of a seat's buttons.
   * @param {string} text
   * @param {string} action
   * @param {StageSpeaker} seat
   * @param {string} [className]
   * @returns {HTMLButtonElement}
   */
  function seatButton(text, action, seat, className = 'small secondary') {
    const button = el('button', {
      className,
      text,
      attrs: {
        type: 'button',
        'data-testid': `stage-${action}`,
        'data-stage-action': action,
        'data-slot': seat.slot,
        'data-focus-key': `${action}-${seat.slot}`,
        'aria-label': `${text}: ${seat.name || 'a speaker without a name'}`,
      },
    });
    return button;
  }

  /** render draws the stage list and updates every Invite button. */
  function render() {
    keepFocus(list, () => {
      list.replaceChildren(...seats.map((seat) => {
        const buttons = [];
        if (seat.status === 'speaking') {
          buttons.push(seatButton(seat.muted ? 'Allow to unmute' : 'Mute',
            seat.muted ? 'unmute' : 'mute', seat));
        }
        buttons.push(seatButton(seat.status === 'invited' ? 'Withdraw' : 'Remove', 'remove', seat,
          'small danger'));
        return el('li', {
          className: 'stage-item',
          attrs: { 'data-testid': 'stage-seat', 'data-identity': seat.identity,
            'data-status': seat.status },
        }, [
          el('span', { className: 'hand-name', text: seat.name || 'Someone without a name' }),
          el('span', { className: 'stage-status', text: seatText(seat),
            attrs: { 'data-testid': 'stage-status' } }),
          ...buttons,
        ]);
      }));
    });
    empty.hidden = seats.length > 0;
    for (const button of document.querySelectorAll('button[data-invite]')) {
      updateInvite(/** @type {HTMLButtonElement} */ (button));
    }
  }

  /**
   * updateInvite shows whether a hand can still be invited.
   * @param {HTMLButtonElement} button
   */
  function updateInvite(button) {
    const seat = seats.find((s) => s.identity === button.dataset.invite);
    button.disabled = Boolean(seat);
    button.textContent = seat ? (seat.status === 'invited' ? 'Invited' : 'On stage')
      : 'Invite on stage';
  }

  list.addEventListener('click', async (event) => {
    const target = /** @type {HTMLElement} */ (event.target);
    const button = /** @type {HTMLButtonElement|null} */ (target.closest('button[data-stage-action]'));
    if (!button) return;
    const slot = button.dataset.slot || '';
    const action = button.dataset.stageAction;
    button.disabled = true;
    try {
      if (action === 'remove') await api.remove(slot);
      else await api.mute(slot, action === 'mute');
    } catch (ex) {
      button.disabled = false;
      messages.fail(`stage ${action} failed`, ex);
    }
  });

  return {
    /**
     * inviteButton makes the "Invite on stage" button of one raised hand.
     * @param {import('./audience-api.js').Hand} hand
     * @returns {HTMLButtonElement}
     */
    inviteButton(hand) {
      const name = hand.name || 'Someone without a name';
      const button = el('button', {
        className: 'small',
        text: 'Invite on stage',
        attrs: {
          type: 'button',
          'data-testid': 'invite-hand',
          'data-focus-key': `invite-${hand.identity}`,
          'aria-label': `Invite ${name} on stage`,
        },
      });
      button.dataset.invite = hand.identity;
      updateInvite(button);
      button.addEventListener('click', async () => {
        button.disabled = true;
        try {
          await api.invite(hand.identity);
          messages.say(`${name} is invited: they see a prompt to check their microphone.`);
          awaiting = hand.identity;
        } catch (ex) {
          updateInvite(button);
          messages.fail('inviting on stage failed', ex);
        }
      });
      return button;
    },
    /**
     * onSection shows a `stage` event.
     * @param {StageSection} next
     */
    onSection(next) {
      seats = next.speakers;
      render();
      if (!awaiting) return;
      // The invitation line is stale once they answered: say what happened instead.
      const seat = seats.find((s) => s.identity === awaiting);
      if (seat && seat.status === 'invited') return;
      messages.say(seat ? `${seat.name || 'Your speaker'} is on stage.`
        : 'The invitation was declined or withdrawn.');
      awaiting = '';
    },
  };
}
