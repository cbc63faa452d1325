// The attendee page: join, watch the presenter's screen, camera and voice.

import { byId, reportError, setAttendeeCount, setStatus, show, showError } from './dom.js';
import { watchState } from './podium-api.js';
import { watchPresentation } from './presentation-session.js';
import { userMessage } from './messages.js';

/** @typedef {import('./video-client.js').VideoTrack} VideoTrack */

const presentationId = byId('presentation').dataset.presentationId || '';
const joinForm = /** @type {HTMLFormElement} */ (byId('join-form'));
const joinButton = /** @type {HTMLButtonElement} */ (byId('join'));
const nameInput = /** @type {HTMLInputElement} */ (byId('name-input'));
const stage = byId('stage');
const stageMessage = byId('stage-message');
const screenVideo = /** @type {HTMLVideoElement} */ (byId('screen-video'));
const cameraVideo = /** @type {HTMLVideoElement} */ (byId('camera-video'));
const audio = /** @type {HTMLAudioElement} */ (byId('presenter-audio'));
const unmuteButton = /** @type {HTMLButtonElement} */ (byId('unmute'));

/** @type {import('./presentation-session.js').AttendeeSession|null} */
let session = null;
let joining = false;
let over = false;
/** @type {string} the presentation's status from the state stream */
let stateStatus = '';
/** @type {Map<HTMLMediaElement, VideoTrack>} the track each element plays */
const playing = new Map();
const reconnecting = { video: false, state: false };

/**
 * updateBanner shows "Reconnecting…" while the video or the state stream is down.
 */
function updateBanner() {
  show(byId('reconnecting'), !over && (reconnecting.video || reconnecting.state));
}

/**
 * updateStatus tells the attendee what is happening.
 */
function updateStatus() {
  const hasScreen = playing.has(screenVideo);
  if (over) setStatus('The presentation is over.');
  else if (joining) setStatus('Joining…');
  else if (!session && stateStatus === 'live') setStatus('The presentation is live. Join to watch.');
  else if (!session) {
    setStatus('The presenter has not started yet. Join now and the talk plays as soon as they do.');
  } else if (hasScreen) setStatus('Live'); // the state stream may lag the video a little
  else if (stateStatus === 'live') setStatus('Connecting to the presenter…');
  else setStatus('Waiting for the presenter');
  stageMessage.textContent = stateStatus === 'live'
    ? 'Connecting to the presenter…'
    : 'Waiting for the presenter…';
  show(stageMessage, !hasScreen);
  show(joinForm, !session && !over);
  joinButton.disabled = joining || over;
}

/**
 * play plays a track in a media element (or empties it for null).
 * @param {HTMLMediaElement} element
 * @param {VideoTrack|null} track - the presenter's track, or null to stop
 */
function play(element, track) {
  const previous = playing.get(element);
  if (previous && typeof previous.detach === 'function') previous.detach(element);
  element.srcObject = null;
  playing.delete(element);
  if (track) {
    if (typeof track.attach === 'function') track.attach(element);
    else element.srcObject = new MediaStream([track.mediaStreamTrack]);
    playing.set(element, track);
    const started = element.play();
    if (started) {
      started.catch((/** @type {any} */ ex) => {
        // Autoplay rules block sound until the user interacts with the page.
        if (element === audio && ex && ex.name === 'NotAllowedError') show(unmuteButton, true);
      });
    }
  } else if (element === audio) {
    show(unmuteButton, false);
  }
  show(cameraVideo, playing.has(cameraVideo));
  updateStatus();
}

/**
 * showOver switches the page to "The presentation is over".
 */
function showOver() {
  over = true;
  show(byId('over'), true);
  show(stage, false);
  show(unmuteButton, false);
  if (session) session.leave();
  updateBanner();
  updateStatus();
}

/**
 * onDisconnected handles the end of the video connection.
 * @param {{over: boolean, error?: any, message?: string}} end
 */
function onDisconnected(end) {
  session = null;
  reconnecting.video = false;
  updateBanner();
  if (end.over) {
    showOver();
    return;
  }
  if (end.error) {
    reportError('the video connection ended', end.error, `${end.message} You can join again.`);
  }
  show(stage, false);
  updateStatus();
}

/**
 * onJoin joins the presentation as an attendee.
 * @param {SubmitEvent} event
 */
async function onJoin(event) {
  event.preventDefault();
  if (joining || session || over) return;
  joining = true;
  showError('');
  updateStatus();
  try {
    session = await watchPresentation({
      presentationId,
      name: nameInput.value.trim() || undefined,
      onScreenTrack: (track) => play(screenVideo, track),
      onCameraTrack: (track) => play(cameraVideo, track),
      onAudioTrack: (track) => play(audio, track),
      onReconnecting: () => {
        reconnecting.video = true;
        updateBanner();
      },
      onReconnected: () => {
        reconnecting.video = false;
        updateBanner();
      },
      onDisconnected,
    });
    show(stage, true);
  } catch (ex) {
    if (ex && /** @type {any} */ (ex).status === 410) showOver();
    else reportError('could not join', ex, userMessage(ex));
  } finally {
    joining = false;
    updateStatus();
  }
}

joinForm.addEventListener('submit', onJoin);
unmuteButton.addEventListener('click', async () => {
  try {
    await audio.play();
    show(unmuteButton, false);
  } catch (ex) {
    reportError('could not play the sound', ex, 'The sound could not start. Reload the page.');
  }
});

watchState(presentationId, {
  onState: (view) => {
    stateStatus = view.status;
    setAttendeeCount(view.attendees.count);
    if (view.status === 'ended' && !over) showOver();
    else updateStatus();
  },
  onConnection: (state) => {
    reconnecting.state = state === 'reconnecting';
    updateBanner();
    if (state === 'gone') showError('This presentation does not exist any more.');
  },
});
updateStatus();
