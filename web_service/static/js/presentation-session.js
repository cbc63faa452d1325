// The presenter's and the attendee's session lifecycles: token, room, tracks,
// subscribe rules, reconnection and the end. Events go out as onX callbacks;
// no DOM here (page scripts own it).

import { endPresentation, requestToken, setSubscribeRules } from './podium-api.js';
import { connectVideo, ROOM_COMPLETED, videoErrorMessage, withUserMessage } from './video-client.js';
import { mediaErrorMessage } from './messages.js';
import { withRetries } from './retry.js';

/**
 * @typedef {import('./video-client.js').VideoRoom} VideoRoom
 * @typedef {import('./video-client.js').VideoTrack} VideoTrack
 * @typedef {import('./video-client.js').VideoParticipant} VideoParticipant
 * @typedef {import('./video-client.js').VideoTrackPublication} VideoTrackPublication
 */

export const PRESENTER_IDENTITY = 'presenter';
export const TRACK_NAMES = Object.freeze({
  screen: 'screen',
  screenAudio: 'screen-audio',
  camera: 'camera',
  microphone: 'microphone',
});
const SUBSCRIBE_RULES_ATTEMPTS = 4;
// audio: true lets Chrome and Edge offer "Share tab audio"; other browsers give none.
const SCREEN_CONSTRAINTS = { video: { frameRate: { ideal: 15, max: 30 } }, audio: true };

/**
 * @typedef {'stopped'|'screen-ended'|'ended'|'left'|'error'} EndReason
 * stopped: the presenter clicked Stop; screen-ended: the browser's "Stop sharing";
 * ended: the room was completed (the presentation is over); left: this page
 * disconnected (it is being closed); error: see `error`.
 */

/**
 * @typedef {object} PresenterSession
 * @property {VideoRoom} room
 * @property {() => MediaStreamTrack|null} screenTrack - what is shared now, if anything
 * @property {(enabled: boolean) => void} setMicrophoneEnabled - unmute (true) or mute
 * @property {(enabled: boolean) => void} setCameraEnabled - camera on (true) or off
 * @property {(stream?: MediaStream) => Promise<MediaStreamTrack>} shareScreen - share
 *   (another) screen, window or tab; call it from a click. Attendees keep watching.
 * @property {() => Promise<void>} stopScreen - stop sharing, stay live on camera
 * @property {(track: MediaStreamTrack) => Promise<void>} useCamera - another camera
 * @property {(track: MediaStreamTrack) => Promise<void>} useMicrophone - another microphone
 * @property {() => Promise<void>} stop - end the presentation for everyone
 * @property {() => void} disconnect - leave without ending (the presenter can come back)
 */

/**
 * @typedef {object} PublishedTrack what Podium uses of a twilio-video LocalTrackPublication
 * @property {{enable: (enabled?: boolean) => unknown, mediaStreamTrack: MediaStreamTrack}} track
 * @property {(track: MediaStreamTrack) => Promise<void>} [replaceTrack] - local-video only
 */

/**
 * noop does nothing; it stands in for callbacks the caller did not pass.
 * @returns {void}
 */
function noop() {}

/**
 * isRetryable tells whether a failed subscribe-rules call is worth repeating.
 * @param {any} error
 * @returns {boolean}
 */
function isRetryable(error) {
  const status = error && error.status;
  return status === 0 || status === 404 || status === 409 || status === 429 || status >= 500;
}

/**
 * applySubscribeRules sets the caller's subscribe rules, retrying while the
 * video service may not know the just-connected participant yet.
 * @param {string} presentationId
 * @param {string} token
 * @returns {Promise<void>}
 */
async function applySubscribeRules(presentationId, token) {
  // A 429 says when (Retry-After): retries wait that long plus jitter, so the
  // audience of a starting talk does not come back all at once.
  await withRetries(() => setSubscribeRules(presentationId, token), {
    attempts: SUBSCRIBE_RULES_ATTEMPTS,
    isRetryable,
  });
}

/**
 * getScreen asks the browser for the screen to share; call it from a click.
 * @returns {Promise<MediaStream>}
 */
export function getScreen() {
  const devices = navigator.mediaDevices;
  if (!devices || typeof devices.getDisplayMedia !== 'function') {
    const error = new Error('getDisplayMedia is not available');
    error.name = 'NotSupportedError';
    return Promise.reject(error);
  }
  return devices.getDisplayMedia(SCREEN_CONSTRAINTS);
}

