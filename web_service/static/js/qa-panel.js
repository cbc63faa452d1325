// The attendee's Q&A: ask, see every question live, upvote, follow your own.

import { MAX_QUESTION_LENGTH } from './audience-api.js';
import { byId, show } from './dom.js';
import { el, keepFocus, plural, throttle } from './ui-kit.js';

/** @typedef {import('./audience-api.js').PublicQuestion} PublicQuestion */
/** @typedef {import('./audience-api.js').QuestionsSection} QuestionsSection */

/** What an author reads about their own question's state. */
export const STATE_LABELS = Object.freeze({
  pending: 'Waiting for approval',
  approved: 'Approved',
  answered: 'Answered',
  dismissed: 'Dismissed',
});
const MINE_REFRESH_MS = 1000; // the doc asks pages to throttle their private reads

/**
 * voteButton builds the upvote toggle of a question.
 * @param {PublicQuestion} question
 * @param {boolean} voted
 * @param {boolean} enabled
 * @returns {HTMLButtonElement}
 */
export function voteButton(question, voted, enabled) {
  const button = el('button', {
    className: 'vote',
    attrs: {
      type: 'button',
      'aria-pressed': String(voted),
      'aria-label': `Upvote (${plural(question.votes, 'vote')})`,
      'data-focus-key': `vote-${question.id}`,
      'data-testid': 'vote',
    },
  }, [
    el('span', { className: 'vote-arrow', text: '▲', attrs: { 'aria-hidden': 'true' } }),
    el('span', { className: 'vote-count', text: String(question.votes) }),
  ]);
  button.dataset.questionId = question.id;
  button.disabled = !enabled;
  if (!enabled) button.title = 'Join to upvote';
  return button;
}

/**
 * questionMeta builds the line under a question: author and its tags.
 * @param {PublicQuestion} question
 * @param {{answeringNow: boolean, mine?: boolean}} flags
 * @returns {HTMLElement}
 */
export function questionMeta(question, { answeringNow, mine = false }) {
  const author = question.author || 'Anonymous';
  return el('p', { className: 'question-meta' }, [
    el('span', { className: 'author', text: author }),
    answeringNow && el('span', { className: 'tag tag-now', text: 'Answering now' }),
    question.state === 'answered' && el('span', { className: 'tag tag-done', text: 'Answered' }),
    mine && el('span', { className: 'tag', text: 'Yours' }),
  ]);
}

/**
 * createAttendeeQa runs the attendee's Q&A tab.
 * @param {{messages: import('./ui-kit.js').MessageLine, onCount: (count: number) => void}} options
 */
