// The presenter's broadcast switch: also stream the talk as HLS, for audiences
// larger than the interactive room. The switch shows the state the server
// confirms (the state stream), never what was merely clicked.

import { presentationPath, request } from './podium-api.js';
import { byId, show } from './dom.js';

/**
 * broadcastApi is the presenter's side of `/api/presentations/{id}/broadcast`.
 * @param {string} presentationId
 * @param {string} key - the presenter key
 */
export function broadcastApi(presentationId, key) {
  const url = `${presentationPath(presentationId)}/broadcast`;
  const authorization = `Presenter ${key}`;
  return {
    /**
     * set turns the broadcast on or off.
     * @param {boolean} on
     * @returns {Promise<{broadcast: boolean}>}
     */
    set: (on) => request('PUT', url, { body: { broadcast: on }, authorization }),
  };
}

/**
 * createBroadcastControl wires the switch under the presenter's controls.
 * @param {object} options
 * @param {ReturnType<typeof broadcastApi>} options.api
 * @param {import('./ui-kit.js').MessageLine} options.messages
 * @param {boolean} options.available - only the local backend broadcasts
 */
export function createBroadcastControl({ api, messages, available }) {
  const box = byId('broadcast-control');
  const toggle = /** @type {HTMLInputElement} */ (byId('broadcast-switch'));
  const status = byId('broadcast-status');
  let on = false;
  let busy = false;
  show(box, available);

  /** render shows the confirmed state. */
  function render() {
    toggle.checked = on;
    toggle.disabled = busy;
    status.textContent = on
      ? 'Broadcasting: attendees who join now, or find the room full, watch the ' +
        'stream, a few seconds behind.'
      : 'Off: everyone watches in real time, up to the room\u2019s size.';
  }

  toggle.addEventListener('change', async () => {
    const wanted = toggle.checked;
    busy = true;
    render();
    try {
      on = (await api.set(wanted)).broadcast;
      messages.say(on ? 'Broadcast on.' : 'Broadcast off.');
    } catch (ex) {
      messages.fail('changing the broadcast failed', ex);
    } finally {
      busy = false;
      render();
    }
  });
  render();

  return {
    /**
     * onState follows the presentation's state.
     * @param {{on: boolean}|undefined} broadcast
     */
    onState(broadcast) {
      if (!broadcast || busy) return;
      on = broadcast.on;
      render();
    },
  };
}
