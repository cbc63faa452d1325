// The attendee's player: the presenter's screen, camera and sound in the stage,
// the presenter's state as badges, and the viewer's own controls (fullscreen,
// swap, hide camera, volume, mute, "Click to turn on sound").

import { byId, show } from './dom.js';

/** @typedef {import('./video-client.js').VideoTrack} VideoTrack */
/** @typedef {'screen'|'camera'|'audio'|'screenAudio'} Slot */

/**
 * @typedef {object} PresenterTrackState a presenter track in the room state
 * @property {string} kind
 * @property {string} name
 * @property {boolean} enabled
 */

/**
 * presenterBadges says what is off at the presenter, from the room state's tracks.
 * A track that is missing counts as off: the presenter stopped sharing, has no
 * microphone, or turned the camera off before going live.
 * @param {PresenterTrackState[]} tracks
 * @returns {string[]}
 */
export function presenterBadges(tracks) {
  /**
   * @param {string} name
   * @returns {boolean}
   */
  const on = (name) => tracks.some((t) => t.name === name && t.enabled);
  const badges = [];
  if (!on('microphone')) badges.push('Microphone off');
  if (!on('camera')) badges.push('Camera off');
  if (!on('screen')) badges.push('Screen sharing paused');
  return badges;
}

/**
 * createPlayer runs the attendee's stage.
 * @param {object} options
 * @param {() => void} options.onChange - what plays changed (update the status)
 */