export function createAttendeeQa({ messages, onCount }) {
  const form = /** @type {HTMLFormElement} */ (byId('ask-form'));
  const input = /** @type {HTMLTextAreaElement} */ (byId('question-input'));
  const anonymous = /** @type {HTMLInputElement} */ (byId('anonymous-input'));
  const askButton = /** @type {HTMLButtonElement} */ (byId('ask'));
  const counter = byId('question-count');
  const list = byId('questions-list');
  const empty = byId('questions-empty');
  const mineSection = byId('my-questions');
  const mineList = byId('my-questions-list');

  /** @type {import('./audience-api.js').AttendeeApi|null} */
  let api = null;
  /** @type {QuestionsSection|null} */
  let section = null;
  /** @type {PublicQuestion[]} */
  let own = [];
  /** @type {Set<string>} */
  const voted = new Set();
  /** @type {Set<string>} votes on their way, so a double click sends one */
  const voting = new Set();
  let asking = false;

  /**
   * updateCounter shows how many characters are left, live.
   */
  function updateCounter() {
    const length = [...input.value.trim()].length;
    counter.textContent = `${length} / ${MAX_QUESTION_LENGTH}`;
    counter.classList.toggle('is-over', length > MAX_QUESTION_LENGTH);
    askButton.disabled = asking || length === 0 || length > MAX_QUESTION_LENGTH;
  }

  /**
   * render draws the public list (and the author's own questions).
   */
  function render() {
    const questions = section ? section.questions : [];
    const ownIds = new Set(own.map((q) => q.id));
    keepFocus(list, () => {
      list.replaceChildren(
        ...questions.map((question) => {
          const now = Boolean(section && section.answering_now === question.id);
          const item = el('li', {
            className: 'question',
            attrs: { 'data-testid': 'question', 'data-question-id': question.id },
          }, [
            voteButton(question, voted.has(question.id), Boolean(api)),
            el('div', { className: 'question-body' }, [
              el('p', { className: 'question-text', text: question.text }),
              questionMeta(question, { answeringNow: now, mine: ownIds.has(question.id) }),
            ]),
          ]);
          item.classList.toggle('is-now', now);
          item.classList.toggle('is-answered', question.state === 'answered');
          return item;
        }),
      );
    });
    show(empty, questions.length === 0);
    mineList.replaceChildren(
      ...own.map((question) =>
        el('li', {
          className: `my-question state-${question.state}`,
          attrs: { 'data-testid': 'my-question', 'data-question-id': question.id },
        }, [
          el('span', { className: 'question-text', text: question.text }),
          el('span', {
            className: `tag tag-${question.state}`,
            text: STATE_LABELS[question.state] || question.state,
            attrs: { 'data-testid': 'my-question-state' },
          }),
        ]),
      ),
    );
    show(mineSection, own.length > 0);
    onCount(questions.length);
  }

  /**
   * refreshMine reads the caller's own questions and votes (not on the stream).
   */
  async function refreshMine() {
    if (!api) return;
    try {
      const mine = await api.mine();
      own = mine.questions;
      voted.clear();
      for (const id of mine.voted) voted.add(id);
      render();
    } catch (ex) {
      console.warn('Podium: could not read your questions', ex);
    }
  }
  const refreshMineSoon = throttle(refreshMine, MINE_REFRESH_MS);

  /**
   * onAsk posts the question typed in the form.
   * @param {SubmitEvent} event
   */
  async function onAsk(event) {
    event.preventDefault();
    const text = input.value.trim();
    if (!api || asking || !text) return;
    asking = true;
    updateCounter();
    try {
      const question = await api.ask(text, anonymous.checked);
      own = [...own.filter((q) => q.id !== question.id), question];
      input.value = '';
      messages.say(
        question.state === 'pending'
          ? 'Question sent. It appears to everyone once the presenter approves it.'
          : 'Question posted.',
      );
      render();
    } catch (ex) {
      messages.fail('asking a question failed', ex);
    } finally {
      asking = false;
      updateCounter();
    }
  }

  /**
   * onVote toggles the caller's upvote of the question whose button was clicked.
   * @param {MouseEvent} event
   */
  async function onVote(event) {
    const target = /** @type {HTMLElement} */ (event.target);
    const button = /** @type {HTMLButtonElement|null} */ (target.closest('button.vote'));
    const questionId = button && button.dataset.questionId;
    if (!api || !questionId || voting.has(questionId)) return;
    const wanted = !voted.has(questionId);
    voting.add(questionId);
    try {
      const result = await api.vote(questionId, wanted);
      if (result.voted) voted.add(questionId);
      else voted.delete(questionId);
      // The stream brings the new order; until then show the count we know.
      if (section) {
        const question = section.questions.find((q) => q.id === questionId);
        if (question) question.votes = result.votes;
      }
      render();
    } catch (ex) {
      messages.fail('voting failed', ex);
    } finally {
      voting.delete(questionId);
    }
  }

  form.addEventListener('submit', onAsk);
  input.addEventListener('input', updateCounter);
  list.addEventListener('click', onVote);
  updateCounter();

  return {
    /**
     * onSection shows a `questions` event: the whole public list.
     * @param {QuestionsSection} next
     */
    onSection(next) {
      section = next;
      render();
      // Own pending questions may have been approved or dismissed meanwhile.
      if (own.length) refreshMineSoon();
    },
    /**
     * connect lets the attendee ask and vote once joined (null: not any more).
     * @param {import('./audience-api.js').AttendeeApi|null} next
     */
    connect(next) {
      api = next;
      show(form, Boolean(api));
      show(byId('ask-hint'), !api);
      render();
      refreshMine();
    },
    refreshMine,
  };
}
