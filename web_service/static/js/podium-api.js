// Podium's HTTP and state-stream protocol. No DOM here: pages call these
// functions and decide what to show.

import { retryAfterSeconds } from './retry.js';

const GENERIC_MESSAGE = 'Something went wrong. Please try again.';
const NETWORK_MESSAGE =
  'Podium could not be reached. Check your internet connection and try again.';
const MAX_RETRY_DELAY_MS = 30000;

/**
 * @typedef {object} CreatedPresentation
 * @property {string} id
 * @property {string} title
 * @property {string} attendee_url - share this one
 * @property {string} presenter_url - secret: carries the presenter key in its fragment
 * @property {string} presenter_key
 */

/**
 * @typedef {object} TokenResponse
 * @property {string} token - the video access token (JWT)
 * @property {string} identity
 * @property {string} room
 * @property {'twilio'|'local'} backend
 * @property {number} expires_at
 * @property {number} ttl
 * @property {string} signal_url - the local backend's signalling WebSocket
 * @property {RTCIceServer[]|null} ice_servers - the local backend's STUN/TURN servers
 */

/**
 * @typedef {object} PresentationView
 * @property {string} id
 * @property {string} title
 * @property {'waiting'|'live'|'ended'} status
 * @property {number} version
 * @property {{sid: string|null, status: string}} room
 * @property {{connected: boolean, tracks: Array<{sid: string, kind: string, name: string, enabled: boolean}>}} presenter
 * @property {{count: number}} attendees
 * @property {{on: boolean, playlist: string}} [broadcast] - HLS, under the broadcast base URL
 * @property {import('./recording-api.js').RecordingView} [recording]
 */

/**
 * PodiumError is an Error whose userMessage can be shown as it is.
 */
export class PodiumError extends Error {
  /**
   * PodiumError builds an error from what the server or the network said.
   * @param {string} message - for the console
   * @param {{userMessage?: string, status?: number, title?: string, code?: number, retryAfter?: number|null}} [details]
   */
  constructor(message, details = {}) {
    super(message);
    this.name = 'PodiumError';
    /** @type {string} */
    this.userMessage = details.userMessage || GENERIC_MESSAGE;
    /** @type {number} HTTP status, 0 when the server was not reached */
    this.status = details.status ?? 0;
    /** @type {string} */
    this.title = details.title || '';
    /** @type {number|null} seconds the server's Retry-After asked for, if any */
    this.retryAfter = details.retryAfter ?? null;
  }
}

/**
 * presentationPath returns the URL path of a presentation's API resource.
 * @param {string} id
 * @returns {string}
 */
export function presentationPath(id) {
  return `/api/presentations/${encodeURIComponent(id)}`;
}

/**
 * send makes an HTTP request and returns the response, or throws a PodiumError
 * when the server cannot be reached.
 * @param {string} method
 * @param {string} url
 * @param {{body?: object, bearer?: string, authorization?: string, accept?: string}} [options]
 *   authorization: a whole Authorization header (e.g. "Presenter <key>"); bearer: a token
 * @returns {Promise<Response>}
 */
async function send(method, url, { body, bearer, authorization, accept } = {}) {
  /** @type {Record<string, string>} */
  const headers = { Accept: accept || 'application/json' };
  if (body !== undefined) headers['Content-Type'] = 'application/json';
  if (bearer) headers.Authorization = `Bearer ${bearer}`;
  if (authorization) headers.Authorization = authorization;
  try {
    return await fetch(url, {
      method,
      headers,
      body: body === undefined ? undefined : JSON.stringify(body),
      cache: 'no-store',
      credentials: 'same-origin',
    });
  } catch (ex) {
    throw new PodiumError(`${method} ${url} failed: ${ex}`, { userMessage: NETWORK_MESSAGE });
  }
}

/**
 * failure turns an error response into a PodiumError that carries its description.
 * @param {string} method
 * @param {string} url
 * @param {Response} response
 * @param {any} data - the parsed JSON body, or null
 * @returns {PodiumError}
 */
