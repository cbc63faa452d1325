// How loud a microphone is, 0..1, a few times a second. No DOM here.
//
// It listens to a clone of the track: a muted (disabled) track carries silence,
// and the presenter page needs the real level to say "you are muted" when the
// presenter talks while muted.

const INTERVAL_MS = 100;

/**
 * @typedef {object} LevelMeter
 * @property {() => void} stop - stop listening and release the clone
 */

/**
 * watchLevel calls `onLevel(level)` with the track's loudness (0 silent, 1 loud).
 * @param {MediaStreamTrack} track - an audio track
 * @param {(level: number) => void} onLevel
 * @returns {LevelMeter}
 */
export function watchLevel(track, onLevel) {
  const Context = globalThis.AudioContext || /** @type {any} */ (globalThis).webkitAudioContext;
  if (!Context) return { stop() {} };
  const clone = track.clone();
  clone.enabled = true;
  const context = new Context();
  const source = context.createMediaStreamSource(new MediaStream([clone]));
  const analyser = context.createAnalyser();
  analyser.fftSize = 512;
  source.connect(analyser);
  const samples = new Float32Array(analyser.fftSize);
  // Browsers start an AudioContext suspended until the user clicks somewhere.
  const resume = () => {
    if (context.state === 'suspended') context.resume().catch(() => {});
  };
  resume();
  globalThis.addEventListener('pointerdown', resume);
  const timer = setInterval(() => {
    analyser.getFloatTimeDomainData(samples);
    let sum = 0;
    for (const sample of samples) sum += sample * sample;
    const rms = Math.sqrt(sum / samples.length);
    // Speech peaks near 0.1-0.3 RMS: scale so that talking fills most of the meter.
    onLevel(Math.min(1, rms * 4));
  }, INTERVAL_MS);
  return {
    stop() {
      clearInterval(timer);
      globalThis.removeEventListener('pointerdown', resume);
      source.disconnect();
      clone.stop();
      context.close().catch(() => {});
    },
  };
}