export function createPlayer({ onChange }) {
  const player = byId('player');
  const screenVideo = /** @type {HTMLVideoElement} */ (byId('screen-video'));
  const cameraVideo = /** @type {HTMLVideoElement} */ (byId('camera-video'));
  const voice = /** @type {HTMLAudioElement} */ (byId('presenter-audio'));
  const screenAudio = /** @type {HTMLAudioElement} */ (byId('screen-audio'));
  const unmuteButton = /** @type {HTMLButtonElement} */ (byId('unmute'));
  const soundToggle = /** @type {HTMLButtonElement} */ (byId('sound-toggle'));
  const volume = /** @type {HTMLInputElement} */ (byId('volume'));
  const swapButton = /** @type {HTMLButtonElement} */ (byId('swap'));
  const hideButton = /** @type {HTMLButtonElement} */ (byId('camera-hide'));
  const fullscreenButton = /** @type {HTMLButtonElement} */ (byId('fullscreen'));
  const badgeList = byId('presenter-badges');
  /** @type {Record<Slot, HTMLMediaElement>} */
  const elements = { screen: screenVideo, camera: cameraVideo, audio: voice, screenAudio };
  const audios = [voice, screenAudio];

  /** @type {Map<HTMLMediaElement, VideoTrack>} the track each element plays */
  const playing = new Map();
  let swapped = false;
  let cameraHidden = false;
  let soundMuted = false;
  let blocked = false; // the browser refused to play sound before a click
  /** @type {{live: boolean, tracks: PresenterTrackState[]}} from the room state */
  let presenter = { live: false, tracks: [] };

  /**
   * enabledInState tells whether the room state says a presenter track is on.
   * @param {string} name
   * @returns {boolean}
   */
  function enabledInState(name) {
    const track = presenter.tracks.find((t) => t.name === name);
    return !track || track.enabled; // unknown yet: trust the media
  }

  /**
   * layout puts the screen or the camera large, the other small, as chosen.
   */
  function layout() {
    const hasScreen = playing.has(screenVideo) && enabledInState('screen');
    const hasCamera = playing.has(cameraVideo) && enabledInState('camera');
    // No screen: the camera large. Swapped: the camera large, the screen small.
    const cameraMain = hasCamera && (!hasScreen || swapped);
    screenVideo.className = cameraMain ? 'pip' : 'main-video';
    cameraVideo.className = cameraMain ? 'main-video' : 'pip';
    show(screenVideo, hasScreen && !(cameraMain && cameraHidden));
    show(cameraVideo, hasCamera && (cameraMain || !cameraHidden));
    swapButton.disabled = !(hasScreen && hasCamera);
    swapButton.setAttribute('aria-pressed', String(swapped));
    hideButton.disabled = !hasCamera || !hasScreen;
    hideButton.textContent = cameraHidden ? 'Show camera' : 'Hide camera';
    hideButton.setAttribute('aria-pressed', String(cameraHidden));
    soundToggle.textContent = soundMuted ? 'Unmute sound' : 'Mute sound';
    soundToggle.setAttribute('aria-pressed', String(soundMuted));
    show(unmuteButton, blocked && playing.has(voice));
    const inFullscreen = document.fullscreenElement === player;
    fullscreenButton.textContent = inFullscreen ? 'Exit fullscreen' : 'Fullscreen';
    fullscreenButton.setAttribute('aria-pressed', String(inFullscreen));
    fullscreenButton.disabled = !document.fullscreenEnabled;
    const badges = presenter.live ? presenterBadges(presenter.tracks) : [];
    badgeList.replaceChildren(
      ...badges.map((text) => {
        const item = document.createElement('li');
        item.className = 'badge';
        item.dataset.testid = 'presenter-badge';
        item.textContent = text;
        return item;
      }),
    );
  }

  /**
   * startPlaying plays an element and notices when autoplay rules block sound.
   * @param {HTMLMediaElement} element
   */
  function startPlaying(element) {
    const started = element.play();
    if (!started) return;
    started.then(() => {
      if (audios.includes(element) && blocked) {
        blocked = false;
        layout();
      }
    }, (/** @type {any} */ ex) => {
      // Autoplay rules block sound until the user interacts with the page.
      if (audios.includes(element) && ex && ex.name === 'NotAllowedError') {
        blocked = true;
        layout();
      }
    });
  }

  volume.addEventListener('input', () => {
    for (const element of audios) element.volume = Number(volume.value);
    if (Number(volume.value) > 0 && soundMuted) {
      soundMuted = false;
      for (const element of audios) element.muted = false;
    }
    layout();
  });
  soundToggle.addEventListener('click', () => {
    soundMuted = !soundMuted;
    for (const element of audios) element.muted = soundMuted;
    if (!soundMuted) for (const element of audios) if (playing.has(element)) startPlaying(element);
    layout();
  });
  unmuteButton.addEventListener('click', () => {
    blocked = false;
    for (const element of audios) if (playing.has(element)) startPlaying(element);
    layout();
  });
  swapButton.addEventListener('click', () => {
    swapped = !swapped;
    layout();
  });
  hideButton.addEventListener('click', () => {
    cameraHidden = !cameraHidden;
    layout();
  });
  fullscreenButton.addEventListener('click', () => {
    const request = document.fullscreenElement === player
      ? document.exitFullscreen()
      : player.requestFullscreen();
    request.catch((ex) => console.warn('Podium: fullscreen refused', ex));
  });
  document.addEventListener('fullscreenchange', layout);
  layout();

  return {
    /**
     * play plays a presenter track in its slot (null empties the slot).
     * @param {Slot} slot
     * @param {VideoTrack|null} track
     */
    play(slot, track) {
      const element = elements[slot];
      const previous = playing.get(element);
      if (previous && typeof previous.detach === 'function') previous.detach(element);
      element.srcObject = null;
      playing.delete(element);
      if (track) {
        if (typeof track.attach === 'function') track.attach(element);
        else element.srcObject = new MediaStream([track.mediaStreamTrack]);
        playing.set(element, track);
        startPlaying(element);
      }
      layout();
      onChange();
    },
    /**
     * onPresenter takes the presenter's part of the room state.
     * @param {{connected: boolean, tracks: PresenterTrackState[]}} state
     */
    onPresenter(state) {
      presenter = { live: state.connected, tracks: state.tracks };
      layout();
      onChange();
    },
    /** @returns {boolean} whether something of the presenter is shown large */
    showing: () => !screenVideo.hidden || !cameraVideo.hidden,
    /** @returns {boolean} whether the presenter's screen plays */
    hasScreen: () => playing.has(screenVideo),
    /**
     * setVisible shows or hides the player.
     * @param {boolean} visible
     */
    setVisible(visible) {
      show(player, visible);
    },
  };
}
