// Reactions: the bar an attendee clicks and the emoji that float up on every page.

import { REACTIONS } from './audience-api.js';

const FLOAT_MS = 2200; // as long as the CSS animation
const MAX_FLOATS_PER_BURST = 12; // a storm stays readable (and cheap) on every page
const MAX_FLOATING = 40;

/**
 * createReactions floats reactions up in a layer and, on attendee pages, sends clicks.
 * @param {HTMLElement} layer - an aria-hidden element over the video
 * @param {import('./ui-kit.js').MessageLine} messages
 */
export function createReactions(layer, messages) {
  /** @type {Map<string, number>} this page's own clicks not yet in a burst */
  const ownPending = new Map();
  /** @type {((emoji: string) => Promise<any>)|null} */
  let send = null;

  /**
   * float shows one emoji rising from the bottom of the layer.
   * @param {string} emoji
   * @param {number} [delayMs]
   */
  function float(emoji, delayMs = 0) {
    if (layer.childElementCount >= MAX_FLOATING) return;
    const item = document.createElement('span');
    item.className = 'floating-reaction';
    item.textContent = emoji;
    // CSSOM, not a style attribute: the page's CSP allows the former only.
    item.style.setProperty('--drift', `${Math.round(Math.random() * 60 - 30)}px`);
    item.style.left = `${Math.round(10 + Math.random() * 80)}%`;
    item.style.animationDelay = `${delayMs}ms`;
    layer.append(item);
    setTimeout(() => item.remove(), FLOAT_MS + delayMs + 100);
  }

  /**
   * onBurst floats the reactions of one aggregated `reactions` event.
   *
   * This page's own clicks already floated when clicked, so they are taken off.
   * @param {import('./audience-api.js').ReactionsBurst} burst
   */
  function onBurst(burst) {
    let shown = 0;
    for (const emoji of REACTIONS) {
      let count = Number((burst.counts || {})[emoji]) || 0;
      const own = Math.min(count, ownPending.get(emoji) || 0);
      if (own) ownPending.set(emoji, (ownPending.get(emoji) || 0) - own);
      count -= own;
      for (let i = 0; i < count && shown < MAX_FLOATS_PER_BURST; i += 1, shown += 1) {
        // Spread over the 250 ms the burst covers, so a storm looks like one.
        float(emoji, Math.round(Math.random() * 250));
      }
    }
  }

  /**
   * react floats an emoji at once and sends it.
   * @param {string} emoji
   */
  async function react(emoji) {
    if (!send) return;
    float(emoji);
    ownPending.set(emoji, (ownPending.get(emoji) || 0) + 1);
    try {
      await send(emoji);
    } catch (ex) {
      ownPending.set(emoji, Math.max(0, (ownPending.get(emoji) || 0) - 1));
      messages.fail('a reaction was refused', ex);
    }
  }

  return {
    onBurst,
    react,
    /**
     * connectBar makes a reaction bar's buttons (data-emoji) send with `sender`.
     * @param {HTMLElement} bar
     * @param {(emoji: string) => Promise<any>} sender
     */
    connectBar(bar, sender) {
      send = sender;
      for (const button of bar.querySelectorAll('button[data-emoji]')) {
        const emoji = /** @type {HTMLElement} */ (button).dataset.emoji || '';
        button.addEventListener('click', () => react(emoji));
      }
    },
  };
}
