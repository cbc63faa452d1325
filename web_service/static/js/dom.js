// Small DOM helpers shared by the page scripts.

/**
 * byId returns the element with an id, and throws if the page lacks it.
 * @template {HTMLElement} T
 * @param {string} id
 * @returns {T}
 */
export function byId(id) {
  const element = document.getElementById(id);
  if (!element) throw new Error(`the page has no element #${id}`);
  return /** @type {T} */ (element);
}

/**
 * show shows or hides an element.
 * @param {HTMLElement} element
 * @param {boolean} visible
 */
export function show(element, visible) {
  element.hidden = !visible;
}

/**
 * showError shows a message in the page's #error box (or hides it for '').
 * @param {string} message
 */
export function showError(message) {
  const box = byId('error');
  box.textContent = message;
  show(box, Boolean(message));
}

/**
 * setStatus sets the page's #status text.
 * @param {string} text
 */
export function setStatus(text) {
  byId('status').textContent = text;
}

/**
 * setAttendeeCount shows how many people watch, from the presentation's state.
 * @param {number} count
 */
export function setAttendeeCount(count) {
  byId('attendee-count').textContent = String(count);
  byId('attendee-count-label').textContent = count === 1 ? 'person watching' : 'people watching';
}

/**
 * reportError logs an error for developers and shows its friendly message to the user.
 * @param {string} context - what was being done, for the console
 * @param {any} error
 * @param {string} message - what the user reads
 */
export function reportError(context, error, message) {
  console.error(`Podium: ${context}`, error);
  showError(message);
}
