// The attendee page in broadcast mode: the HLS player in place of the
// interactive one, with its label, its sound button and its state text.

import { createBroadcastPlayer, playlistUrl } from './broadcast-player.js';
import { byId, show } from './dom.js';

const STATE_TEXT = {
  loading: 'Starting the broadcast…',
  playing: '',
  stalled: 'The broadcast is catching up…',
  blocked: '',
  unsupported: 'This browser cannot play the broadcast. Try a current Chrome, Firefox or Safari.',
};

/**
 * createBroadcastView runs the broadcast player inside the page's stage.
 * @param {object} options
 * @param {string} options.base - where playlists are served (PODIUM_BROADCAST_BASE_URL)
 * @param {(text: string) => void} options.onText - a line for the stage's message
 */
export function createBroadcastView({ base, onText }) {
  const video = /** @type {HTMLVideoElement} */ (byId('broadcast-video'));
  const label = byId('broadcast-label');
  const unmute = /** @type {HTMLButtonElement} */ (byId('broadcast-unmute'));
  let active = false;
  const player = createBroadcastPlayer({
    video,
    onState: (state) => {
      show(unmute, active && state === 'blocked');
      onText(active ? STATE_TEXT[state] : '');
    },
  });
  unmute.addEventListener('click', () => {
    show(unmute, false);
    player.unmute();
  });

  return {
    /** @returns {boolean} whether the page plays the broadcast */
    active: () => active,
    /**
     * start plays the presentation's broadcast.
     * @param {string} playlist - the view's broadcast.playlist
     */
    start(playlist) {
      if (active) return;
      active = true;
      for (const id of ['screen-video', 'camera-video', 'player-controls']) show(byId(id), false);
      show(video, true);
      show(label, true);
      player.start(playlistUrl(base, playlist));
    },
    /** stop leaves broadcast mode (the talk ended, or the page left). */
    stop() {
      if (!active) return;
      active = false;
      player.stop();
      show(video, false);
      show(label, false);
      show(unmute, false);
      onText('');
    },
  };
}