/**
 * startPresenting shares the screen, camera and microphone in the presentation's room.
 *
 * Call it straight from a click handler: it asks for the screen before anything
 * else, because browsers only allow screen sharing in response to a user gesture.
 * @param {object} options
 * @param {string} options.presentationId
 * @param {string} options.key - the presenter key
 * @param {MediaStreamTrack|null} [options.cameraTrack] - published as "camera"
 * @param {MediaStreamTrack|null} [options.microphoneTrack] - published as "microphone"
 * @param {MediaStream} [options.screenStream] - if the page already got the screen
 * @param {boolean} [options.microphoneEnabled] - false: go live muted
 * @param {boolean} [options.cameraEnabled] - false: go live with the camera off
 * @param {(track: MediaStreamTrack|null) => void} [options.onScreen] - shared screen changed
 * @param {(error: any) => void} [options.onReconnecting]
 * @param {() => void} [options.onReconnected]
 * @param {(end: {reason: EndReason, error?: any}) => void} [options.onEnded]
 * @returns {Promise<PresenterSession>} once live; rejects with an Error carrying userMessage
 */
export async function startPresenting(options) {
  const { presentationId, key, cameraTrack = null, microphoneTrack = null } = options;
  const onReconnecting = options.onReconnecting || noop;
  const onReconnected = options.onReconnected || noop;
  const onEnded = options.onEnded || noop;
  const onScreen = options.onScreen || noop;

  const screenRequest = options.screenStream ? Promise.resolve(options.screenStream) : getScreen();
  let screenStream;
  try {
    screenStream = await screenRequest;
  } catch (ex) {
    /** @type {any} */ (ex).userMessage = mediaErrorMessage(ex, 'screen');
    throw ex;
  }
  /** @type {MediaStream|null} */
  let shared = screenStream;
  prepareScreen(screenStream);
  // Muted before publishing: not one packet of a muted microphone leaves.
  if (microphoneTrack) microphoneTrack.enabled = options.microphoneEnabled !== false;
  if (cameraTrack) cameraTrack.enabled = options.cameraEnabled !== false;

  /** @type {VideoRoom|null} */
  let room = null;
  let tokenResponse;
  /** @type {Record<string, PublishedTrack>} by track name */
  const published = {};
  /**
   * publish publishes one track under a name and keeps its publication.
   * @param {VideoRoom} into
   * @param {MediaStreamTrack} track
   * @param {string} name
   * @returns {Promise<void>}
   */
  async function publish(into, track, name) {
    const priority = name === TRACK_NAMES.screen ? 'high' : undefined;
    const publication = /** @type {PublishedTrack} */ (
      await into.localParticipant.publishTrack(track, { name, priority })
    );
    published[name] = publication;
    // twilio-video's LocalTrack starts enabled whatever the capture says.
    publication.track.enable(track.enabled);
  }
  try {
    tokenResponse = await requestToken(presentationId, { role: 'presenter', key });
    room = await connectVideo(tokenResponse, { tracks: [], automaticSubscription: false });
    const connected = room;
    const publishing = screenTracks(screenStream).map(([track, name]) =>
      publish(connected, track, name),
    );
    if (cameraTrack) publishing.push(publish(connected, cameraTrack, TRACK_NAMES.camera));
    if (microphoneTrack) {
      publishing.push(publish(connected, microphoneTrack, TRACK_NAMES.microphone));
    }
    await Promise.all(publishing);
  } catch (ex) {
    stopStream(screenStream);
    if (room) room.disconnect();
    throw withUserMessage(ex);
  }
  // The presenter subscribes to nothing anyway (automaticSubscription: false):
  // the server's exclude-all rule only makes that explicit, so a failure is not fatal.
  applySubscribeRules(presentationId, tokenResponse.token).catch((ex) => {
    console.warn('Podium: could not set the presenter subscribe rules', ex);
  });

  let finished = false;
  /** @type {Promise<void>|null} */
  let stopping = null;

  /**
   * finish reports the end of the session once.
   * @param {EndReason} reason
   * @param {any} [error]
   */
  function finish(reason, error) {
    if (finished) return;
    finished = true;
    globalThis.removeEventListener('pagehide', onPageHide);
    if (shared) stopStream(shared);
    onEnded(error ? { reason, error } : { reason });
  }

  /**
   * onPageHide leaves the room when the page goes away, so attendees see it at once.
   */
  function onPageHide() {
    /** @type {VideoRoom} */ (room).disconnect(); // connected above
  }

  /**
   * stop ends the presentation for everyone, then leaves the room.
   * @param {EndReason} [reason]
   * @returns {Promise<void>}
   */
  function stop(reason = 'stopped') {
    if (!stopping) {
      stopping = (async () => {
        let failure = null;
        try {
          await endPresentation(presentationId, key);
        } catch (ex) {
          failure = ex;
        }
        /** @type {VideoRoom} */ (room).disconnect();
        finish(failure ? 'error' : reason, failure || undefined);
      })();
    }
    return stopping;
  }

  room.on('reconnecting', (/** @type {any} */ error) => onReconnecting(error));
  room.on('reconnected', () => onReconnected());
  room.on('disconnected', (/** @type {any} */ _room, /** @type {any} */ error) => {
    if (stopping) return; // stop() reports how it went
    if (error && error.code === ROOM_COMPLETED) finish('ended');
    else if (error) finish('error', withUserMessage(error));
    else finish('left');
  });
  globalThis.addEventListener('pagehide', onPageHide);
  const live = /** @type {VideoRoom} */ (room);

  /**
   * unpublish stops sending a published track, if it is.
   * @param {string} name
   * @returns {Promise<void>}
   */
  async function unpublish(name) {
    const publication = published[name];
    if (!publication) return;
    delete published[name];
    await live.localParticipant.unpublishTrack(publication.track.mediaStreamTrack);
  }

  /**
   * swap sends `track` in place of the published track `name` (or publishes it).
   * @param {string} name
   * @param {MediaStreamTrack} track
   * @returns {Promise<void>}
   */
  async function swap(name, track) {
    const current = published[name];
    if (current && current.replaceTrack) {
      // local-video: the same track SID and RTP stream, so attendees keep decoding.
      track.enabled = current.track.mediaStreamTrack.enabled;
      await current.replaceTrack(track);
      return;
    }
    if (current) track.enabled = current.track.mediaStreamTrack.enabled;
    // twilio-video cannot swap a capture: a new track under the same name
    // reaches attendees in the same place at once, with no rejoin.
    await unpublish(name);
    await publish(live, track, name);
  }

  /**
   * watchEnd makes the browser's own "Stop sharing" stop the screen, not the talk:
   * the presenter stays live on camera and can share again.
   * @param {MediaStream} stream
   */
  function watchEnd(stream) {
    const [video] = stream.getVideoTracks();
    video.addEventListener('ended', () => {
      if (shared === stream) stopScreen().catch(noop);
    });
  }
  watchEnd(screenStream);

  /**
   * shareScreen shares a new screen in place of the current one (or of none).
   * @param {MediaStream} [given] - else the browser asks which one
   * @returns {Promise<MediaStreamTrack>}
   */
  async function shareScreen(given) {
    let stream;
    try {
      stream = given || (await getScreen());
    } catch (ex) {
      /** @type {any} */ (ex).userMessage = mediaErrorMessage(ex, 'screen');
      throw ex;
    }
    prepareScreen(stream);
    const previous = shared;
    shared = stream;
    try {
      for (const [track, name] of screenTracks(stream)) await swap(name, track);
      if (!stream.getAudioTracks().length) await unpublish(TRACK_NAMES.screenAudio);
    } catch (ex) {
      throw withUserMessage(ex);
    } finally {
      if (previous) stopStream(previous);
    }
    watchEnd(stream);
    onScreen(stream.getVideoTracks()[0]);
    return stream.getVideoTracks()[0];
  }

  /**
   * stopScreen stops sharing: attendees see the camera large.
   * @returns {Promise<void>}
   */
  async function stopScreen() {
    const previous = shared;
    shared = null;
    if (previous) stopStream(previous);
    onScreen(null);
    await unpublish(TRACK_NAMES.screen);
    await unpublish(TRACK_NAMES.screenAudio);
  }

  /**
   * setEnabled mutes or unmutes a published track (no-op if it is not published).
   * @param {string} name
   * @param {boolean} enabled
   */
  function setEnabled(name, enabled) {
    const publication = published[name];
    if (publication) publication.track.enable(enabled);
  }

  onScreen(screenStream.getVideoTracks()[0]);
  return {
    room: live,
    screenTrack: () => (shared ? shared.getVideoTracks()[0] : null),
    setMicrophoneEnabled: (enabled) => setEnabled(TRACK_NAMES.microphone, enabled),
    setCameraEnabled: (enabled) => setEnabled(TRACK_NAMES.camera, enabled),
    shareScreen,
    stopScreen,
    useCamera: (track) => swap(TRACK_NAMES.camera, track).catch((ex) => {
      throw withUserMessage(ex);
    }),
    useMicrophone: (track) => swap(TRACK_NAMES.microphone, track).catch((ex) => {
      throw withUserMessage(ex);
    }),
    stop: () => stop('stopped'),
    disconnect: () => live.disconnect(),
  };
}

