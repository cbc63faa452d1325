// The presenter's polls: create (question, 2–6 options, who sees results when),
// open, close, reopen, and live bars.

import { MAX_OPTION_LENGTH, MAX_POLL_OPTIONS, MIN_POLL_OPTIONS } from './audience-api.js';
import { byId, show } from './dom.js';
import { POLL_STATE_LABELS, resultBars } from './polls-panel.js';
import { el, keepFocus, plural, throttle } from './ui-kit.js';

/** @typedef {import('./audience-api.js').Poll} Poll */

const REFRESH_MS = 300;

/**
 * createPollsAdmin runs the presenter's Polls tab.
 * @param {object} options
 * @param {import('./audience-api.js').PresenterApi} options.api
 * @param {import('./ui-kit.js').MessageLine} options.messages
 */
export function createPollsAdmin({ api, messages }) {
  const form = /** @type {HTMLFormElement} */ (byId('poll-form'));
  const questionInput = /** @type {HTMLInputElement} */ (byId('poll-question'));
  const optionList = byId('poll-options');
  const addOption = /** @type {HTMLButtonElement} */ (byId('add-option'));
  const openNow = /** @type {HTMLInputElement} */ (byId('poll-open'));
  const createButton = /** @type {HTMLButtonElement} */ (byId('create-poll'));
  const list = byId('polls-list');
  /** @type {Poll[]} */
  let polls = [];

  /**
   * optionInputs returns the option fields in order.
   * @returns {HTMLInputElement[]}
   */
  function optionInputs() {
    return [...optionList.querySelectorAll('input')];
  }

  /**
   * renumber labels the option fields 1…n and allows removing above the minimum.
   */
  function renumber() {
    const items = [...optionList.children];
    items.forEach((item, index) => {
      const input = /** @type {HTMLInputElement} */ (item.querySelector('input'));
      input.setAttribute('aria-label', `Option ${index + 1}`);
      input.placeholder = `Option ${index + 1}`;
      const remove = /** @type {HTMLButtonElement} */ (item.querySelector('button'));
      remove.setAttribute('aria-label', `Remove option ${index + 1}`);
      show(remove, items.length > MIN_POLL_OPTIONS);
    });
    show(addOption, items.length < MAX_POLL_OPTIONS);
  }

  /**
   * addOptionField adds one empty option field.
   * @param {boolean} focus
   */
  function addOptionField(focus) {
    const input = el('input', {
      attrs: { type: 'text', maxlength: String(MAX_OPTION_LENGTH), autocomplete: 'off',
        'data-testid': 'poll-option' },
    });
    const remove = el('button', {
      className: 'link-button',
      text: 'Remove',
      attrs: { type: 'button' },
    });
    const item = el('li', { className: 'option-input' }, [input, remove]);
    remove.addEventListener('click', () => {
      item.remove();
      renumber();
      optionInputs()[0].focus();
    });
    optionList.append(item);
    renumber();
    if (focus) input.focus();
  }

  /**
   * resetForm empties the form, with the minimum number of options.
   */
  function resetForm() {
    questionInput.value = '';
    optionList.replaceChildren();
    for (let i = 0; i < MIN_POLL_OPTIONS; i += 1) addOptionField(false);
  }

  /**
   * onCreate creates the poll the form describes.
   * @param {SubmitEvent} event
   */
  async function onCreate(event) {
    event.preventDefault();
    const question = questionInput.value.trim();
    const options = optionInputs().map((input) => input.value.trim()).filter(Boolean);
    if (!question) {
      messages.say('Type the poll question first.');
      questionInput.focus();
      return;
    }
    if (options.length < MIN_POLL_OPTIONS) {
      messages.say(`A poll needs at least ${MIN_POLL_OPTIONS} options.`);
      return;
    }
    const checked = /** @type {HTMLInputElement|null} */ (
      form.querySelector('input[name="visibility"]:checked'));
    const visibility = checked && checked.value === 'after_close' ? 'after_close' : 'after_vote';
    createButton.disabled = true;
    try {
      await api.createPoll({ question, options, visibility, open: openNow.checked });
      messages.say(openNow.checked ? 'Poll created and open.' : 'Poll created as a draft.');
      resetForm();
      await refresh();
    } catch (ex) {
      messages.fail('creating a poll failed', ex);
    } finally {
      createButton.disabled = false;
    }
  }

  /**
   * pollItem builds one poll with its live bars and its open/close button.
   * @param {Poll} poll
   * @returns {HTMLElement}
   */
  function pollItem(poll) {
    const next = poll.state === 'open' ? 'closed' : 'open';
    const label = poll.state === 'open' ? 'Close' : poll.state === 'draft' ? 'Open' : 'Reopen';
    const toggle = el('button', {
      className: `small ${poll.state === 'open' ? 'secondary' : ''}`,
      text: label,
      attrs: { type: 'button', 'data-testid': 'poll-toggle', 'data-focus-key': `poll-${poll.id}` },
    });
    toggle.dataset.pollId = poll.id;
    toggle.dataset.next = next;
    const when = poll.visibility === 'after_close' ? 'Results shown when closed'
      : 'Results shown after voting';
    return el('li', { className: 'poll', attrs: { 'data-testid': 'poll', 'data-poll-id': poll.id } }, [
      el('h3', { className: 'poll-question' }, [
        el('span', { text: poll.question }),
        el('span', {
          className: `tag tag-poll-${poll.state}`,
          text: POLL_STATE_LABELS[poll.state],
          attrs: { 'data-testid': 'poll-state' },
        }),
      ]),
      resultBars(poll, poll.votes || poll.options.map(() => 0)),
      el('div', { className: 'poll-footer' }, [
        el('span', {
          className: 'poll-total',
          text: `${plural(poll.total, 'vote')} · ${when}`,
          attrs: { 'data-testid': 'poll-total' },
        }),
        toggle,
      ]),
    ]);
  }

  /**
   * render draws every poll, newest first.
   */
  function render() {
    keepFocus(list, () => list.replaceChildren(...[...polls].reverse().map(pollItem)));
    show(byId('polls-empty'), polls.length === 0);
    byId('polls-count').textContent = String(polls.filter((p) => p.state === 'open').length);
  }

  /**
   * refresh reads every poll with its live tallies.
   */
  async function refresh() {
    try {
      polls = (await api.polls()).polls;
      render();
    } catch (ex) {
      messages.fail('reading the polls failed', ex);
    }
  }
  const refreshSoon = throttle(refresh, REFRESH_MS);

  list.addEventListener('click', async (event) => {
    const target = /** @type {HTMLElement} */ (event.target);
    const button = /** @type {HTMLButtonElement|null} */ (target.closest('button[data-poll-id]'));
    if (!button) return;
    button.disabled = true;
    try {
      const state = button.dataset.next === 'closed' ? 'closed' : 'open';
      await api.setPollState(button.dataset.pollId || '', state);
      await refresh();
    } catch (ex) {
      button.disabled = false;
      messages.fail('opening or closing a poll failed', ex);
    }
  });
  form.addEventListener('submit', onCreate);
  addOption.addEventListener('click', () => addOptionField(true));
  resetForm();

  return {
    /** onSection follows the public `polls` event with a read of the live tallies. */
    onSection: refreshSoon,
    refresh,
  };
}