function failure(method, url, response, data) {
  const title = (data && data.title) || response.statusText;
  return new PodiumError(`${method} ${url}: ${response.status} ${title}`, {
    status: response.status,
    title,
    userMessage: (data && data.description) || messageForStatus(response.status),
    retryAfter: retryAfterSeconds(response.headers.get('Retry-After')),
  });
}

/**
 * request sends a JSON request and returns the JSON answer, or throws a PodiumError.
 * @param {string} method
 * @param {string} url
 * @param {{body?: object, bearer?: string, authorization?: string}} [options]
 * @returns {Promise<any>}
 */
export async function request(method, url, options = {}) {
  const response = await send(method, url, options);
  const text = await response.text();
  let data = null;
  try {
    data = text ? JSON.parse(text) : null;
  } catch (ex) {
    data = null; // a proxy's HTML error page, for instance
  }
  if (!response.ok) throw failure(method, url, response, data);
  return data;
}

/**
 * download fetches a file (an export, say) and returns it as a Blob with its name.
 * @param {string} url
 * @param {string} authorization - the whole Authorization header
 * @param {string} fallbackName - used when the response names no file
 * @returns {Promise<{blob: Blob, filename: string}>}
 */
export async function download(url, authorization, fallbackName) {
  const response = await send('GET', url, { authorization, accept: '*/*' });
  if (!response.ok) {
    let data = null;
    try {
      data = await response.json();
    } catch (ex) {
      data = null;
    }
    throw failure('GET', url, response, data);
  }
  const disposition = response.headers.get('Content-Disposition') || '';
  const named = /filename="?([^";]+)"?/i.exec(disposition);
  return { blob: await response.blob(), filename: named ? named[1] : fallbackName };
}

/**
 * messageForStatus says what an HTTP error status without a description means to a user.
 * @param {number} status
 * @returns {string}
 */
function messageForStatus(status) {
  if (status === 404) return 'This presentation does not exist. Check the link.';
  if (status === 410) return 'This presentation is over.';
  if (status === 429) return 'Too many requests. Wait a moment and try again.';
  if (status >= 500) return 'Podium is having trouble right now. Please try again in a minute.';
  return GENERIC_MESSAGE;
}

/**
 * createPresentation creates a presentation and returns its links.
 * @param {string} title
 * @param {{moderated?: boolean, recording?: boolean}} [options] - moderated: questions
 *   wait for approval; recording: record the talk from its start
 * @returns {Promise<CreatedPresentation>}
 */
export function createPresentation(title, { moderated = false, recording = false } = {}) {
  return request('POST', '/api/presentations', { body: { title, moderated, recording } });
}

/**
 * requestToken asks for a video access token for a presenter or an attendee.
 * @param {string} id - presentation id
 * @param {{role: 'presenter'|'attendee', key?: string, name?: string}} who
 * @returns {Promise<TokenResponse>}
 */
export function requestToken(id, { role, key, name }) {
  /** @type {Record<string, string>} */
  const body = { role };
  if (role === 'presenter') body.key = key || '';
  if (role === 'attendee' && name) body.name = name;
  return request('POST', `${presentationPath(id)}/tokens`, { body });
}

/**
 * requestBroadcastOverflow asks for the broadcast when the room is full.
 * @param {string} id - presentation id
 * @param {string} token - the attendee's access token
 * @returns {Promise<{broadcast: boolean}>}
 */
export function requestBroadcastOverflow(id, token) {
  return request('POST', `${presentationPath(id)}/broadcast/overflow`, { bearer: token });
}

/**
 * setSubscribeRules asks the server to set the caller's subscriptions for its role.
 * @param {string} id - presentation id
 * @param {string} token - the access token the caller connected with
 * @returns {Promise<any>}
 */
export function setSubscribeRules(id, token) {
  return request('POST', `${presentationPath(id)}/subscribe-rules`, { body: {}, bearer: token });
}

/**
 * endPresentation ends a presentation for everyone.
 * @param {string} id - presentation id
 * @param {string} key - the presenter key
 * @returns {Promise<any>}
 */
export function endPresentation(id, key) {
  return request('POST', `${presentationPath(id)}/end`, { body: { key } });
}

/**
 * readState returns a presentation's current view once.
 * @param {string} id - presentation id
 * @returns {Promise<PresentationView>}
 */
