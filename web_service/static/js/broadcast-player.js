// The broadcast player: the talk as HLS through hls.js, for audiences beyond what
// the interactive room carries. It plays a few seconds behind live; questions,
// reactions and polls ride the event stream as for every attendee.

// hls.js is loaded only by pages that play a broadcast (it is ~300 kB).
const HLS_MODULE = '/static/vendor/hls.light.min.mjs';
const RETRY_MS = 2000;

/** @typedef {'loading'|'playing'|'stalled'|'blocked'|'unsupported'} BroadcastState */

/**
 * playlistUrl is where the player fetches a presentation's master playlist.
 * @param {string} base - PODIUM_BROADCAST_BASE_URL: a path of this site or a CDN URL
 * @param {string} playlist - the view's `broadcast.playlist`, relative to the base
 * @returns {string}
 */
export function playlistUrl(base, playlist) {
  return new URL(playlist, new URL(base, window.location.href)).href;
}

/**
 * createBroadcastPlayer plays a live HLS stream in `video` and reports its state.
 * @param {object} options
 * @param {HTMLVideoElement} options.video
 * @param {(state: BroadcastState) => void} options.onState
 */
export function createBroadcastPlayer({ video, onState }) {
  /** @type {any} the hls.js instance while playing */
  let hls = null;
  /** @type {number|undefined} */
  let retry;
  let stopped = true;

  /** play starts playback with sound, or muted when the browser blocks sound. */
  async function play() {
    try {
      await video.play();
    } catch {
      video.muted = true;
      try {
        await video.play();
        onState('blocked');
      } catch {
        onState('blocked');
      }
    }
  }

  video.addEventListener('playing', () => {
    if (!stopped) onState(video.muted ? 'blocked' : 'playing');
  });
  video.addEventListener('waiting', () => {
    if (!stopped) onState('stalled');
  });

  return {
    /**
     * start loads the playlist at `url` and plays it; retries while it is not there yet.
     * @param {string} url
     */
    async start(url) {
      stopped = false;
      onState('loading');
      const Hls = (await import(/* @vite-ignore */ HLS_MODULE)).default;
      if (stopped) return;
      if (!Hls.isSupported()) {
        // Safari plays HLS itself.
        if (video.canPlayType('application/vnd.apple.mpegurl')) {
          video.src = url;
          await play();
        } else {
          onState('unsupported');
        }
        return;
      }
      // No worker: it would need a blob: worker-src in the page's policy.
      hls = new Hls({ enableWorker: false, liveSyncDurationCount: 3 });
      hls.on(Hls.Events.ERROR, (/** @type {any} */ _event, /** @type {any} */ data) => {
        if (!data.fatal || stopped) return;
        onState('stalled');
        if (data.type === Hls.ErrorTypes.MEDIA_ERROR) {
          hls.recoverMediaError();
          return;
        }
        // The playlist is not there yet (the presenter is not live) or the
        // encoder is restarting: try again shortly, as long as the page wants it.
        window.clearTimeout(retry);
        retry = window.setTimeout(() => {
          if (!stopped && hls) hls.loadSource(url);
        }, RETRY_MS);
      });
      hls.on(Hls.Events.MANIFEST_PARSED, () => {
        if (!stopped) play();
      });
      hls.loadSource(url);
      hls.attachMedia(video);
    },
    /** unmute turns the sound on after the browser blocked it (a click's handler). */
    async unmute() {
      video.muted = false;
      await play();
    },
    /** stop ends playback and frees the player. */
    stop() {
      stopped = true;
      window.clearTimeout(retry);
      if (hls) hls.destroy();
      hls = null;
      video.removeAttribute('src');
      video.load();
    },
  };
}
