// The presenter's queue of raised hands: first raised first, how long each waited.

import { byId, show } from './dom.js';
import { el, keepFocus, waitingFor } from './ui-kit.js';

const CLOCK_MS = 1000;

/**
 * createHands runs the presenter's Hands tab.
 * @param {object} options
 * @param {import('./audience-api.js').PresenterApi} options.api
 * @param {import('./ui-kit.js').MessageLine} options.messages
 * @param {() => number} [options.now] - the clock, in ms
 * @param {(hand: import('./audience-api.js').Hand) => Node} [options.extra] - more per hand
 *   (the stage's "Invite on stage")
 */
export function createHands({ api, messages, now = Date.now, extra }) {
  const list = byId('hands-list');
  const lowerAll = /** @type {HTMLButtonElement} */ (byId('lower-all'));
  /** @type {import('./audience-api.js').Hand[]} */
  let queue = [];

  /**
   * tick updates every "waiting …" text without rebuilding the list.
   */
  function tick() {
    const at = now();
    for (const clock of list.querySelectorAll('[data-raised-at]')) {
      const since = Number(/** @type {HTMLElement} */ (clock).dataset.raisedAt);
      clock.textContent = waitingFor(since, at);
    }
  }

  /**
   * render draws the queue in order.
   */
  function render() {
    keepFocus(list, () => {
      list.replaceChildren(
        ...queue.map((hand, index) => {
          const name = hand.name || 'Someone without a name';
          const lower = el('button', {
            className: 'small secondary',
            text: 'Lower',
            attrs: {
              type: 'button',
              'aria-label': `Lower ${name}'s hand`,
              'data-testid': 'lower-hand',
              'data-focus-key': `lower-${hand.identity}`,
            },
          });
          lower.dataset.identity = hand.identity;
          return el('li', {
            className: 'hand-item',
            attrs: { 'data-testid': 'hand', 'data-identity': hand.identity },
          }, [
            el('span', { className: 'hand-position', text: String(index + 1) }),
            el('span', { className: 'hand-name', text: name, attrs: { 'data-testid': 'hand-name' } }),
            el('span', {
              className: 'hand-waiting',
              attrs: { 'data-raised-at': String(hand.raised_at), 'data-testid': 'hand-waiting' },
            }),
            extra ? extra(hand) : null,
            lower,
          ]);
        }),
      );
    });
    tick();
    show(byId('hands-empty'), queue.length === 0);
    show(lowerAll, queue.length > 1);
    byId('hands-count').textContent = String(queue.length);
  }

  list.addEventListener('click', async (event) => {
    const target = /** @type {HTMLElement} */ (event.target);
    const button = /** @type {HTMLButtonElement|null} */ (target.closest('button[data-identity]'));
    if (!button) return;
    button.disabled = true;
    try {
      await api.lowerHand(button.dataset.identity || '');
    } catch (ex) {
      button.disabled = false;
      messages.fail('lowering a hand failed', ex);
    }
  });
  lowerAll.addEventListener('click', async () => {
    try {
      await api.lowerAllHands();
      messages.say('All hands lowered.');
    } catch (ex) {
      messages.fail('lowering every hand failed', ex);
    }
  });
  setInterval(tick, CLOCK_MS);

  return {
    /**
     * onSection shows a `hands` event: the whole queue.
     * @param {import('./audience-api.js').HandsSection} section
     */
    onSection(section) {
      queue = section.queue;
      render();
    },
  };
}
