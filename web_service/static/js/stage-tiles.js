// Speakers on stage, beside the presenter: a small tile per speaker with their
// name, their camera if they share one, a "Microphone off" badge, and their
// voice always played. Used by the attendee and the presenter page.

import { speakerName } from './stage-client.js';
import { el } from './ui-kit.js';

/**
 * @typedef {import('./stage-client.js').SpeakerMedia} SpeakerMedia
 * @typedef {import('./stage-client.js').StageSection} StageSection
 */

/**
 * @typedef {object} Tile the elements of one speaker's tile, kept across renders
 * @property {HTMLLIElement} item
 * @property {HTMLVideoElement} video
 * @property {HTMLAudioElement} audio
 * @property {HTMLElement} name
 * @property {HTMLElement} badge
 * @property {MediaStreamTrack|null} videoTrack
 * @property {MediaStreamTrack|null} audioTrack
 */

/**
 * attach plays a track in an element, or empties it; only when it changed, so
 * a re-render never interrupts a voice.
 * @param {HTMLMediaElement} element
 * @param {MediaStreamTrack|null} current
 * @param {MediaStreamTrack|null} wanted
 * @returns {MediaStreamTrack|null}
 */
function attach(element, current, wanted) {
  if (current === wanted) return current;
  element.srcObject = wanted ? new MediaStream([wanted]) : null;
  if (wanted) {
    element.play().catch((ex) => console.warn('Podium: a speaker does not play yet', ex));
  }
  return wanted;
}

/**
 * createStageTiles shows the speakers' tiles in a list inserted after `anchor`.
 * @param {HTMLElement} anchor - the tiles go right after it
 * @param {object} [options]
 * @param {string} [options.label] - the list's accessible name
 * @returns {{onSpeakers: (speakers: SpeakerMedia[]) => void,
 *   onSection: (section: StageSection) => void,
 *   setOwnSlot: (slotIdentity: string) => void,
 *   setVolume: (volume: number, muted: boolean) => void}}
 */
export function createStageTiles(anchor, { label = 'Speakers on stage' } = {}) {
  const list = el('ul', {
    className: 'speaker-tiles',
    attrs: { 'data-testid': 'speaker-tiles', 'aria-label': label, 'aria-live': 'polite' },
  });
  list.hidden = true;
  anchor.after(list);
  /** @type {Map<string, Tile>} */
  const tiles = new Map();
  /** @type {SpeakerMedia[]} */
  let speakers = [];
  /** @type {StageSection|null} */
  let section = null;
  let ownSlot = '';
  let volume = 1;
  let soundMuted = false;

  /**
   * tileFor returns a speaker's tile, made on first use.
   * @param {string} identity
   * @returns {Tile}
   */
  function tileFor(identity) {
    const found = tiles.get(identity);
    if (found) return found;
    const video = el('video', { attrs: { playsinline: '', 'data-testid': 'speaker-video' } });
    video.muted = true;
    video.autoplay = true;
    const audio = el('audio', { attrs: { 'data-testid': 'speaker-audio' } });
    audio.autoplay = true;
    const name = el('span', { className: 'speaker-name', attrs: { 'data-testid': 'speaker-name' } });
    const badge = el('span', {
      className: 'badge',
      text: 'Microphone off',
      attrs: { 'data-testid': 'speaker-badge' },
    });
    const item = el('li', {
      className: 'speaker-tile',
      attrs: { 'data-testid': 'speaker-tile', 'data-identity': identity },
    }, [video, el('div', { className: 'speaker-label' }, [name, badge]), audio]);
    const tile = { item, video, audio, name, badge, videoTrack: null, audioTrack: null };
    tiles.set(identity, tile);
    return tile;
  }

  /** render draws every tile from the media and the stage section. */
  function render() {
    const shown = new Set(speakers.map((s) => s.identity));
    for (const [identity, tile] of tiles) {
      if (shown.has(identity)) continue;
      tile.audio.srcObject = null;
      tile.video.srcObject = null;
      tile.item.remove();
      tiles.delete(identity);
    }
    for (const speaker of speakers) {
      const tile = tileFor(speaker.identity);
      const seat = section && section.speakers.find((s) => s.slot_identity === speaker.identity);
      tile.videoTrack = attach(tile.video, tile.videoTrack,
        speaker.video ? speaker.video.mediaStreamTrack : null);
      // Your own voice would echo back to you: your tile stays silent.
      const own = speaker.identity === ownSlot;
      tile.audioTrack = attach(tile.audio, tile.audioTrack,
        speaker.audio && !own ? speaker.audio.mediaStreamTrack : null);
      tile.audio.volume = volume;
      tile.audio.muted = soundMuted;
      tile.video.hidden = !speaker.video;
      tile.item.classList.toggle('no-video', !speaker.video);
      tile.name.textContent = own
        ? `${speakerName(section, speaker.identity)} (you)`
        : speakerName(section, speaker.identity);
      tile.badge.hidden = speaker.microphoneOn && !(seat && seat.muted) && Boolean(speaker.audio);
      list.append(tile.item); // in slot order
    }
    list.hidden = speakers.length === 0;
  }

  return {
    onSpeakers(media) {
      speakers = media;
      render();
    },
    onSection(next) {
      section = next;
      render();
    },
    setOwnSlot(slotIdentity) {
      ownSlot = slotIdentity;
      render();
    },
    setVolume(level, muted) {
      volume = level;
      soundMuted = muted;
      render();
    },
  };
}
