// When to try a refused request again. A server that says Retry-After knows when
// its limit frees up, so we wait at least that long; every page refused in the
// same second would otherwise come back in the same second and be refused again,
// so each waits a random extra share on top. No DOM here.

/** Without Retry-After: this much more for each attempt (ms). */
const BACKOFF_MS = 500;
/** Pages spread their return over at least this long after Retry-After (ms). */
const MIN_SPREAD_MS = 1000;
/** A longer Retry-After is not worth waiting for inside one action (s). */
export const MAX_RETRY_AFTER_S = 30;

/**
 * retryAfterSeconds reads a Retry-After header: delay-seconds or an HTTP date.
 * @param {string|null|undefined} header
 * @param {number} [now] - ms since the epoch, for the date form
 * @returns {number|null} seconds to wait (0 or more), null if absent or unreadable
 */
export function retryAfterSeconds(header, now = Date.now()) {
  const value = (header || '').trim();
  if (!value) return null;
  if (/^\d+$/.test(value)) return Number(value);
  // An HTTP date names its weekday and month; Date.parse would take '-1' too.
  const at = /[a-z]/i.test(value) ? Date.parse(value) : NaN;
  if (Number.isNaN(at)) return null;
  return Math.max(0, Math.ceil((at - now) / 1000));
}

/**
 * retryDelayMs says how long to wait before the next attempt.
 * @param {number} attempt - 1 after the first failure, 2 after the second, ...
 * @param {number|null} retryAfter - seconds the server asked for, or null
 * @param {() => number} [random] - uniform in [0, 1)
 * @returns {number} ms; never less than Retry-After
 */
export function retryDelayMs(attempt, retryAfter, random = Math.random) {
  if (retryAfter !== null && retryAfter >= 0) {
    const asked = retryAfter * 1000;
    // Spread over [asked, asked + max(asked, 1 s)): a crowd refused together
    // arrives over a whole window, not in step at its start.
    return Math.floor(asked + random() * Math.max(asked, MIN_SPREAD_MS));
  }
  const base = BACKOFF_MS * attempt;
  return Math.floor(base * (0.5 + random()));
}

/**
 * @typedef {object} RetryOptions
 * @property {number} attempts - calls in all, the first included
 * @property {(error: any) => boolean} isRetryable
 * @property {(ms: number) => Promise<void>} [sleep]
 * @property {() => number} [random]
 */

/**
 * sleep resolves after `ms` milliseconds.
 * @param {number} ms
 * @returns {Promise<void>}
 */
function sleep(ms) {
  return new Promise((resolve) => setTimeout(resolve, ms));
}

/**
 * withRetries calls `operation` until it succeeds, honouring the Retry-After a
 * refusal carries (`error.retryAfter`, seconds, as PodiumError has it).
 * @template T
 * @param {() => Promise<T>} operation
 * @param {RetryOptions} options
 * @returns {Promise<T>} the first success; rejects with the last error
 */
export async function withRetries(operation, options) {
  const wait = options.sleep || sleep;
  for (let attempt = 1; ; attempt += 1) {
    try {
      return await operation();
    } catch (ex) {
      const error = /** @type {any} */ (ex);
      const retryAfter = error && typeof error.retryAfter === 'number' ? error.retryAfter : null;
      const tooLong = retryAfter !== null && retryAfter > MAX_RETRY_AFTER_S;
      if (attempt >= options.attempts || tooLong || !options.isRetryable(ex)) throw ex;
      await wait(retryDelayMs(attempt, retryAfter, options.random));
    }
  }
}
