// The layers the presenter sends on the local backend, so that local_video can give each
// attendee the best one their link carries (Janus VideoRoom simulcast, chosen per
// subscriber with configure {substream, temporal}). Protocol only: no DOM.
//
// Camera: VP8 simulcast, three spatial layers (1/4, 1/2 and full size), each with three
// temporal layers so a weak link can also drop frame rate before size.
// Screen: text must stay legible, so both layers keep full resolution: a low-frame-rate,
// low-bitrate one for slow links and the full one. Janus switches temporal layers of VP8
// only inside its simulcast context, so the screen is simulcast too.

/** @typedef {RTCRtpEncodingParameters & {rid: string, scalabilityMode?: string}} LayerEncoding */

/**
 * rid names, lowest first. Chromium's simulcast allocator goes by the encodings'
 * order (lowest first, as mediasoup and LiveKit send them): given highest first, the
 * camera's 1/4-size `q` layer sent ~700 kbit/s, more than `h`, so no rung of the layer
 * ladder fitted a 300 kbit/s link. The publish offer therefore tells Janus
 * `rid_order: "lmh"` (local_video/participant_media.py); it numbers substreams from
 * the lowest, 0, either way.
 */
export const CAMERA_RIDS = Object.freeze(['q', 'h', 'f']);
export const SCREEN_RIDS = Object.freeze(['l', 'f']);

/**
 * sendEncodings returns the RTCRtpTransceiverInit encodings for a published track, or
 * undefined for tracks sent as one encoding (audio, and any other video).
 * @param {string} name - the track name: 'camera', 'screen', ...
 * @param {string} kind - 'audio' or 'video'
 * @returns {LayerEncoding[]|undefined}
 */
export function sendEncodings(name, kind) {
  if (kind !== 'video') return undefined;
  if (name === 'camera') {
    return [
      { rid: 'q', scaleResolutionDownBy: 4, maxBitrate: 100_000, scalabilityMode: 'L1T3' },
      { rid: 'h', scaleResolutionDownBy: 2, maxBitrate: 500_000, scalabilityMode: 'L1T3' },
      { rid: 'f', scaleResolutionDownBy: 1, maxBitrate: 1_500_000, scalabilityMode: 'L1T3' },
    ];
  }
  if (name === 'screen') {
    return [
      {
        rid: 'l',
        scaleResolutionDownBy: 1,
        maxFramerate: 5,
        // A 300 kbit/s link must carry it with the smallest camera layer and the voice.
        maxBitrate: 150_000,
        scalabilityMode: 'L1T3',
      },
      { rid: 'f', scaleResolutionDownBy: 1, maxBitrate: 1_500_000, scalabilityMode: 'L1T3' },
    ];
  }
  return undefined;
}

/**
 * tuneForContent marks a screen capture as text-like, so the encoder keeps resolution
 * and gives up frame rate first.
 * @param {string} name
 * @param {MediaStreamTrack} track
 */
export function tuneForContent(name, track) {
  if (name === 'screen' && track.kind === 'video' && 'contentHint' in track) {
    track.contentHint = 'detail';
  }
}

/**
 * keepResolution asks the sender to drop frame rate, not size, under pressure (screens).
 * @param {string} name
 * @param {RTCRtpSender} sender
 * @returns {Promise<void>}
 */
export async function keepResolution(name, sender) {
  if (name !== 'screen') return;
  const parameters = sender.getParameters();
  /** @type {any} */ (parameters).degradationPreference = 'maintain-resolution';
  try {
    await sender.setParameters(parameters);
  } catch (error) {
    // Older browsers refuse the preference; contentHint still says the same.
    console.warn('send-layers: degradationPreference refused', error);
  }
}
