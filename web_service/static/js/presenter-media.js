// The presenter's camera, microphone and screen on the page: device choice, level
// meter, mute and camera toggles, the "you are muted" hint and the small view of
// what attendees see. Before going live it keeps the choices; once live it drives
// the PresenterSession (presentation-session.js) with them.

import { byId, reportError, show, showError } from './dom.js';
import { watchLevel } from './level-meter.js';
import { listDevices, openCameraAndMicrophone, openDevice } from './media-devices.js';
import { mediaErrorMessage, userMessage } from './messages.js';
import { getScreen } from './presentation-session.js';

/** @typedef {import('./presentation-session.js').PresenterSession} PresenterSession */

// Speech comes in syllables with gaps: a few loud samples within a short window,
// not one long loud stretch, mean the presenter is talking while muted.
const SPEAKING_LEVEL = 0.05; // well above a quiet room after noise suppression
const SPEAKING_WINDOW_MS = 1500;
const SPEAKING_SAMPLES = 3;
const HINT_HOLD_MS = 3000;

/**
 * createPresenterMedia runs the presenter's media controls.
 * @param {object} options
 * @param {() => void} options.onChange - readiness or sharing changed (update the status)
 */
export function createPresenterMedia({ onChange }) {
  const preview = /** @type {HTMLVideoElement} */ (byId('preview-video'));
  const cameraSelect = /** @type {HTMLSelectElement} */ (byId('camera-select'));
  const microphoneSelect = /** @type {HTMLSelectElement} */ (byId('microphone-select'));
  const meter = /** @type {HTMLMeterElement} */ (byId('mic-level'));
  const micToggle = /** @type {HTMLButtonElement} */ (byId('mic-toggle'));
  const cameraToggle = /** @type {HTMLButtonElement} */ (byId('camera-toggle'));
  const mutedHint = byId('muted-hint');
  const shareButton = /** @type {HTMLButtonElement} */ (byId('share-screen'));
  const shareStop = /** @type {HTMLButtonElement} */ (byId('share-stop'));
  const viewScreen = /** @type {HTMLVideoElement} */ (byId('view-screen'));
  const viewCamera = /** @type {HTMLVideoElement} */ (byId('view-camera'));
  const viewMessage = byId('view-message');

  /** @type {MediaStreamTrack|null} */
  let camera = null;
  /** @type {MediaStreamTrack|null} */
  let microphone = null;
  let microphoneEnabled = true;
  let cameraEnabled = true;
  /** @type {MediaStream|null} the screen chosen before going live */
  let screenStream = null;
  /** @type {MediaStreamTrack|null} what is shared now (live) or previewed */
  let screen = null;
  /** @type {PresenterSession|null} */
  let session = null;
  let ready = false;
  let busy = false;
  /** @type {import('./level-meter.js').LevelMeter|null} */
  let level = null;
  /** @type {number[]} times of recent loud samples while muted */
  let loud = [];
  let hintUntil = 0;

  /**
   * render shows the toggles, the preview and what attendees see.
   */
  function render() {
    micToggle.textContent = microphoneEnabled ? 'Mute microphone' : 'Unmute microphone';
    micToggle.setAttribute('aria-pressed', String(!microphoneEnabled));
    micToggle.disabled = !microphone;
    cameraToggle.textContent = cameraEnabled ? 'Turn camera off' : 'Turn camera on';
    cameraToggle.setAttribute('aria-pressed', String(!cameraEnabled));
    cameraToggle.disabled = !camera;
    show(preview, Boolean(camera));
    show(byId('preview-off'), Boolean(camera) && !cameraEnabled);
    shareButton.textContent = session
      ? (screen ? 'Share another screen' : 'Share screen')
      : (screen ? 'Choose another screen' : 'Choose screen');
    shareButton.disabled = busy;
    show(shareStop, Boolean(session && screen));
    if (!microphoneEnabled || !microphone) show(mutedHint, Date.now() < hintUntil);
    else show(mutedHint, false);

    // What attendees see: the screen large and the camera small; no screen: the camera large.
    const cameraShown = Boolean(camera && cameraEnabled);
    const main = screen || (cameraShown ? camera : null);
    setSource(viewScreen, main);
    setSource(viewCamera, screen && cameraShown ? camera : null);
    show(viewCamera, Boolean(screen && cameraShown));
    viewScreen.classList.toggle('mirrored', !screen && main === camera);
    show(viewMessage, !main);
    viewMessage.textContent = session
      ? 'Your camera is off and nothing is shared: attendees hear you only.'
      : 'Choose a screen to see it here.';
  }

  /**
   * setSource plays a track in a video element (only when it changes: no flicker).
   * @param {HTMLVideoElement} element
   * @param {MediaStreamTrack|null} track
   */
  function setSource(element, track) {
    const current = element.srcObject instanceof MediaStream
      ? element.srcObject.getTracks()[0] : null;
    if (current === track) return;
    element.srcObject = track ? new MediaStream([track]) : null;
  }

  /**
   * onLevel shows the microphone level and notices talking while muted.
   * @param {number} value
   */
  function onLevel(value) {
    meter.value = value;
    const now = Date.now();
    if (microphoneEnabled) {
      loud = [];
    } else if (value >= SPEAKING_LEVEL) {
      loud = [...loud.filter((at) => now - at < SPEAKING_WINDOW_MS), now];
      if (loud.length >= SPEAKING_SAMPLES) hintUntil = now + HINT_HOLD_MS;
    }
    const shown = !mutedHint.hidden;
    const wanted = !microphoneEnabled && now < hintUntil;
    if (shown !== wanted) show(mutedHint, wanted);
  }

  /**
   * listen points the level meter at the current microphone.
   */
  function listen() {
    if (level) level.stop();
    level = microphone ? watchLevel(microphone, onLevel) : null;
    if (!microphone) meter.value = 0;
  }

  /**
   * fillSelect lists devices in a select, the current one selected.
   * @param {HTMLSelectElement} select
   * @param {import('./media-devices.js').DeviceChoice[]} choices
   * @param {MediaStreamTrack|null} current
   * @param {string} noun
   */
  function fillSelect(select, choices, current, noun) {
    const currentId = current ? current.getSettings().deviceId : '';
    select.replaceChildren(
      ...choices.map((choice, index) => {
        const option = document.createElement('option');
        option.value = choice.deviceId;
        option.textContent = choice.label || `${noun} ${index + 1}`;
        option.selected = choice.deviceId === currentId;
        return option;
      }),
    );
    if (!choices.length) {
      const option = document.createElement('option');
      option.textContent = `No ${noun.toLowerCase()} found`;
      select.append(option);
    }
    select.disabled = choices.length < 2;
  }

  /**
   * refreshDevices lists the cameras and microphones (labels come after permission).
   */
  async function refreshDevices() {
    try {
      const { cameras, microphones } = await listDevices();
      fillSelect(cameraSelect, cameras, camera, 'Camera');
      fillSelect(microphoneSelect, microphones, microphone, 'Microphone');
    } catch (ex) {
      console.warn('Podium: could not list devices', ex);
    }
  }

  /**
   * choose switches to another camera or microphone, live or not.
   * @param {'video'|'audio'} kind
   * @param {string} deviceId
   */
  async function choose(kind, deviceId) {
    const what = kind === 'video' ? 'camera' : 'microphone';
    let track;
    try {
      track = await openDevice(kind, deviceId);
    } catch (ex) {
      reportError(`could not switch the ${what}`, ex, mediaErrorMessage(ex, what));
      await refreshDevices(); // show the one still in use
      return;
    }
    track.enabled = kind === 'video' ? cameraEnabled : microphoneEnabled;
    const old = kind === 'video' ? camera : microphone;
    try {
      if (session) {
        await (kind === 'video' ? session.useCamera(track) : session.useMicrophone(track));
      }
    } catch (ex) {
      track.stop();
      reportError(`could not switch the ${what}`, ex, userMessage(ex));
      return;
    }
    if (kind === 'video') {
      camera = track;
      preview.srcObject = new MediaStream([track]);
    } else {
      microphone = track;
      listen();
    }
    if (old) old.stop();
    showError('');
    render();
  }

  /**
   * onShare chooses (before live) or shares (live) a screen; runs in the click.
   */
  async function onShare() {
    if (busy) return;
    busy = true;
    render();
    try {
      if (session) {
        screen = await session.shareScreen();
      } else {
        const stream = await getScreen();
        if (screenStream) for (const track of screenStream.getTracks()) track.stop();
        screenStream = stream;
        screen = stream.getVideoTracks()[0];
        screen.addEventListener('ended', () => {
          if (screenStream === stream && !session) {
            screenStream = null;
            screen = null;
            render();
          }
        });
      }
      showError('');
    } catch (ex) {
      const message = /** @type {any} */ (ex).userMessage || mediaErrorMessage(ex, 'screen');
      reportError('could not share the screen', ex, message);
    } finally {
      busy = false;
      render();
      onChange();
    }
  }

  /**
   * onStopShare stops sharing the screen; the presenter stays live on camera.
   */
  async function onStopShare() {
    if (!session) return;
    try {
      await session.stopScreen();
    } catch (ex) {
      reportError('could not stop sharing', ex, userMessage(ex));
    }
  }

  micToggle.addEventListener('click', () => {
    microphoneEnabled = !microphoneEnabled;
    if (microphone) microphone.enabled = microphoneEnabled;
    if (session) session.setMicrophoneEnabled(microphoneEnabled);
    if (microphoneEnabled) hintUntil = 0;
    render();
  });
  cameraToggle.addEventListener('click', () => {
    cameraEnabled = !cameraEnabled;
    if (camera) camera.enabled = cameraEnabled;
    if (session) session.setCameraEnabled(cameraEnabled);
    render();
  });
  cameraSelect.addEventListener('change', () => choose('video', cameraSelect.value));
  microphoneSelect.addEventListener('change', () => choose('audio', microphoneSelect.value));
  shareButton.addEventListener('click', onShare);
  shareStop.addEventListener('click', onStopShare);
  navigator.mediaDevices?.addEventListener?.('devicechange', refreshDevices);

  return {
    /**
     * start opens the camera and microphone; presenting works without them.
     * @returns {Promise<void>}
     */
    async start() {
      const opened = await openCameraAndMicrophone();
      camera = opened.camera;
      microphone = opened.microphone;
      const { failures } = opened;
      if (failures.camera || failures.microphone) {
        const what = !camera && !microphone ? 'camera and microphone'
          : !camera ? 'camera' : 'microphone';
        const failure = failures.camera || failures.microphone;
        const hint = !microphone
          ? ' You can still present; attendees will not hear you until you fix it and reload.'
          : ' You can still present your screen without it.';
        reportError(`could not start the ${what}`, failure,
          `${mediaErrorMessage(failure, what)}${hint}`);
      }
      if (camera) preview.srcObject = new MediaStream([camera]);
      listen();
      await refreshDevices();
      ready = true;
      render();
      onChange();
    },
    /** @returns {boolean} whether the devices were tried (the page may go live) */
    ready: () => ready,
    /**
     * choices returns what to go live with.
     * @returns {{camera: MediaStreamTrack|null, microphone: MediaStreamTrack|null,
     *   cameraEnabled: boolean, microphoneEnabled: boolean, screenStream: MediaStream|null}}
     */
    choices: () => ({ camera, microphone, cameraEnabled, microphoneEnabled, screenStream }),
    /**
     * attach hands the controls to a live session (null: not live any more).
     * @param {PresenterSession|null} live
     */
    attach(live) {
      session = live;
      screenStream = null; // the session owns the shared screen now
      screen = live ? live.screenTrack() : null;
      render();
    },
    /**
     * onScreen records what the session shares now.
     * @param {MediaStreamTrack|null} track
     */
    onScreen(track) {
      screen = track;
      render();
      onChange();
    },
    /** @returns {boolean} whether a screen is shared (live) or chosen (before) */
    sharing: () => Boolean(screen),
    /** release turns the camera, microphone and screen off. */
    release() {
      for (const track of [camera, microphone]) if (track) track.stop();
      if (screenStream) for (const track of screenStream.getTracks()) track.stop();
      if (level) level.stop();
      level = null;
      preview.srcObject = null;
      screen = null;
      session = null;
      render();
    },
  };
}