/**
 * prepareScreen tunes a shared screen's video for slides and code.
 * @param {MediaStream} stream
 */
function prepareScreen(stream) {
  const [video] = stream.getVideoTracks();
  // Slides and code: keep them sharp rather than smooth.
  if (video && 'contentHint' in video) video.contentHint = 'detail';
}

/**
 * screenTracks names the tracks of a shared screen: its video, and tab audio if offered.
 * @param {MediaStream} stream
 * @returns {Array<[MediaStreamTrack, string]>}
 */
function screenTracks(stream) {
  /** @type {Array<[MediaStreamTrack, string]>} */
  const tracks = [[stream.getVideoTracks()[0], TRACK_NAMES.screen]];
  const [audio] = stream.getAudioTracks();
  if (audio) tracks.push([audio, TRACK_NAMES.screenAudio]);
  return tracks;
}

/**
 * stopStream ends every track of a capture (the browser's sharing bar goes away).
 * @param {MediaStream} stream
 */
function stopStream(stream) {
  for (const track of stream.getTracks()) track.stop();
}

/**
 * @typedef {object} AttendeeSession
 * @property {VideoRoom} room
 * @property {string} token - the access token: it also authenticates audience writes
 * @property {string} identity - this attendee, as the hand queue names it
 * @property {import('./stage-client.js').ConnectionInfo} connection - for a stage connection
 * @property {() => void} leave - disconnect from the room
 */

