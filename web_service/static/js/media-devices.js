// Cameras and microphones: list them, open one. No DOM here.

const CAMERA = { width: { ideal: 1280 }, height: { ideal: 720 } };
const MICROPHONE = { echoCancellation: true, noiseSuppression: true, autoGainControl: true };

/**
 * @typedef {object} DeviceChoice one camera or microphone the page can offer
 * @property {string} deviceId
 * @property {string} label - empty until the browser was allowed to use devices
 */

/**
 * listDevices returns the cameras and microphones, in the browser's order.
 * @returns {Promise<{cameras: DeviceChoice[], microphones: DeviceChoice[]}>}
 */
export async function listDevices() {
  const devices = navigator.mediaDevices;
  if (!devices || !devices.enumerateDevices) return { cameras: [], microphones: [] };
  const all = await devices.enumerateDevices();
  /**
   * @param {string} kind
   * @returns {DeviceChoice[]}
   */
  const of = (kind) =>
    all
      .filter((d) => d.kind === kind && d.deviceId)
      .map((d) => ({ deviceId: d.deviceId, label: d.label }));
  return { cameras: of('videoinput'), microphones: of('audioinput') };
}

/**
 * openDevice starts one camera or microphone; '' means the browser's default.
 * @param {'video'|'audio'} kind
 * @param {string} [deviceId]
 * @returns {Promise<MediaStreamTrack>} rejects with the browser's error (see messages.js)
 */
export async function openDevice(kind, deviceId = '') {
  const base = kind === 'video' ? CAMERA : MICROPHONE;
  const constraints = deviceId ? { ...base, deviceId: { exact: deviceId } } : base;
  const stream = await navigator.mediaDevices.getUserMedia({ [kind]: constraints });
  const [track] = kind === 'video' ? stream.getVideoTracks() : stream.getAudioTracks();
  return track;
}

/**
 * openCameraAndMicrophone starts both, keeping whichever works if one fails.
 * @returns {Promise<{camera: MediaStreamTrack|null, microphone: MediaStreamTrack|null,
 *   failures: {camera?: any, microphone?: any}}>}
 */
export async function openCameraAndMicrophone() {
  const devices = navigator.mediaDevices;
  if (!devices || !devices.getUserMedia) {
    const missing = { name: 'TypeError' };
    return { camera: null, microphone: null, failures: { camera: missing, microphone: missing } };
  }
  try {
    // One prompt for both where the browser asks.
    const stream = await devices.getUserMedia({ video: CAMERA, audio: MICROPHONE });
    return {
      camera: stream.getVideoTracks()[0] || null,
      microphone: stream.getAudioTracks()[0] || null,
      failures: {},
    };
  } catch {
    const [video, audio] = await Promise.allSettled([openDevice('video'), openDevice('audio')]);
    /** @type {{camera?: any, microphone?: any}} */
    const failures = {};
    if (video.status === 'rejected') failures.camera = video.reason;
    if (audio.status === 'rejected') failures.microphone = audio.reason;
    return {
      camera: video.status === 'fulfilled' ? video.value : null,
      microphone: audio.status === 'fulfilled' ? audio.value : null,
      failures,
    };
  }
}
