// What an attendee's browser tells local_video about its downlink, so the server can
// pick the simulcast layers that link carries (local_video/layer_control.py), and the
// connection quality the attendee page shows. Protocol only: no DOM.

/** How often the receiving side reports: the server steps down within 2 s of loss. */
export const REPORT_INTERVAL = 1000;

/** The attendee's choices; the server knows the same names. */
export const QUALITY_MODES = Object.freeze(['auto', 'high', 'data-saver']);

/**
 * @typedef {object} LinkStats the `linkStats` signalling message
 * @property {'linkStats'} type
 * @property {{mid: string, kind: string, packetsLost: number, packetsReceived: number,
 *   framesPerSecond: number, frameHeight: number, freezeCount: number}[]} streams
 * @property {number|null} availableIncomingBitrate - bit/s, from the selected candidate pair
 */

/**
 * linkStats reads a receiving PeerConnection's stats into a `linkStats` message.
 * @param {RTCPeerConnection} pc
 * @returns {Promise<LinkStats>}
 */
export async function linkStats(pc) {
  /** @type {LinkStats} */
  const message = { type: 'linkStats', streams: [], availableIncomingBitrate: null };
  const report = await pc.getStats();
  report.forEach((/** @type {any} */ s) => {
    if (s.type === 'inbound-rtp' && s.mid != null) {
      message.streams.push({
        mid: String(s.mid),
        kind: s.kind,
        packetsLost: Math.max(s.packetsLost || 0, 0),
        packetsReceived: s.packetsReceived || 0,
        framesPerSecond: s.framesPerSecond || 0,
        frameHeight: s.frameHeight || 0,
        freezeCount: s.freezeCount || 0,
      });
    }
    if (s.type === 'candidate-pair' && s.nominated && s.state === 'succeeded') {
      if (typeof s.availableIncomingBitrate === 'number') {
        message.availableIncomingBitrate = s.availableIncomingBitrate;
      }
    }
  });
  return message;
}

/**
 * connectionQuality turns two consecutive reports into what the attendee sees:
 * 'good', 'fair' (some loss: a lower layer) or 'poor' (heavy loss or video stalled).
 * @param {LinkStats|null} before
 * @param {LinkStats} now
 * @returns {'good'|'fair'|'poor'|'unknown'}
 */
export function connectionQuality(before, now) {
  if (!before) return 'unknown';
  let lost = 0;
  let received = 0;
  let stalled = false;
  for (const stream of now.streams) {
    const prior = before.streams.find((s) => s.mid === stream.mid);
    if (!prior) continue;
    lost += Math.max(stream.packetsLost - prior.packetsLost, 0);
    received += Math.max(stream.packetsReceived - prior.packetsReceived, 0);
    if (stream.kind === 'video' && stream.packetsReceived === prior.packetsReceived) {
      stalled = true;
    }
  }
  const loss = lost + received > 0 ? lost / (lost + received) : 0;
  if (stalled || loss > 0.1) return 'poor';
  if (loss > 0.02) return 'fair';
  return 'good';
}

/** What the attendee's menu says for each mode. */
export const MODE_LABELS = Object.freeze({
  auto: 'Auto',
  high: 'High',
  'data-saver': 'Data saver',
});

/**
 * qualityLabel is the indicator's text for a connection quality.
 * @param {'good'|'fair'|'poor'|'unknown'} quality
 * @param {string} mode - the attendee's choice: a weak link on Auto gets a lighter picture
 * @returns {string}
 */
export function qualityLabel(quality, mode) {
  if (quality === 'good') return 'Connection good';
  if (quality === 'fair') {
    return mode === 'auto' ? 'Connection fair: lighter picture' : 'Connection fair';
  }
  if (quality === 'poor') {
    return mode === 'high'
      ? 'Connection poor: try Auto or Data saver'
      : 'Connection poor: lowest picture';
  }
  return 'Checking connection…';
}

/**
 * qualityFromNetworkLevel maps twilio-video's network quality level (0–5) onto the
 * same three steps, for the Twilio backend's indicator.
 * @param {number|null} level
 * @returns {'good'|'fair'|'poor'|'unknown'}
 */
export function qualityFromNetworkLevel(level) {
  if (typeof level !== 'number') return 'unknown';
  if (level >= 4) return 'good';
  if (level >= 2) return 'fair';
  return 'poor';
}