/** @typedef {'screen'|'camera'|'audio'|'screenAudio'} Slot where a presenter track plays */
/** @type {readonly Slot[]} */
const SLOTS = ['screen', 'camera', 'audio', 'screenAudio'];

/**
 * watchPresentation joins a presentation as an attendee and reports the presenter's tracks.
 *
 * It stays connected while the presenter is away: tracks are reported as they
 * arrive (the presenter may be live already, come later, or come back).
 * @param {object} options
 * @param {string} options.presentationId
 * @param {string} [options.name] - optional display name
 * @param {(track: VideoTrack|null) => void} [options.onScreenTrack] - the presenter's screen, or null
 * @param {(track: VideoTrack|null) => void} [options.onCameraTrack] - the presenter's camera, or null
 * @param {(track: VideoTrack|null) => void} [options.onAudioTrack] - the presenter's voice, or null
 * @param {(track: VideoTrack|null) => void} [options.onScreenAudioTrack] - shared tab audio
 * @param {(present: boolean) => void} [options.onPresenter] - presenter joined or left the room
 * @param {(error: any) => void} [options.onReconnecting]
 * @param {() => void} [options.onReconnected]
 * @param {(end: {over: boolean, error?: any, message?: string}) => void} [options.onDisconnected]
 * @returns {Promise<AttendeeSession>} once connected; rejects with an Error carrying userMessage
 */
