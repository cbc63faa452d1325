// The attendee's picture quality: a small connection indicator and the menu
// Auto / High / Data saver. Thin wiring over link-report.js (the protocol): the local
// backend's Room reports `linkQuality` and takes setQuality(mode); twilio-video's
// Room reports its network quality level (its own layers follow its bandwidth
// profile, so there is no menu there).

import { show } from './dom.js';
import {
  MODE_LABELS,
  QUALITY_MODES,
  qualityFromNetworkLevel,
  qualityLabel,
} from './link-report.js';

/**
 * createQualityMenu runs the indicator and the menu.
 * @param {object} elements
 * @param {HTMLElement} elements.indicator - shows the connection quality
 * @param {HTMLSelectElement} elements.select - Auto / High / Data saver
 * @param {HTMLElement} elements.box - what to hide when there is no room
 */
export function createQualityMenu({ indicator, select, box }) {
  /** @type {any} */
  let room = null;
  /** @type {'good'|'fair'|'poor'|'unknown'} */
  let quality = 'unknown';
  let mode = 'auto';

  select.replaceChildren(
    ...QUALITY_MODES.map((value) => {
      const option = document.createElement('option');
      option.value = value;
      option.textContent = MODE_LABELS[/** @type {keyof typeof MODE_LABELS} */ (value)];
      return option;
    }),
  );

  function render() {
    indicator.textContent = qualityLabel(quality, mode);
    indicator.dataset.quality = quality;
    select.value = mode;
  }

  /** @param {'good'|'fair'|'poor'|'unknown'} value */
  const onQuality = (value) => {
    quality = value;
    render();
  };
  /** @param {number} level */
  const onLevel = (level) => onQuality(qualityFromNetworkLevel(level));

  select.addEventListener('change', () => {
    if (!room || typeof room.setQuality !== 'function') return;
    mode = select.value;
    room.setQuality(mode);
    render();
  });

  return {
    /**
     * connect follows a joined room (null: none any more).
     * @param {any} joined - a twilio-video or local-video Room
     */
    connect(joined) {
      if (room) {
        room.off?.('linkQuality', onQuality);
        room.localParticipant?.off?.('networkQualityLevelChanged', onLevel);
      }
      room = joined;
      quality = 'unknown';
      const local = Boolean(room && typeof room.setQuality === 'function');
      if (local) {
        room.on('linkQuality', onQuality);
        // The server forgets nothing the page chose while it stays joined.
        if (mode !== 'auto') room.setQuality(mode);
      } else if (room && room.localParticipant) {
        room.localParticipant.on?.('networkQualityLevelChanged', onLevel);
        onLevel(room.localParticipant.networkQualityLevel);
      }
      show(select.parentElement || select, local);
      show(box, Boolean(room));
      render();
    },
  };
}
