// Connects to a presentation's video room with the backend the token names:
// twilio-video (global Twilio.Video) or Podium's local client
// (window.PodiumLocalVideo). Both give a twilio-video style Room. No DOM here.

import { twilioConnectOptions } from './twilio-options.js';

/**
 * @typedef {import('./podium-api.js').TokenResponse} TokenResponse
 */

/**
 * @typedef {object} VideoTrack a twilio-video style track, local or remote
 * @property {string} kind - 'audio', 'video' or 'data'
 * @property {string} name
 * @property {MediaStreamTrack} mediaStreamTrack
 * @property {(element?: HTMLMediaElement) => HTMLMediaElement} [attach]
 * @property {(element?: HTMLMediaElement) => unknown} [detach]
 */

/**
 * @typedef {object} VideoTrackPublication
 * @property {VideoTrack|null} track - null while not subscribed
 */

/**
 * @typedef {object} VideoParticipant a twilio-video style RemoteParticipant
 * @property {string} sid
 * @property {string} identity
 * @property {Map<string, VideoTrackPublication>} tracks
 */

/**
 * @typedef {object} VideoLocalParticipant
 * @property {(track: MediaStreamTrack, options?: {name?: string, priority?: string}) => Promise<unknown>} publishTrack
 * @property {(track: MediaStreamTrack) => unknown} unpublishTrack
 */

/**
 * @typedef {object} VideoRoom what Podium uses of a Room, twilio-video's or local-video's
 * @property {string} state
 * @property {VideoLocalParticipant} localParticipant
 * @property {Map<string, VideoParticipant>} participants
 * @property {(event: string, handler: (...args: any[]) => void) => unknown} on
 * @property {() => unknown} disconnect
 */

/**
 * @typedef {object} VideoLibrary
 * @property {(token: string, options: object) => Promise<VideoRoom>} connect
 */

/** Twilio Video error codes with a meaning users can act on. */
export const ROOM_COMPLETED = 53118;
export const ROOM_FULL = 53105;
const MESSAGES = /** @type {Record<number, string>} */ ({
  20101: 'Your access to the presentation is not valid any more. Reload the page.',
  20104: 'Your access to the presentation expired. Reload the page to rejoin.',
  53000: 'The video connection failed. Check your internet connection and reload the page.',
  53001: 'The video connection dropped. Check your internet connection and reload the page.',
  53105: 'The presentation is full: no more people can join it.',
  53118: 'The presentation is over.',
  53205: 'You joined this presentation from another tab or device, so this page stopped.',
  53405: 'Video could not get through your network. Try another network, or turn off a VPN.',
});

/**
 * videoLibrary returns the video library for a backend, or throws if it did not load.
 * @param {string} backend - 'twilio' or 'local'
 * @returns {VideoLibrary}
 */
export function videoLibrary(backend) {
  const scope = /** @type {any} */ (globalThis);
  const library =
    backend === 'twilio' ? scope.Twilio && scope.Twilio.Video : scope.PodiumLocalVideo;
  if (!library || typeof library.connect !== 'function') {
    const error = new Error(`video library for backend ${backend} is not loaded`);
    /** @type {any} */ (error).userMessage =
      'The video player did not load. Reload the page; if it keeps happening, ' +
      'tell the person who runs this Podium.';
    throw error;
  }
  return library;
}

/**
 * connectVideo joins the room named in a token response and resolves with the Room.
 * @param {TokenResponse} tokenResponse - from requestToken()
 * @param {object} [options] - twilio-video ConnectOptions (tracks, automaticSubscription, ...)
 * @returns {Promise<VideoRoom>}
 */
export async function connectVideo(tokenResponse, options = {}) {
  const library = videoLibrary(tokenResponse.backend);
  /** @type {Record<string, any>} */
  const connectOptions = { name: tokenResponse.room, ...options };
  if (tokenResponse.backend === 'twilio') {
    // Simulcast and the bandwidth profile: Twilio adapts each viewer (twilio-options.js).
    Object.assign(connectOptions, twilioConnectOptions(), options);
  }
  if (tokenResponse.backend === 'local') {
    connectOptions.signalUrl = tokenResponse.signal_url;
    // STUN/TURN (short-lived TURN credentials) for browsers behind NAT or firewalls.
    // twilio-video gets its own from Twilio, so nothing is passed there.
    connectOptions.iceServers = tokenResponse.ice_servers || [];
  }
  try {
    return await library.connect(tokenResponse.token, connectOptions);
  } catch (ex) {
    throw withUserMessage(ex);
  }
}

/**
 * videoErrorMessage returns what a video (TwilioError-like) error means to a user.
 * @param {any} error
 * @returns {string}
 */
export function videoErrorMessage(error) {
  if (error && typeof error.code === 'number' && MESSAGES[error.code]) {
    return MESSAGES[error.code];
  }
  if (error && error.userMessage) return error.userMessage;
  return 'The video connection failed. Check your internet connection and reload the page.';
}

/**
 * withUserMessage gives an error a userMessage if it has none yet.
 * @param {any} error
 * @returns {Error}
 */
export function withUserMessage(error) {
  const result = error instanceof Error ? error : new Error(String(error));
  if (!(/** @type {any} */ (result).userMessage)) {
    /** @type {any} */ (result).userMessage = videoErrorMessage(error);
  }
  return result;
}
