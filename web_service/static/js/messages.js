// Friendly words for errors, shared by the page scripts. No DOM here.

/**
 * mediaErrorMessage explains a getUserMedia/getDisplayMedia failure by its error.name.
 * @param {any} error
 * @param {'camera'|'microphone'|'camera and microphone'|'screen'} what
 * @returns {string}
 */
export function mediaErrorMessage(error, what) {
  const name = error && error.name;
  if (what === 'screen') {
    if (name === 'NotAllowedError' || name === 'AbortError') {
      return 'Screen sharing was cancelled or blocked. To share, click the share ' +
        'button again and choose a screen, window or tab.';
    }
    if (name === 'NotSupportedError' || name === 'TypeError') {
      return 'This browser cannot share your screen. Use a recent Chrome, Edge, ' +
        'Firefox or Safari on a computer.';
    }
  }
  switch (name) {
    case 'NotAllowedError':
    case 'SecurityError':
      return `Podium may not use your ${what}. Allow it in your browser's site ` +
        'settings (the icon next to the address), then reload the page.';
    case 'NotFoundError':
    case 'OverconstrainedError':
      return `No ${what} was found. Plug one in, or check that it is turned on.`;
    case 'NotReadableError':
    case 'TrackStartError':
      return `Your ${what} is busy or not working. Close other apps that use it ` +
        '(video calls, for instance) and reload the page.';
    case 'AbortError':
      return `Your ${what} stopped unexpectedly. Reload the page to try again.`;
    case 'TypeError':
      return 'This page must be opened over https to use your camera and microphone.';
    default:
      return `Your ${what} could not be started. Reload the page to try again.`;
  }
}

/**
 * userMessage returns what to tell a user about any error.
 * @param {any} error
 * @returns {string}
 */
export function userMessage(error) {
  if (error && typeof error.userMessage === 'string' && error.userMessage) {
    return error.userMessage;
  }
  return 'Something went wrong. Please reload the page and try again.';
}
