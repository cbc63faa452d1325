// The presenter's recording card: the Record switch before and during the talk,
// then the file's progress, Download (with duration and size) and Delete.
// State comes from the state stream and GET .../recording, never from the click.

import { afterLabel, liveLabel, pollDelay } from './recording-api.js';
import { show } from './dom.js';

/**
 * @typedef {import('./recording-api.js').RecordingApi} RecordingApi
 * @typedef {import('./recording-api.js').RecordingView} RecordingView
 * @typedef {import('./recording-api.js').RecordingState} RecordingState
 */

/**
 * part returns an element of the card by its data-part, and throws if it lacks it.
 * @template {HTMLElement} T
 * @param {HTMLElement} card
 * @param {string} name
 * @returns {T}
 */
function part(card, name) {
  const found = card.querySelector(`[data-part="${name}"]`);
  if (!(found instanceof HTMLElement)) throw new Error(`the recording card has no ${name}`);
  return /** @type {T} */ (found);
}

/**
 * createRecordingPanel wires the recording card.
 * @param {{card: HTMLElement, api: RecordingApi|null, messages: import('./ui-kit.js').MessageLine}} options
 *   api: null without the presenter key (the card stays hidden)
 */
export function createRecordingPanel({ card, api, messages }) {
  const toggle = /** @type {HTMLInputElement} */ (part(card, 'toggle'));
  const live = part(card, 'live');
  const status = part(card, 'status');
  const after = part(card, 'after');
  const progress = /** @type {HTMLProgressElement} */ (part(card, 'progress'));
  const download = /** @type {HTMLAnchorElement} */ (part(card, 'download'));
  const remove = /** @type {HTMLButtonElement} */ (part(card, 'delete'));
  const retry = /** @type {HTMLButtonElement} */ (part(card, 'retry'));
  const confirmBox = part(card, 'confirm');
  const confirmDelete = /** @type {HTMLButtonElement} */ (part(card, 'confirm-delete'));
  const cancelDelete = /** @type {HTMLButtonElement} */ (part(card, 'cancel-delete'));

  /** @type {RecordingView} */
  let view = { requested: false, status: 'off', percent: 0 };
  let isLive = false;
  let ended = false;
  let busy = false;
  /** @type {ReturnType<typeof setTimeout>|undefined} */
  let timer;

  function renderLive() {
    toggle.checked = view.requested;
    toggle.disabled = busy || ended;
    for (const button of [remove, retry, confirmDelete]) button.disabled = busy;
    if (ended) return; // renderAfter owns the card now
    status.textContent = liveLabel(view, isLive);
    card.classList.toggle('is-recording', view.status === 'recording');
  }

  /**
   * renderAfter shows an ended talk's file.
   * @param {RecordingState} state
   */
  function renderAfter(state) {
    show(live, false);
    show(after, true);
    status.textContent = afterLabel(state);
    card.classList.toggle('is-recording', false);
    card.classList.toggle('is-failed', state.status === 'failed');
    show(progress, state.status === 'processing');
    progress.value = state.percent;
    const ready = state.status === 'available' && Boolean(state.download_url);
    show(download, ready);
    if (ready && state.download_url) download.href = state.download_url;
    show(remove, state.status === 'available' || state.status === 'failed');
    show(retry, state.status === 'failed' && state.recorded);
    if (remove.hidden) show(confirmBox, false);
  }

  /**
   * refresh reads the ended talk's recording, again while it is being made.
   */
  async function refresh() {
    if (!api) return;
    clearTimeout(timer);
    try {
      const state = await api.fetch();
      renderAfter(state);
      const delay = pollDelay(state);
      if (delay !== null) timer = setTimeout(refresh, delay);
    } catch (ex) {
      messages.fail('reading the recording failed', ex);
      timer = setTimeout(refresh, 5000);
    }
  }

  /**
   * run does one presenter action, keeping the buttons quiet meanwhile.
   * @param {string} context
   * @param {() => Promise<RecordingState>} action
   * @returns {Promise<boolean>} whether it worked
   */
  async function run(context, action) {
    busy = true;
    renderLive();
    try {
      const state = await action();
      if (ended) renderAfter(state);
      else view = { ...view, requested: state.requested };
      return true;
    } catch (ex) {
      messages.fail(context, ex);
      return false;
    } finally {
      busy = false;
      renderLive();
    }
  }

  toggle.addEventListener('change', () => {
    const wanted = toggle.checked;
    toggle.checked = view.requested; // the answer and the stream decide, not the click
    if (api) run('switching recording failed', () => api.set(wanted));
  });
  remove.addEventListener('click', () => {
    show(confirmBox, true);
    cancelDelete.focus();
  });
  cancelDelete.addEventListener('click', () => show(confirmBox, false));
  confirmDelete.addEventListener('click', async () => {
    show(confirmBox, false);
    if (api && (await run('deleting the recording failed', () => api.remove()))) {
      messages.say('The recording was deleted.');
    }
  });
  retry.addEventListener('click', async () => {
    if (!api) return;
    if (await run('making the recording again failed', () => api.retry())) refresh();
  });

  show(card, Boolean(api));
  renderLive();

  return {
    /**
     * onState follows the state stream's view.
     * @param {{status: string, recording?: RecordingView}} state
     */
    onState(state) {
      if (state.recording) view = state.recording;
      isLive = state.status === 'live';
      if (state.status === 'ended') {
        if (!ended) {
          ended = true;
          refresh();
        } else if (view.status !== 'processing') {
          refresh(); // the stream says the file moved on: read its details
        }
        return;
      }
      renderLive();
    },
    /**
     * setLive says whether this page is presenting (the stream may lag behind).
     * @param {boolean} on
     */
    setLive(on) {
      isLive = on;
      if (!ended) renderLive();
    },
  };
}
