// The home page: create a presentation and hand out its two links.

import { byId, reportError, setStatus, show, showError } from './dom.js';
import { createPresentation } from './podium-api.js';
import { userMessage } from './messages.js';

const form = /** @type {HTMLFormElement} */ (byId('create-form'));
const titleInput = /** @type {HTMLInputElement} */ (byId('title-input'));
const createButton = /** @type {HTMLButtonElement} */ (byId('create'));
const moderatedInput = /** @type {HTMLInputElement} */ (byId('moderated-input'));
const recordingInput = /** @type {HTMLInputElement} */ (byId('recording-input'));
const attendeeLink = /** @type {HTMLAnchorElement} */ (byId('attendee-link'));
const presenterLink = /** @type {HTMLAnchorElement} */ (byId('presenter-link'));
const copyStatus = byId('copy-status');

/**
 * setLink makes an anchor point to, and show, a URL.
 * @param {HTMLAnchorElement} anchor
 * @param {string} url
 */
function setLink(anchor, url) {
  anchor.href = url;
  anchor.textContent = url;
}

/**
 * onCreate creates the presentation the form describes and shows its links.
 * @param {SubmitEvent} event
 */
async function onCreate(event) {
  event.preventDefault();
  const title = titleInput.value.trim();
  showError('');
  if (!title) {
    showError('Give your presentation a title first.');
    titleInput.focus();
    return;
  }
  createButton.disabled = true;
  setStatus('Creating your presentation…');
  try {
    const created = await createPresentation(title, {
      moderated: moderatedInput.checked,
      recording: recordingInput.checked,
    });
    setLink(attendeeLink, created.attendee_url);
    setLink(presenterLink, created.presenter_url);
    show(byId('links'), true);
    setStatus(`“${created.title}” is ready.`);
    copyStatus.textContent = '';
  } catch (ex) {
    setStatus('');
    reportError('creating a presentation failed', ex, userMessage(ex));
  } finally {
    createButton.disabled = false;
  }
}

/**
 * onCopy copies the link a Copy button names, or selects it if the clipboard is unavailable.
 * @param {MouseEvent} event
 */
async function onCopy(event) {
  const button = /** @type {HTMLButtonElement} */ (event.currentTarget);
  const anchor = byId(button.dataset.copy || '');
  const what = anchor === attendeeLink ? 'Attendee link' : 'Presenter link';
  try {
    await navigator.clipboard.writeText(anchor.textContent || '');
    copyStatus.textContent = `${what} copied.`;
  } catch (ex) {
    // No clipboard permission (or plain http): select it for a manual copy.
    const range = document.createRange();
    range.selectNodeContents(anchor);
    const selection = window.getSelection();
    if (selection) {
      selection.removeAllRanges();
      selection.addRange(range);
    }
    copyStatus.textContent = `${what} selected: press Ctrl+C (⌘C on a Mac) to copy it.`;
  }
}

form.addEventListener('submit', onCreate);
for (const button of document.querySelectorAll('button[data-copy]')) {
  button.addEventListener('click', (event) => onCopy(/** @type {MouseEvent} */ (event)));
}
titleInput.focus();