export async function watchPresentation(options) {
  const { presentationId, name } = options;
  const callbacks = {
    screen: options.onScreenTrack || noop,
    camera: options.onCameraTrack || noop,
    audio: options.onAudioTrack || noop,
    screenAudio: options.onScreenAudioTrack || noop,
  };
  const onPresenter = options.onPresenter || noop;
  const onReconnecting = options.onReconnecting || noop;
  const onReconnected = options.onReconnected || noop;
  const onDisconnected = options.onDisconnected || noop;

  const tokenResponse = await requestToken(presentationId, { role: 'attendee', name });
  // Subscribe to nothing until the server's rule "only the presenter" is in place.
  const room = await connectVideo(tokenResponse, {
    automaticSubscription: false,
    audio: false,
    video: false,
  });

  /** @type {Record<Slot, {track: VideoTrack, participantSid: string}|null>} */
  const slots = { screen: null, camera: null, audio: null, screenAudio: null };

  /**
   * slotFor says where a presenter track is shown: screen, camera or audio.
   * @param {VideoTrack} track
   * @returns {Slot}
   */
  function slotFor(track) {
    if (track.kind === 'audio') {
      return track.name === TRACK_NAMES.screenAudio ? 'screenAudio' : 'audio';
    }
    return track.name === TRACK_NAMES.screen ? 'screen' : 'camera';
  }

  /**
   * showTrack reports a subscribed presenter track, once.
   * @param {VideoTrack} track
   * @param {VideoParticipant} participant
   */
  function showTrack(track, participant) {
    if (participant.identity !== PRESENTER_IDENTITY || track.kind === 'data') return;
    const slot = slotFor(track);
    if (slots[slot] && slots[slot].track === track) return;
    slots[slot] = { track, participantSid: participant.sid };
    callbacks[slot](track);
  }

  /**
   * hideTrack reports that a track shown before is gone.
   * @param {VideoTrack} track
   */
  function hideTrack(track) {
    for (const slot of SLOTS) {
      if (slots[slot] && slots[slot].track === track) {
        slots[slot] = null;
        callbacks[slot](null);
      }
    }
  }

  /**
   * presenterArrived reports a presenter participant and the tracks it already has.
   * @param {VideoParticipant} participant
   */
  function presenterArrived(participant) {
    if (participant.identity !== PRESENTER_IDENTITY) return;
    onPresenter(true);
    participant.tracks.forEach((publication) => {
      if (publication.track) showTrack(publication.track, participant);
    });
  }

  room.on(
    'trackSubscribed',
    (
      /** @type {VideoTrack} */ track,
      /** @type {VideoTrackPublication} */ _pub,
      /** @type {VideoParticipant} */ participant,
    ) => showTrack(track, participant),
  );
  room.on('trackUnsubscribed', (/** @type {VideoTrack} */ track) => hideTrack(track));
  room.on('participantConnected', presenterArrived);
  room.on('participantDisconnected', (/** @type {VideoParticipant} */ participant) => {
    if (participant.identity !== PRESENTER_IDENTITY) return;
    for (const slot of SLOTS) {
      if (slots[slot] && slots[slot].participantSid === participant.sid) {
        slots[slot] = null;
        callbacks[slot](null);
      }
    }
    const stillHere = [...room.participants.values()].some(
      (p) => p.identity === PRESENTER_IDENTITY && p.sid !== participant.sid,
    );
    if (!stillHere) onPresenter(false);
  });
  room.on('reconnecting', (/** @type {any} */ error) => onReconnecting(error));
  room.on('reconnected', () => onReconnected());
  let abandoned = false; // joining failed after connecting: the caller gets the error
  room.on('disconnected', (/** @type {any} */ _room, /** @type {any} */ error) => {
    globalThis.removeEventListener('pagehide', onPageHide);
    if (abandoned) return;
    for (const slot of SLOTS) {
      if (slots[slot]) {
        slots[slot] = null;
        callbacks[slot](null);
      }
    }
    if (!error) onDisconnected({ over: false });
    else if (error.code === ROOM_COMPLETED) onDisconnected({ over: true, error });
    else onDisconnected({ over: false, error, message: videoErrorMessage(error) });
  });

  /**
   * onPageHide leaves the room when the page goes away.
   */
  function onPageHide() {
    room.disconnect();
  }
  globalThis.addEventListener('pagehide', onPageHide);

  room.participants.forEach(presenterArrived);

  try {
    await applySubscribeRules(presentationId, tokenResponse.token);
  } catch (ex) {
    abandoned = true;
    room.disconnect();
    throw ex;
  }
  return {
    room,
    token: tokenResponse.token,
    identity: tokenResponse.identity,
    connection: {
      backend: tokenResponse.backend,
      signal_url: tokenResponse.signal_url,
      ice_servers: tokenResponse.ice_servers,
    },
    leave: () => room.disconnect(),
  };
}
