// The recording protocol: switch recording on and off, read the file's state,
// delete it or make it again; and what pages say about it. No DOM here.

import { presentationPath, request } from './podium-api.js';

/**
 * @typedef {'off'|'recording'|'processing'|'available'|'failed'|'deleted'} RecordingStatus
 */

/**
 * @typedef {object} RecordingView - the `recording` part of the state stream's view
 * @property {boolean} requested - the presenter asked for recording
 * @property {RecordingStatus} status - "recording" only once the video service records
 * @property {number} percent - how far the file is, while processing
 */

/**
 * @typedef {object} RecordingState - GET .../recording (presenter)
 * @property {boolean} requested
 * @property {boolean} recorded - something was recorded
 * @property {RecordingStatus} status
 * @property {number} percent
 * @property {number} duration - seconds, once available
 * @property {number} size - bytes, once available
 * @property {string} error - why it failed, for people
 * @property {string|null} download_url - a signed link that expires; no key needed
 * @property {number|null} download_expires_at - seconds since the epoch
 */

/**
 * recordingApi returns the presenter's recording calls.
 * @param {string} presentationId
 * @param {string} key - the presenter key, sent in a header
 */
export function recordingApi(presentationId, key) {
  const base = `${presentationPath(presentationId)}/recording`;
  const authorization = `Presenter ${key}`;
  return {
    /** @returns {Promise<RecordingState>} */
    fetch: () => request('GET', base, { authorization }),
    /**
     * set asks for recording on or off; the stream says when it really is.
     * @param {boolean} on
     * @returns {Promise<RecordingState>}
     */
    set: (on) => request('PUT', base, { authorization, body: { recording: on } }),
    /** @returns {Promise<RecordingState>} */
    remove: () => request('DELETE', base, { authorization }),
    /** @returns {Promise<RecordingState>} */
    retry: () => request('POST', `${base}/composition`, { authorization }),
  };
}

/** @typedef {ReturnType<typeof recordingApi>} RecordingApi */

/**
 * isBeingRecorded says whether attendees must be told the talk is being recorded.
 * @param {RecordingView|undefined} view
 * @returns {boolean}
 */
export function isBeingRecorded(view) {
  return Boolean(view && view.status === 'recording');
}

/**
 * liveLabel says what the presenter's Record switch is doing, before or during the talk.
 * @param {RecordingView} view
 * @param {boolean} live - the presenter is live
 * @returns {string}
 */
export function liveLabel(view, live) {
  const on = view.status === 'recording';
  if (view.requested && on) return 'Recording. Attendees see that this talk is recorded.';
  if (view.requested && !live) return 'The talk will be recorded from the moment you go live.';
  if (view.requested) return 'Starting the recording…';
  if (on) return 'Stopping the recording…';
  return 'Not recording.';
}

/**
 * fileSize writes bytes as "820 KB", "12.3 MB" or "1.40 GB".
 * @param {number} bytes
 * @returns {string}
 */
export function fileSize(bytes) {
  if (bytes < 1000 * 1000) return `${Math.max(1, Math.round(bytes / 1000))} KB`;
  if (bytes < 1000 * 1000 * 1000) return `${(bytes / 1e6).toFixed(1)} MB`;
  return `${(bytes / 1e9).toFixed(2)} GB`;
}

/**
 * clockDuration writes seconds as "0:20", "12:05" or "1:02:03".
 * @param {number} seconds
 * @returns {string}
 */
export function clockDuration(seconds) {
  const s = Math.max(0, Math.round(seconds));
  const two = (/** @type {number} */ n) => String(n).padStart(2, '0');
  const h = Math.floor(s / 3600);
  const m = Math.floor((s % 3600) / 60);
  return h ? `${h}:${two(m)}:${two(s % 60)}` : `${m}:${two(s % 60)}`;
}

/**
 * afterLabel says where the recording of an ended talk is.
 * @param {RecordingState} state
 * @returns {string}
 */
export function afterLabel(state) {
  switch (state.status) {
    case 'processing':
      return state.percent
        ? `Making the recording… ${state.percent} %`
        : 'Making the recording…';
    case 'available':
      return `Recording ready: ${clockDuration(state.duration)}, ${fileSize(state.size)}.`;
    case 'failed':
      return `The recording failed: ${state.error}`;
    case 'deleted':
      return 'The recording was deleted.';
    case 'recording':
      return 'Finishing the recording…';
    default:
      return 'This talk was not recorded.';
  }
}

/**
 * pollDelay returns how long to wait before reading an ended talk's recording
 * again (while it is being made, or before its download link expires), or null
 * when it will not change by itself.
 * @param {RecordingState} state
 * @param {number} [nowMs]
 * @returns {number|null} ms
 */
export function pollDelay(state, nowMs = Date.now()) {
  if (state.status === 'processing' || state.status === 'recording') return 2000;
  // A fresh signed link a minute before this one expires, so Download keeps working.
  if (state.download_expires_at) {
    return Math.max(5000, state.download_expires_at * 1000 - nowMs - 60000);
  }
  return null;
}
