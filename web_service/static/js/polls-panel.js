// The attendee's polls: vote (and change the vote while open), see results.

import { byId, show } from './dom.js';
import { el, plural, throttle } from './ui-kit.js';

/** @typedef {import('./audience-api.js').Poll} Poll */

const MINE_REFRESH_MS = 1000;
export const POLL_STATE_LABELS = Object.freeze({
  draft: 'Draft',
  open: 'Open',
  closed: 'Closed',
});

/**
 * resultBars builds a poll's results: one bar per option, with count and share.
 * @param {Poll} poll
 * @param {number[]} votes - per option
 * @param {number|null|undefined} [mine] - the option the viewer chose
 * @returns {HTMLElement}
 */
export function resultBars(poll, votes, mine) {
  const total = votes.reduce((sum, n) => sum + n, 0);
  return el('ul', { className: 'bars', attrs: { 'data-testid': 'poll-results' } },
    poll.options.map((option, index) => {
      const count = votes[index] || 0;
      const share = total ? Math.round((100 * count) / total) : 0;
      const fill = el('span', { className: 'bar-fill' });
      // CSSOM is allowed by the page's CSP (a style attribute is not).
      fill.style.width = `${share}%`;
      const item = el('li', {
        className: 'bar',
        attrs: { 'data-testid': 'poll-bar', 'data-count': String(count) },
      }, [
        el('span', { className: 'bar-label' }, [
          el('span', { className: 'bar-option', text: option }),
          el('span', {
            className: 'bar-count',
            text: `${count} · ${share}%`,
            attrs: { 'aria-label': `${plural(count, 'vote')}, ${share} percent` },
          }),
        ]),
        el('span', { className: 'bar-track', attrs: { 'aria-hidden': 'true' } }, [fill]),
      ]);
      item.classList.toggle('is-mine', mine === index);
      return item;
    }),
  );
}

/**
 * createAttendeePolls runs the attendee's Polls tab.
 * @param {{messages: import('./ui-kit.js').MessageLine, onCount: (open: number) => void}} options
 */
export function createAttendeePolls({ messages, onCount }) {
  const list = byId('polls-list');
  const empty = byId('polls-empty');
  /** @type {import('./audience-api.js').AttendeeApi|null} */
  let api = null;
  /** @type {Poll[]} */
  let polls = [];
  /** @type {Map<string, Poll>} the caller's view: ballots and tallies it may see */
  const mine = new Map();
  /** @type {Map<string, {root: HTMLElement, update: (poll: Poll) => void}>} */
  const shown = new Map();

  /**
   * pollItem builds one poll's element; update() refreshes it in place, so a
   * choice being made (and the focus) survive the stream's updates.
   * @param {Poll} first
   */
  function pollItem(first) {
    const root = el('li', {
      className: 'poll',
      attrs: { 'data-testid': 'poll', 'data-poll-id': first.id },
    });
    const stateTag = el('span', { className: 'tag', attrs: { 'data-testid': 'poll-state' } });
    const heading = el('h3', { className: 'poll-question' }, [
      el('span', { text: first.question }),
      stateTag,
    ]);
    const name = `poll-${first.id}`;
    const radios = first.options.map((_option, index) =>
      el('input', { attrs: { type: 'radio', name, value: String(index) } }),
    );
    const submit = el('button', {
      className: 'small',
      text: 'Vote',
      attrs: { type: 'submit', 'data-testid': 'poll-submit' },
    });
    const form = el('form', { className: 'poll-ballot' }, [
      el('fieldset', {}, [
        el('legend', { className: 'visually-hidden', text: first.question }),
        ...first.options.map((option, index) =>
          el('label', { className: 'check' }, [radios[index], document.createTextNode(option)]),
        ),
      ]),
      submit,
    ]);
    const results = el('div', { className: 'poll-results' });
    const total = el('p', { className: 'poll-total', attrs: { 'data-testid': 'poll-total' } });
    root.append(heading, form, results, total);

    form.addEventListener('submit', async (event) => {
      event.preventDefault();
      const chosen = radios.findIndex((radio) => radio.checked);
      if (!api) return;
      if (chosen < 0) {
        messages.say('Pick an option first.');
        return;
      }
      submit.disabled = true;
      try {
        const answer = await api.ballot(first.id, chosen);
        const poll = polls.find((p) => p.id === first.id) || first;
        mine.set(first.id, { ...poll, my_option: answer.option, votes: answer.votes,
          total: answer.total });
        messages.say('Vote counted.');
        render();
      } catch (ex) {
        messages.fail('voting in a poll failed', ex);
      } finally {
        submit.disabled = false;
      }
    });

    /**
     * update shows a poll's current state, ballot and results.
     * @param {Poll} poll
     */
    function update(poll) {
      const own = mine.get(poll.id);
      const myOption = own ? own.my_option : null;
      const votes = poll.votes || (own && own.votes) || null;
      const open = poll.state === 'open';
      stateTag.textContent = POLL_STATE_LABELS[poll.state];
      stateTag.className = `tag tag-poll-${poll.state}`;
      show(form, open && Boolean(api));
      submit.textContent = myOption === null || myOption === undefined ? 'Vote' : 'Change vote';
      radios.forEach((radio, index) => {
        radio.disabled = !open || !api;
        // Show the ballot cast, unless the attendee is choosing another one.
        if (myOption === index && !form.contains(document.activeElement)) radio.checked = true;
      });
      if (votes) {
        results.replaceChildren(resultBars(poll, votes, myOption));
      } else {
        const why = poll.visibility === 'after_close' ? 'when the poll closes'
          : 'once you have voted';
        results.replaceChildren(el('p', { className: 'muted', text: `Results appear ${why}.` }));
      }
      total.textContent = plural(poll.total, 'vote');
    }

    return { root, update };
  }

  /**
   * render adds, updates and removes polls to match the latest event.
   */
  function render() {
    const ids = new Set(polls.map((p) => p.id));
    for (const [id, entry] of shown) {
      if (!ids.has(id)) {
        entry.root.remove();
        shown.delete(id);
      }
    }
    // Newest first: the poll people are asked about now is on top.
    [...polls].reverse().forEach((poll, index) => {
      let entry = shown.get(poll.id);
      if (!entry) {
        entry = pollItem(poll);
        shown.set(poll.id, entry);
      }
      if (list.children[index] !== entry.root) {
        list.insertBefore(entry.root, list.children[index] || null);
      }
      entry.update(poll);
    });
    show(empty, polls.length === 0);
    onCount(polls.filter((p) => p.state === 'open').length);
  }

  /**
   * refreshMine reads the caller's ballots and the tallies it may see.
   */
  async function refreshMine() {
    if (!api) return;
    try {
      const answer = await api.polls();
      mine.clear();
      for (const poll of answer.polls) mine.set(poll.id, poll);
      render();
    } catch (ex) {
      console.warn('Podium: could not read your poll votes', ex);
    }
  }
  const refreshMineSoon = throttle(refreshMine, MINE_REFRESH_MS);

  return {
    /**
     * onSection shows a `polls` event.
     * @param {import('./audience-api.js').PollsSection} section
     */
    onSection(section) {
      polls = section.polls;
      render();
      // Live tallies of polls one voted in come only from the private read.
      if (api) refreshMineSoon();
    },
    /**
     * connect lets the attendee vote once joined (null: not any more).
     * @param {import('./audience-api.js').AttendeeApi|null} next
     */
    connect(next) {
      api = next;
      render();
      refreshMine();
    },
    refreshMine,
  };
}
