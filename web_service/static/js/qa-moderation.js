// The presenter's Q&A: approve, answer now, mark answered, dismiss; moderation
// on or off; a badge for questions not seen yet.

import { byId, show } from './dom.js';
import { questionMeta } from './qa-panel.js';
import { el, keepFocus, plural, throttle } from './ui-kit.js';

/** @typedef {import('./audience-api.js').PublicQuestion} PublicQuestion */

const REFRESH_MS = 300; // the stream's questions events come at most ~4 a second

/**
 * actionButton builds one of a question's moderation buttons.
 * @param {PublicQuestion} question
 * @param {string} action - data-action: approve, now, answered, dismiss, restore
 * @param {string} label
 * @param {{pressed?: boolean, className?: string}} [options]
 * @returns {HTMLButtonElement}
 */
function actionButton(question, action, label, { pressed, className = 'secondary' } = {}) {
  const button = el('button', {
    className: `small ${className}`,
    text: label,
    attrs: {
      type: 'button',
      'data-action': action,
      'data-testid': `question-${action}`,
      'data-focus-key': `${action}-${question.id}`,
    },
  });
  button.dataset.questionId = question.id;
  if (pressed !== undefined) button.setAttribute('aria-pressed', String(pressed));
  return button;
}

/**
 * createModeration runs the presenter's Q&A tab.
 * @param {object} options
 * @param {import('./audience-api.js').PresenterApi} options.api
 * @param {import('./ui-kit.js').MessageLine} options.messages
 * @param {() => boolean} options.isVisible - whether the presenter is looking at the tab
 */
export function createModeration({ api, messages, isVisible }) {
  const moderatedSwitch = /** @type {HTMLInputElement} */ (byId('moderated-switch'));
  const pendingList = byId('pending-list');
  const list = byId('questions-list');
  const dismissedList = byId('dismissed-list');
  const unseenBadge = byId('qa-unseen');
  /** @type {import('./audience-api.js').ModerationView|null} */
  let view = null;
  /** @type {Set<string>} questions the presenter has had on screen */
  const seen = new Set();
  let busy = false;

  /**
   * questionItem builds one question with the buttons its state allows.
   * @param {PublicQuestion} question
   * @returns {HTMLElement}
   */
  function questionItem(question) {
    const now = Boolean(view && view.answering_now === question.id);
    /** @type {HTMLButtonElement[]} */
    const buttons = [];
    if (question.state === 'pending') {
      buttons.push(actionButton(question, 'approve', 'Approve', { className: '' }));
      buttons.push(actionButton(question, 'dismiss', 'Dismiss'));
    } else if (question.state === 'dismissed') {
      buttons.push(actionButton(question, 'restore', 'Restore'));
    } else {
      if (question.state === 'approved') {
        buttons.push(actionButton(question, 'now', now ? 'Answering now' : 'Answer now', { pressed: now }));
        buttons.push(actionButton(question, 'answered', 'Mark answered'));
      } else {
        buttons.push(actionButton(question, 'restore', 'Reopen'));
      }
      buttons.push(actionButton(question, 'dismiss', 'Dismiss'));
    }
    const item = el('li', {
      className: `question state-${question.state}`,
      attrs: { 'data-testid': 'question', 'data-question-id': question.id },
    }, [
      el('span', {
        className: 'vote-total',
        attrs: { 'aria-label': plural(question.votes, 'vote'), 'data-testid': 'votes' },
      }, [
        el('span', { text: String(question.votes) }),
        el('small', { text: question.votes === 1 ? 'vote' : 'votes' }),
      ]),
      el('div', { className: 'question-body' }, [
        el('p', { className: 'question-text', text: question.text }),
        questionMeta(question, { answeringNow: now }),
        el('div', { className: 'question-actions' }, buttons),
      ]),
    ]);
    item.classList.toggle('is-now', now);
    item.classList.toggle('is-answered', question.state === 'answered');
    return item;
  }

  /**
   * render draws the three lists and the counts.
   */
  function render() {
    const questions = view ? view.questions : [];
    const pending = questions.filter((q) => q.state === 'pending');
    const visible = questions.filter((q) => q.state === 'approved' || q.state === 'answered');
    const dismissed = questions.filter((q) => q.state === 'dismissed');
    const panel = byId('panel-qa');
    keepFocus(panel, () => {
      pendingList.replaceChildren(...pending.map(questionItem));
      list.replaceChildren(...visible.map(questionItem));
      dismissedList.replaceChildren(...dismissed.map(questionItem));
    });
    byId('pending-count').textContent = String(pending.length);
    byId('dismissed-count').textContent = String(dismissed.length);
    show(byId('pending'), pending.length > 0);
    show(byId('dismissed'), dismissed.length > 0);
    show(byId('questions-empty'), visible.length === 0);
    byId('qa-count').textContent = String(visible.length + pending.length);
    moderatedSwitch.checked = Boolean(view && view.moderated);
    markSeen();
  }

  /**
   * markSeen updates the unseen badge; questions count as seen while the tab shows.
   */
  function markSeen() {
    const questions = (view ? view.questions : []).filter((q) => q.state !== 'dismissed');
    if (isVisible()) for (const q of questions) seen.add(q.id);
    const unseen = questions.filter((q) => !seen.has(q.id)).length;
    unseenBadge.textContent = `${unseen} new`;
    unseenBadge.setAttribute('aria-label', `${plural(unseen, 'new question')}`);
    show(unseenBadge, unseen > 0);
  }

  /**
   * refresh reads every question, pending and dismissed ones included.
   */
  async function refresh() {
    try {
      view = await api.questions();
      render();
    } catch (ex) {
      messages.fail('reading the questions failed', ex);
    }
  }
  const refreshSoon = throttle(refresh, REFRESH_MS);

  /**
   * onAction applies the moderation button that was clicked.
   * @param {MouseEvent} event
   */
  async function onAction(event) {
    const target = /** @type {HTMLElement} */ (event.target);
    const button = /** @type {HTMLButtonElement|null} */ (target.closest('button[data-action]'));
    const questionId = button && button.dataset.questionId;
    if (!button || !questionId || busy) return;
    /** @type {Record<string, {state?: 'approved'|'answered'|'dismissed', answering_now?: boolean}>} */
    const changes = {
      approve: { state: 'approved' },
      restore: { state: 'approved' },
      answered: { state: 'answered' },
      dismiss: { state: 'dismissed' },
      now: { answering_now: button.getAttribute('aria-pressed') !== 'true' },
    };
    const change = changes[button.dataset.action || ''];
    if (!change) return;
    busy = true;
    try {
      await api.updateQuestion(questionId, change);
      await refresh();
    } catch (ex) {
      messages.fail('changing a question failed', ex);
    } finally {
      busy = false;
    }
  }

  moderatedSwitch.addEventListener('change', async () => {
    const wanted = moderatedSwitch.checked;
    try {
      const answer = await api.setModerated(wanted);
      messages.say(answer.moderated
        ? 'New questions now wait for your approval.'
        : 'New questions now appear to everyone at once.');
      await refresh();
    } catch (ex) {
      moderatedSwitch.checked = !wanted;
      messages.fail('switching moderation failed', ex);
    }
  });
  byId('panel-qa').addEventListener('click', onAction);

  return {
    /** onSection follows the public `questions` event with a full read. */
    onSection: refreshSoon,
    refresh,
    markSeen,
  };
}
