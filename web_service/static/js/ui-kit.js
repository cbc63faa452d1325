// DOM building blocks of the audience panels: elements from text (never HTML),
// keyboard-operable tabs, a message line, throttling and friendly durations.

import { userMessage } from './messages.js';

/**
 * el creates an element; `text` is set as textContent, so user text stays text.
 * @template {keyof HTMLElementTagNameMap} K
 * @param {K} tag
 * @param {{className?: string, text?: string, attrs?: Record<string, string>}} [options]
 * @param {Array<Node|null|undefined|false>} [children]
 * @returns {HTMLElementTagNameMap[K]}
 */
export function el(tag, { className, text, attrs } = {}, children = []) {
  const element = document.createElement(tag);
  if (className) element.className = className;
  if (text !== undefined) element.textContent = text;
  for (const [name, value] of Object.entries(attrs || {})) element.setAttribute(name, value);
  for (const child of children) if (child) element.append(child);
  return element;
}

/**
 * keepFocus rebuilds part of the page and puts the focus back where it was.
 *
 * Lists are rebuilt on every stream event; without this a keyboard user would
 * lose their place each time somebody else votes. The focused element is found
 * again by its data-focus-key.
 * @param {HTMLElement} container
 * @param {() => void} rebuild
 */
export function keepFocus(container, rebuild) {
  const active = document.activeElement;
  const key = active instanceof HTMLElement && container.contains(active)
    ? active.dataset.focusKey
    : undefined;
  rebuild();
  if (!key) return;
  const again = container.querySelector(`[data-focus-key="${CSS.escape(key)}"]`);
  if (again instanceof HTMLElement) again.focus();
}

/**
 * setupTabs makes a role="tablist" work as WAI-ARIA tabs: click, arrow keys, Home, End.
 * @param {HTMLElement} tablist
 * @param {(tabId: string) => void} [onSelect]
 * @returns {{select: (tabId: string) => void, selected: () => string}}
 */
export function setupTabs(tablist, onSelect = () => {}) {
  const tabs = /** @type {HTMLElement[]} */ ([...tablist.querySelectorAll('[role="tab"]')]);
  let current = tabs.find((tab) => tab.getAttribute('aria-selected') === 'true') || tabs[0];

  /**
   * select shows one tab's panel and hides the others.
   * @param {HTMLElement} chosen
   * @param {boolean} focus
   */
  function select(chosen, focus) {
    for (const tab of tabs) {
      const selected = tab === chosen;
      tab.setAttribute('aria-selected', String(selected));
      tab.tabIndex = selected ? 0 : -1;
      const panel = document.getElementById(tab.getAttribute('aria-controls') || '');
      if (panel) panel.hidden = !selected;
    }
    current = chosen;
    if (focus) chosen.focus();
    onSelect(chosen.id);
  }

  for (const tab of tabs) tab.addEventListener('click', () => select(tab, false));
  tablist.addEventListener('keydown', (event) => {
    const index = tabs.indexOf(current);
    /** @type {Record<string, number>} */
    const moves = {
      ArrowRight: (index + 1) % tabs.length,
      ArrowLeft: (index - 1 + tabs.length) % tabs.length,
      Home: 0,
      End: tabs.length - 1,
    };
    if (!(event.key in moves)) return;
    event.preventDefault();
    select(tabs[moves[event.key]], true);
  });
  select(current, false);
  return {
    select: (tabId) => {
      const tab = tabs.find((t) => t.id === tabId);
      if (tab) select(tab, false);
    },
    selected: () => current.id,
  };
}

/**
 * messageLine returns a status line's say (news) and fail (an error) functions.
 *
 * A refused write's 4xx description is what the user reads; the console gets
 * the whole error.
 * @param {HTMLElement} line
 */
export function messageLine(line) {
  /** @type {ReturnType<typeof setTimeout>|undefined} */
  let timer;

  /**
   * put shows a text for a while (errors longer).
   * @param {string} text
   * @param {boolean} isError
   */
  function put(text, isError) {
    clearTimeout(timer);
    line.textContent = text;
    line.classList.toggle('is-error', isError);
    line.hidden = !text;
    if (text) timer = setTimeout(() => put('', false), isError ? 10000 : 4000);
  }

  return {
    /** @param {string} text */
    say: (text) => put(text, false),
    /**
     * fail reports what went wrong while doing something.
     * @param {string} context - for the console
     * @param {any} error
     */
    fail: (context, error) => {
      console.error(`Podium: ${context}`, error);
      put(userMessage(error), true);
    },
  };
}

/** @typedef {ReturnType<typeof messageLine>} MessageLine */

/**
 * throttle returns a function that runs `fn` at most once per `ms`, always
 * running once more after the last call (so the latest change is never missed).
 * @param {() => void} fn
 * @param {number} ms
 * @returns {() => void}
 */
export function throttle(fn, ms) {
  let last = 0;
  /** @type {ReturnType<typeof setTimeout>|undefined} */
  let timer;
  return () => {
    if (timer !== undefined) return;
    const wait = Math.max(0, last + ms - Date.now());
    timer = setTimeout(() => {
      timer = undefined;
      last = Date.now();
      fn();
    }, wait);
  };
}

/**
 * waitingFor says how long someone has waited, e.g. "waiting 2 min".
 * @param {number} sinceMs - when they started waiting (ms since the epoch)
 * @param {number} nowMs
 * @returns {string}
 */
export function waitingFor(sinceMs, nowMs) {
  const seconds = Math.max(0, Math.floor((nowMs - sinceMs) / 1000));
  if (seconds < 60) return `waiting ${seconds} s`;
  const minutes = Math.floor(seconds / 60);
  if (minutes < 60) return `waiting ${minutes} min`;
  return `waiting ${Math.floor(minutes / 60)} h ${minutes % 60} min`;
}

/**
 * plural returns "1 vote", "2 votes".
 * @param {number} count
 * @param {string} one
 * @param {string} [many]
 * @returns {string}
 */
export function plural(count, one, many = `${one}s`) {
  return `${count} ${count === 1 ? one : many}`;
}

/**
 * saveBlob offers a Blob as a download under a file name.
 * @param {Blob} blob
 * @param {string} filename
 */
export function saveBlob(blob, filename) {
  const url = URL.createObjectURL(blob);
  const anchor = el('a', { attrs: { href: url, download: filename } });
  anchor.hidden = true;
  document.body.append(anchor);
  anchor.click();
  anchor.remove();
  // Freed a little later: some browsers read the URL after click() returns.
  setTimeout(() => URL.revokeObjectURL(url), 30000);
}