export function readState(id) {
  return request('GET', `/live/presentations/${encodeURIComponent(id)}`);
}

/**
 * @typedef {'connecting'|'open'|'reconnecting'|'gone'|'closed'} StateConnection
 * gone: the presentation does not exist (any more); the watch stopped.
 */

/**
 * @typedef {object} StreamHandlers
 * @property {(view: PresentationView) => void} [onState]
 * @property {(section: import('./audience-api.js').QuestionsSection) => void} [onQuestions]
 * @property {(section: import('./audience-api.js').HandsSection) => void} [onHands]
 * @property {(section: import('./audience-api.js').PollsSection) => void} [onPolls]
 * @property {(burst: import('./audience-api.js').ReactionsBurst) => void} [onReactions]
 * @property {(section: import('./stage-client.js').StageSection) => void} [onStage]
 * @property {(state: StateConnection) => void} [onConnection]
 */

/** The stream's typed events and the handler each one goes to. */
const STREAM_EVENTS = /** @type {const} */ ({
  state: 'onState',
  questions: 'onQuestions',
  hands: 'onHands',
  polls: 'onPolls',
  reactions: 'onReactions',
  stage: 'onStage',
});

/**
 * watchState follows a presentation's event stream: its view and the audience's
 * questions, hands, polls and reactions (each event is the whole current section).
 *
 * The browser reconnects by itself after a dropped connection; when it gives
 * up (an HTTP error such as a 502 during a restart) this opens a new stream
 * with backoff, resuming from the last event id, until the presentation is gone.
 * @param {string} id - presentation id
 * @param {StreamHandlers} handlers
 * @returns {{close: () => void}}
 */
export function watchState(id, handlers = {}) {
  const onConnection = handlers.onConnection || (() => {});
  const base = `/live/presentations/${encodeURIComponent(id)}`;
  /** @type {EventSource|null} */
  let source = null;
  let lastEventId = '';
  let closed = false;
  let attempt = 0;
  /** @type {ReturnType<typeof setTimeout>|undefined} */
  let timer;

  /**
   * open starts one EventSource, resuming after the last event seen.
   */
  function open() {
    const query = lastEventId ? `?last_event_id=${encodeURIComponent(lastEventId)}` : '';
    const current = new EventSource(`${base}/events${query}`);
    source = current;
    onConnection(attempt === 0 ? 'connecting' : 'reconnecting');
    current.addEventListener('open', () => {
      attempt = 0;
      onConnection('open');
    });
    for (const [kind, name] of Object.entries(STREAM_EVENTS)) {
      const handler = /** @type {((data: any) => void)|undefined} */ (handlers[name]);
      current.addEventListener(kind, (event) => {
        const message = /** @type {MessageEvent} */ (event);
        // Reactions carry no id: the id of any other kind is what a resume needs.
        lastEventId = message.lastEventId || lastEventId;
        if (!handler) return;
        let data;
        try {
          data = JSON.parse(message.data);
        } catch (ex) {
          console.error(`Podium: unreadable ${kind} event`, ex);
          return;
        }
        handler(data);
      });
    }
    current.addEventListener('error', () => {
      if (closed || current !== source) return;
      if (current.readyState !== EventSource.CLOSED) {
        onConnection('reconnecting'); // the browser retries by itself
        return;
      }
      current.close();
      onConnection('reconnecting');
      retry();
    });
  }

  /**
   * retry reopens the stream after a backoff, unless the presentation is gone.
   */
  async function retry() {
    try {
      const response = await fetch(base, { cache: 'no-store' });
      if (response.status === 404) {
        closed = true;
        onConnection('gone');
        return;
      }
    } catch (ex) {
      // Offline: keep trying below.
    }
    if (closed) return;
    const delay = Math.min(MAX_RETRY_DELAY_MS, 1000 * 2 ** attempt);
    attempt += 1;
    timer = setTimeout(open, delay);
  }

  open();
  return {
    /**
     * close stops watching; no callback runs after it but onConnection('closed').
     */
    close() {
      closed = true;
      clearTimeout(timer);
      if (source) source.close();
      onConnection('closed');
    },
  };
}
