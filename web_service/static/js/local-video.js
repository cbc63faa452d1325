// Podium's local video client: the shape of twilio-video's Room over Podium's own
// signalling (local_video service) and Janus. Protocol code only: the DOM is touched
// only inside Track.attach(), as twilio-video does.
//
// One RTCPeerConnection publishes every local track (camera, microphone, screen);
// a second one receives exactly the tracks the server's subscribe rules select.
// The server (Janus) offers for the receiving connection; the browser answers.

import { keepResolution, sendEncodings, tuneForContent } from './send-layers.js';
import { QUALITY_MODES, REPORT_INTERVAL, connectionQuality, linkStats } from './link-report.js';

const PING_INTERVAL = 5000;
// The server answers every ping. A socket silent this long is dead even if the
// browser still calls it open (a network that vanished closes nothing): drop it
// and resume on a new one. Below the server's 15 s, so that a browser whose
// network is back resumes as the same participant.
const SILENCE_LIMIT = 12000;
const SILENCE_CHECK_INTERVAL = 1000;
const RECONNECT_WINDOW = 30000; // like twilio-video: give up after about 30 s
const ICE_GATHER_TIMEOUT = 3000;
const REQUEST_TIMEOUT = 20000;

/** @typedef {Error & {code: number}} TwilioError an Error with a Twilio error code */
/** @typedef {(...args: any[]) => void} Handler */
/** @typedef {HTMLMediaElement & {playsInline?: boolean}} MediaElement <video> or <audio> */

/**
 * @typedef {object} TrackInfo a published track, as the server describes it
 * @property {string} sid
 * @property {string} name
 * @property {string} kind - 'audio', 'video' or 'data'
 * @property {boolean} [enabled] - false while its publisher has it muted
 */

/**
 * @typedef {object} ParticipantInfo a participant, as the server describes it
 * @property {string} sid
 * @property {string} identity
 * @property {TrackInfo[]} [tracks]
 */

/**
 * @typedef {object} Snapshot the server's `connected` message
 * @property {{sid: string, name: string}} room
 * @property {ParticipantInfo} participant - this browser
 * @property {ParticipantInfo[]} participants - everyone else
 * @property {boolean} [resumed] - a resume found this browser's participant again
 */

/**
 * @typedef {{type: string, [field: string]: any}} SignalMessage
 * one JSON message on the signalling socket
 */

/**
 * @typedef {object} SubscribeStream one stream of a subscriberOffer
 * @property {string} mid
 * @property {string} participant - participant SID
 * @property {string} track - track SID
 * @property {string} name
 * @property {string} kind
 */

/**
 * @typedef {object} ConnectOptions connect()'s options, as twilio-video names them
 * @property {string} [signalUrl] - the signalling WebSocket (default: this origin's)
 * @property {RTCIceServer[]} [iceServers] - STUN/TURN servers
 * @property {string} [name] - the room
 * @property {Array<MediaStreamTrack|LocalTrack>} [tracks] - publish these, not the defaults
 * @property {boolean|MediaTrackConstraints} [audio] - capture the microphone (default true)
 * @property {boolean|MediaTrackConstraints} [video] - capture the camera (default true)
 * @property {boolean} [automaticSubscription] - receive tracks without rules (default true)
 */

/**
 * @typedef {object} PublishOptions
 * @property {string} [name] - the track name others see
 * @property {string} [priority] - accepted for twilio-video compatibility; unused
 */

/**
 * twilioError builds an Error carrying a Twilio error code.
 * @param {number} code
 * @param {string} message
 * @returns {TwilioError}
 */
function twilioError(code, message) {
  const error = /** @type {TwilioError} */ (new Error(message));
  error.name = 'TwilioError';
  error.code = code;
  return error;
}

/** Emitter is a minimal on/off/once event emitter like Node's. */
class Emitter {
  constructor() {
    /** @type {Map<string, Set<Handler>>} */
    this._handlers = new Map();
  }

  /**
   * on adds a handler for an event.
   * @param {string} event
   * @param {Handler} handler
   * @returns {this}
   */
  on(event, handler) {
    if (!this._handlers.has(event)) this._handlers.set(event, new Set());
    /** @type {Set<Handler>} */ (this._handlers.get(event)).add(handler);
    return this;
  }

  /**
   * off removes a handler (or all handlers of an event).
   * @param {string} event
   * @param {Handler} [handler]
   * @returns {this}
   */
  off(event, handler) {
    if (!handler) this._handlers.delete(event);
    else this._handlers.get(event)?.delete(handler);
    return this;
  }

  /**
   * once adds a handler that runs at most once.
   * @param {string} event
   * @param {Handler} handler
   * @returns {this}
   */
  once(event, handler) {
    /** @type {Handler} */
    const wrapper = (...args) => {
      this.off(event, wrapper);
      handler(...args);
    };
    return this.on(event, wrapper);
  }

  /**
   * emit calls every handler of an event; a throwing handler does not stop others.
   * @param {string} event
   * @param {...any} args
   * @returns {this}
   */
  emit(event, ...args) {
    for (const handler of [...(this._handlers.get(event) || [])]) {
      try {
        handler(...args);
      } catch (error) {
        console.error(`local-video: ${event} handler failed`, error);
      }
    }
    return this;
  }
}

/** Track wraps a MediaStreamTrack the way twilio-video's tracks do. */
class Track extends Emitter {
  /**
   * Track wraps `mediaStreamTrack` under a name (and its SID once published).
   * @param {MediaStreamTrack} mediaStreamTrack
   * @param {string} name
   * @param {string|null} [sid]
   */
  constructor(mediaStreamTrack, name, sid = null) {
    super();
    this.kind = mediaStreamTrack.kind;
    this.name = name;
    this.sid = sid;
    this.mediaStreamTrack = mediaStreamTrack;
    // A capture muted before publishing is published muted.
    this.isEnabled = mediaStreamTrack.enabled;
    /** @type {Set<HTMLMediaElement>} */
    this._elements = new Set();
  }

  /**
   * attach plays the track in a given or new <video>/<audio> element and returns it.
   * @param {MediaElement} [element]
   * @returns {MediaElement}
   */
  attach(element) {
    const el = element || /** @type {MediaElement} */ (document.createElement(this.kind));
    el.autoplay = true;
    el.playsInline = true;
    el.srcObject = new MediaStream([this.mediaStreamTrack]);
    if (this.kind === 'video' && !element) el.muted = true;
    const played = el.play && el.play();
    if (played && played.catch) played.catch(() => {}); // autoplay rules: the page decides
    this._elements.add(el);
    return el;
  }

  /**
   * detach stops playing in one element (or all) and returns the detached ones.
   * @param {HTMLMediaElement} [element]
   * @returns {HTMLMediaElement|HTMLMediaElement[]}
   */
  detach(element) {
    const detached = element ? [element] : [...this._elements];
    for (const el of detached) {
      el.srcObject = null;
      this._elements.delete(el);
    }
    return element ? element : detached;
  }
}

/** LocalTrack is a track this browser publishes. */
class LocalTrack extends Track {
  /** stop ends capture. */
  stop() {
    this.mediaStreamTrack.stop();
  }

  /**
   * enable unmutes (or, with false, mutes) the track, as twilio-video's does;
   * the room hears of it (`trackEnabled`/`trackDisabled`, a status callback).
   * @param {boolean} [enabled]
   * @returns {this}
   */
  enable(enabled = true) {
    if (this.isEnabled === enabled) return this;
    this.isEnabled = enabled;
    this.mediaStreamTrack.enabled = enabled;
    this.emit(enabled ? 'enabled' : 'disabled', this);
    return this;
  }

  /**
   * disable mutes the track.
   * @returns {this}
   */
  disable() {
    return this.enable(false);
  }
}

/** RemoteTrack is a track received from another participant. */
class RemoteTrack extends Track {
  /**
   * _setEnabled records the publisher's mute state and announces a change.
   * @param {boolean} enabled
   */
  _setEnabled(enabled) {
    if (this.isEnabled === enabled) return;
    this.isEnabled = enabled;
    this.emit(enabled ? 'enabled' : 'disabled', this);
  }
}

/** LocalTrackPublication ties a local track to its server-side SID. */
class LocalTrackPublication {
  /**
   * LocalTrackPublication is `track` as `participant` publishes it.
   * @param {LocalTrack} track
   * @param {LocalParticipant} participant
   */
  constructor(track, participant) {
    this.track = track;
    this.kind = track.kind;
    this.trackName = track.name;
    /** @type {string|null} */
    this.trackSid = null;
    this._participant = participant;
    /** @type {RTCRtpTransceiver|null} */
    this._transceiver = null;
  }

  get isTrackEnabled() {
    return this.track.isEnabled;
  }

  /**
   * replaceTrack sends another capture in this publication's place (a local
   * extension: twilio-video has none). The track keeps its SID and RTP stream,
   * so receivers keep decoding and nobody resubscribes: a new screen, window or
   * tab replaces the shared one without a renegotiation.
   * @param {MediaStreamTrack} mediaStreamTrack - of the same kind
   * @returns {Promise<void>}
   */
  async replaceTrack(mediaStreamTrack) {
    if (mediaStreamTrack.kind !== this.kind) {
      throw twilioError(53304, `a ${this.kind} track cannot become ${mediaStreamTrack.kind}`);
    }
    const track = this.track;
    track.mediaStreamTrack = mediaStreamTrack;
    mediaStreamTrack.enabled = track.isEnabled;
    await this._participant._sendCurrent(this);
  }

  /**
   * unpublish stops sending this track.
   * @returns {Promise<LocalTrackPublication|null>}
   */
  unpublish() {
    return this._participant.unpublishTrack(this.track);
  }
}

/** RemoteTrackPublication is a track another participant publishes. */
class RemoteTrackPublication extends Emitter {
  /**
   * RemoteTrackPublication is a track the server announced, subscribed or not.
   * @param {TrackInfo} info
   */
  constructor(info) {
    super();
    this.trackSid = info.sid;
    this.trackName = info.name;
    this.kind = info.kind;
    /** @type {RemoteTrack|null} */
    this.track = null;
    this.isSubscribed = false;
    this.isTrackEnabled = info.enabled !== false;
  }

  /**
   * _setEnabled records the publisher's mute state; emits trackEnabled/trackDisabled.
   * @param {boolean} enabled
   * @returns {boolean} whether it changed
   */
  _setEnabled(enabled) {
    if (this.track) /** @type {RemoteTrack} */ (this.track)._setEnabled(enabled);
    if (this.isTrackEnabled === enabled) return false;
    this.isTrackEnabled = enabled;
    this.emit(enabled ? 'trackEnabled' : 'trackDisabled');
    return true;
  }
}

/**
 * byKind returns the publications of one kind, keyed by track SID.
 * @template {{kind: string}} P
 * @param {Map<string, P>} tracks
 * @param {string} kind
 * @returns {Map<string, P>}
 */
function byKind(tracks, kind) {
  return new Map([...tracks].filter(([, publication]) => publication.kind === kind));
}

/** RemoteParticipant is another participant of the room. */
class RemoteParticipant extends Emitter {
  /**
   * RemoteParticipant is a participant the server announced, with its tracks.
   * @param {ParticipantInfo} info
   */
  constructor(info) {
    super();
    this.sid = info.sid;
    this.identity = info.identity;
    this.state = 'connected';
    /** @type {Map<string, RemoteTrackPublication>} */
    this.tracks = new Map();
    for (const track of info.tracks || []) this._addPublication(track);
  }

  get audioTracks() {
    return byKind(this.tracks, 'audio');
  }

  get videoTracks() {
    return byKind(this.tracks, 'video');
  }

  /**
   * _addPublication returns the publication of a track, announcing it if new.
   * @param {TrackInfo} info
   * @returns {RemoteTrackPublication}
   */
  _addPublication(info) {
    let publication = this.tracks.get(info.sid);
    if (!publication) {
      publication = new RemoteTrackPublication(info);
      this.tracks.set(info.sid, publication);
      this.emit('trackPublished', publication);
    }
    return publication;
  }
}

/** LocalParticipant publishes this browser's tracks over one PeerConnection. */
class LocalParticipant extends Emitter {
  /**
   * LocalParticipant is this browser in `room`.
   * @param {Room} room
   * @param {ParticipantInfo} info
   */
  constructor(room, info) {
    super();
    this._room = room;
    this.sid = info.sid;
    this.identity = info.identity;
    /** @type {Map<string, LocalTrackPublication>} */
    this.tracks = new Map(); // track SID -> LocalTrackPublication
    /** @type {LocalTrackPublication[]} */
    this._publications = []; // every publication, SID known or not
    /** @type {RTCPeerConnection|null} */
    this._pc = null;
    /** @type {Promise<void>} */
    this._queue = Promise.resolve();
    this._dirty = false; // publications changed since the last offer
  }

  get audioTracks() {
    return byKind(this.tracks, 'audio');
  }

  get videoTracks() {
    return byKind(this.tracks, 'video');
  }

  /**
   * publishTrack sends a MediaStreamTrack (or a LocalTrack); resolves to its publication.
   * @param {MediaStreamTrack|LocalTrack} trackOrMediaStreamTrack
   * @param {PublishOptions} [options]
   * @returns {Promise<LocalTrackPublication>}
   */
  async publishTrack(trackOrMediaStreamTrack, options = {}) {
    const given = /** @type {Partial<LocalTrack>} */ (trackOrMediaStreamTrack);
    const media =
      given.mediaStreamTrack || /** @type {MediaStreamTrack} */ (trackOrMediaStreamTrack);
    const name = options.name || given.name || `${media.kind}-${media.id}`;
    if (this._publications.some((p) => p.trackName === name)) {
      throw twilioError(53304, `a track named ${name} is already published`);
    }
    const track =
      trackOrMediaStreamTrack instanceof LocalTrack
        ? trackOrMediaStreamTrack
        : new LocalTrack(media, name);
    track.name = name;
    const publication = new LocalTrackPublication(track, this);
    this._publications.push(publication);
    const changed = () => {
      if (this._publications.includes(publication)) this._enabledChanged(publication);
    };
    track.on('enabled', changed);
    track.on('disabled', changed);
    await this._renegotiate();
    return publication;
  }

  /**
   * _enabledChanged sends or holds a publication's media and tells the server.
   * @param {LocalTrackPublication} publication
   */
  _enabledChanged(publication) {
    this._sendCurrent(publication).catch((error) => {
      console.error('local-video: could not switch', publication.trackName, error);
    });
    this._announceEnabled(publication);
  }

  /**
   * _sendCurrent makes the sender carry the publication's capture, or nothing
   * while it is muted: a disabled track would still send silence or black
   * frames, which cost bandwidth for no one (Twilio's SFU drops them too).
   * @param {LocalTrackPublication} publication
   * @returns {Promise<void>}
   */
  async _sendCurrent(publication) {
    const transceiver = publication._transceiver;
    if (!transceiver || !this._pc || this._pc.signalingState === 'closed') return;
    const track = publication.track;
    const sender = transceiver.sender;
    await sender.replaceTrack(track.isEnabled ? track.mediaStreamTrack : null);
    // Without a track Chrome still sends audio packets (silence): an inactive
    // encoding sends none, with no renegotiation.
    const parameters = sender.getParameters();
    if (parameters.encodings && parameters.encodings.length) {
      for (const encoding of parameters.encodings) encoding.active = track.isEnabled;
      await sender.setParameters(parameters);
    }
  }

  /**
   * _announceEnabled tells the server whether a published track is muted.
   * @param {LocalTrackPublication} publication
   */
  _announceEnabled(publication) {
    if (!publication.trackSid) return; // sent once the publish answer names it
    this._room._send({
      type: 'setTrackEnabled',
      track: publication.trackSid,
      enabled: publication.track.isEnabled,
    });
  }

  /** _announceAll repeats every publication's mute state (after a resume). */
  _announceAll() {
    for (const publication of this._publications) {
      if (!publication.track.isEnabled) this._announceEnabled(publication);
    }
  }

  /**
   * unpublishTrack stops sending a track and renegotiates.
   * @param {MediaStreamTrack|LocalTrack} track
   * @returns {Promise<LocalTrackPublication|null>}
   */
  async unpublishTrack(track) {
    const media =
      /** @type {Partial<LocalTrack>} */ (track).mediaStreamTrack || track;
    const publication = this._publications.find((p) => p.track.mediaStreamTrack === media);
    if (!publication) return null;
    this._publications = this._publications.filter((p) => p !== publication);
    if (publication.trackSid) this.tracks.delete(publication.trackSid);
    const transceiver = publication._transceiver;
    if (transceiver && this._pc && this._pc.signalingState !== 'closed') {
      await transceiver.sender.replaceTrack(null);
      transceiver.direction = 'inactive';
    }
    await this._renegotiate();
    return publication;
  }

  /**
   * _renegotiate queues one offer/answer round with every current publication.
   * @returns {Promise<void>}
   */
  _renegotiate() {
    this._dirty = true;
    const run = this._queue.then(() => this._negotiate());
    this._queue = run.catch(() => {});
    return run;
  }

  /**
   * _negotiate runs one offer/answer round with the server, if anything changed.
   * @returns {Promise<void>}
   */
  async _negotiate() {
    if (this._room.state === 'disconnected' || !this._dirty) return;
    this._dirty = false; // publishTrack calls made meanwhile share this offer
    if (!this._pc) {
      if (!this._publications.length) return;
      this._pc = this._room._newPeerConnection('publisher');
    }
    const pc = this._pc;
    // Tracks published while this round runs wait for the next one.
    const publications = [...this._publications];
    for (const publication of publications) {
      if (!publication._transceiver) {
        const media = publication.track.mediaStreamTrack;
        tuneForContent(publication.trackName, media);
        publication._transceiver = pc.addTransceiver(media, {
          direction: 'sendonly',
          streams: [this._room._localStream],
          sendEncodings: sendEncodings(publication.trackName, publication.kind),
        });
        await keepResolution(publication.trackName, publication._transceiver.sender);
        if (!publication.track.isEnabled) await this._sendCurrent(publication);
      }
    }
    const offer = await pc.createOffer();
    await pc.setLocalDescription(offer);
    await gatheringComplete(pc);
    const tracks = publications.map((p) => ({
      mid: /** @type {RTCRtpTransceiver} */ (p._transceiver).mid,
      name: p.trackName,
      kind: p.kind,
    }));
    const reply = await this._room._request({
      type: 'publish',
      sdp: /** @type {RTCSessionDescription} */ (pc.localDescription).sdp,
      tracks,
    });
    if (pc !== this._pc || pc.signalingState === 'closed') return; // reset meanwhile
    await pc.setRemoteDescription({ type: 'answer', sdp: reply.sdp });
    for (const info of reply.tracks) {
      const publication = publications.find((p) => p._transceiver?.mid === info.mid);
      if (!publication) continue;
      const fresh = publication.trackSid !== info.sid;
      publication.trackSid = info.sid;
      publication.track.sid = info.sid;
      this.tracks.set(info.sid, publication);
      // Published muted (start with the microphone off): say so at once.
      if (fresh && !publication.track.isEnabled) this._announceEnabled(publication);
    }
  }

  /**
   * _restart drops the PeerConnection and publishes everything again on a new one.
   * @returns {Promise<void>}
   */
  _restart() {
    if (this._pc) this._pc.close();
    this._pc = null;
    for (const publication of this._publications) publication._transceiver = null;
    return this._renegotiate();
  }

  /** _close closes the publishing PeerConnection. */
  _close() {
    if (this._pc) this._pc.close();
    this._pc = null;
  }
}

/**
 * gatheringComplete waits until ICE gathering ends (non-trickle), or a timeout.
 * @param {RTCPeerConnection} pc
 * @returns {Promise<void>}
 */
function gatheringComplete(pc) {
  if (pc.iceGatheringState === 'complete') return Promise.resolve();
  return new Promise((/** @type {() => void} */ resolve) => {
    const done = () => {
      if (pc.iceGatheringState !== 'complete') return;
      pc.removeEventListener('icegatheringstatechange', done);
      clearTimeout(timer);
      resolve();
    };
    const timer = setTimeout(() => {
      pc.removeEventListener('icegatheringstatechange', done);
      resolve();
    }, ICE_GATHER_TIMEOUT);
    pc.addEventListener('icegatheringstatechange', done);
  });
}

/** Room is a connected room, shaped like twilio-video's Room. */
class Room extends Emitter {
  /**
   * Room holds what connect() needs to join: the token and the options.
   * @param {string} token - the Access Token
   * @param {ConnectOptions & {signalUrl: string}} options
   */
  constructor(token, options) {
    super();
    this._token = token;
    this._options = options;
    /** @type {string|null} */
    this.name = null;
    /** @type {string|null} */
    this.sid = null;
    /** @type {'connecting'|'connected'|'reconnecting'|'disconnected'} */
    this.state = 'connecting';
    /** @type {LocalParticipant} set by connect() before the Room is handed out */
    this.localParticipant = /** @type {any} */ (null);
    /** @type {Map<string, RemoteParticipant>} */
    this.participants = new Map();
    this._localStream = new MediaStream();
    /** @type {WebSocket|null} */
    this._ws = null;
    this._seq = 0;
    /** @type {Map<number, {resolve: (value: any) => void, reject: (error: any) => void, timer: ReturnType<typeof setTimeout>}>} */
    this._pending = new Map();
    /** @type {RTCPeerConnection|null} */
    this._subPc = null;
    /** @type {Map<string, SubscribeStream>} */
    this._subStreams = new Map(); // mid -> {participant, track, name, kind}
    /** @type {Promise<void>} */
    this._subQueue = Promise.resolve();
    /** @type {ReturnType<typeof setInterval>|undefined} */
    this._pinger = undefined;
    /** @type {ReturnType<typeof setInterval>|undefined} */
    this._watchdog = undefined;
    this._lastHeard = 0;
    this._reconnectStarted = 0;
    /** @type {ReturnType<typeof setTimeout>|undefined} */
    this._mediaTimer = undefined;
    /** @type {ReturnType<typeof setInterval>|undefined} */
    this._reporter = undefined; // sends linkStats while media flows
    /** @type {import('./link-report.js').LinkStats|null} */
    this._lastLink = null;
    this._quality = 'auto';
    /** @type {Map<string, {substream?: number, temporal?: number}>} */
    this.receivedLayers = new Map(); // mid -> the layer the server last reported
  }

  /**
   * disconnect leaves the room.
   * @returns {this}
   */
  disconnect() {
    if (this.state === 'disconnected') return this;
    this._send({ type: 'disconnect' });
    this._finish(null);
    return this;
  }

  // Signalling socket ---------------------------------------------------------------

  /**
   * _open opens a signalling socket and resolves with the server's snapshot.
   * @param {string|null} resume - the participant SID to resume, or null to join
   * @returns {Promise<Snapshot>}
   */
  _open(resume) {
    return new Promise((resolve, reject) => {
      let settled = false;
      const ws = new WebSocket(this._options.signalUrl);
      this._ws = ws;
      ws.onopen = () => {
        if (ws === this._ws) this._lastHeard = Date.now();
        ws.send(
          JSON.stringify({
            type: 'connect',
            token: this._token,
            room: this._options.name || undefined,
            automaticSubscription: this._options.automaticSubscription !== false,
            resume: resume || undefined,
          }),
        );
      };
      ws.onmessage = (event) => {
        if (ws === this._ws) this._lastHeard = Date.now();
        let message;
        try {
          message = JSON.parse(event.data);
        } catch {
          return;
        }
        if (!settled && (message.type === 'connected' || message.type === 'error')) {
          settled = true;
          if (message.type === 'connected') resolve(message);
          else reject(twilioError(message.code, message.message));
          return;
        }
        this._handle(message);
      };
      ws.onclose = () => {
        if (!settled) {
          settled = true;
          reject(twilioError(53000, 'Signaling connection error'));
        }
        if (ws === this._ws) this._socketLost();
      };
    });
  }

  /**
   * _send sends a message if the socket is open (and drops it otherwise).
   * @param {SignalMessage} message
   */
  _send(message) {
    if (this._ws && this._ws.readyState === WebSocket.OPEN) {
      this._ws.send(JSON.stringify(message));
    }
  }

  /**
   * _request sends a message and resolves with the server's answer to it.
   * @param {SignalMessage} message
   * @returns {Promise<any>}
   */
  _request(message) {
    const seq = ++this._seq;
    return new Promise((resolve, reject) => {
      const timer = setTimeout(() => {
        this._pending.delete(seq);
        reject(twilioError(53000, `no answer to ${message.type}`));
      }, REQUEST_TIMEOUT);
      this._pending.set(seq, { resolve, reject, timer });
      this._send({ ...message, seq });
    });
  }

  /**
   * _settle resolves (or rejects, with `error`) the request numbered `seq`.
   * @param {number} seq
   * @param {Error|null} error
   * @param {any} [value]
   */
  _settle(seq, error, value) {
    const pending = this._pending.get(seq);
    if (!pending) return;
    this._pending.delete(seq);
    clearTimeout(pending.timer);
    if (error) pending.reject(error);
    else pending.resolve(value);
  }

  /** _startPinging pings the server and starts watching for silence. */
  _startPinging() {
    clearInterval(this._pinger);
    clearInterval(this._watchdog);
    this._lastHeard = Date.now();
    this._pinger = setInterval(() => this._send({ type: 'ping' }), PING_INTERVAL);
    this._watchdog = setInterval(() => this._checkSilence(), SILENCE_CHECK_INTERVAL);
    clearInterval(this._reporter);
    this._reporter = setInterval(() => this._reportLink(), REPORT_INTERVAL);
  }

  /** _reportLink tells the server what the receiving connection gets (layer choice). */
  async _reportLink() {
    const pc = this._subPc;
    if (this.state !== 'connected' || !pc || pc.connectionState !== 'connected') return;
    const report = await linkStats(pc);
    this._send(report);
    const quality = connectionQuality(this._lastLink || null, report);
    this._lastLink = report;
    if (quality !== 'unknown') this.emit('linkQuality', quality, report);
  }

  /**
   * setQuality asks for Auto (the server adapts), High (top layers) or Data saver.
   * @param {string} mode - one of QUALITY_MODES
   */
  setQuality(mode) {
    if (!QUALITY_MODES.includes(mode)) throw new Error(`unknown quality mode ${mode}`);
    this._quality = mode;
    this._send({ type: 'setQuality', mode });
  }

  /** _checkSilence drops a socket the server has been silent on for too long. */
  _checkSilence() {
    const ws = this._ws;
    if (this.state !== 'connected' || !ws || ws.readyState !== WebSocket.OPEN) return;
    if (Date.now() - this._lastHeard < SILENCE_LIMIT) return;
    this._ws = null;
    ws.onclose = null;
    ws.close();
    this._socketLost();
  }

  /**
   * _socketLost reconnects the signalling socket, or ends the room after the window.
   * @returns {Promise<void>}
   */
  async _socketLost() {
    if (this.state === 'disconnected') return;
    if (this.state !== 'reconnecting') {
      this.state = 'reconnecting';
      this._reconnectStarted = Date.now();
      this.emit('reconnecting', twilioError(53001, 'Signaling connection disconnected'));
    }
    let delay = 250;
    while (this.state === 'reconnecting' && this._ws?.readyState !== WebSocket.OPEN) {
      if (Date.now() - this._reconnectStarted > RECONNECT_WINDOW) {
        this._finish(twilioError(53000, 'Signaling connection error'));
        return;
      }
      await new Promise((resolve) => setTimeout(resolve, delay));
      delay = Math.min(delay * 2, 4000);
      try {
        const snapshot = await this._open(this.localParticipant.sid);
        this._resumed(snapshot);
        return;
      } catch (/** @type {any} */ error) {
        if (error.code && error.code !== 53000) {
          this._finish(error); // e.g. 20104: the token expired meanwhile
          return;
        }
      }
    }
  }

  /**
   * _resumed takes the server's snapshot after a reconnection.
   * @param {Snapshot} snapshot
   */
  _resumed(snapshot) {
    if (!snapshot.resumed) {
      // The server forgot us: we are a new participant; start media afresh.
      this.localParticipant.sid = snapshot.participant.sid;
      this._syncParticipants(snapshot.participants);
      this._resetMedia();
    } else {
      this._syncParticipants(snapshot.participants);
      // Mutes sent while the socket was down were lost.
      this.localParticipant._announceAll();
    }
    // The server's layer choice lives with the connection: repeat the attendee's.
    if (this._quality !== 'auto') this._send({ type: 'setQuality', mode: this._quality });
    this.state = 'connected';
    this.emit('reconnected');
  }

  /**
   * _syncParticipants makes the participants match the server's list.
   * @param {ParticipantInfo[]} list
   */
  _syncParticipants(list) {
    const present = new Set(list.map((p) => p.sid));
    for (const [sid, participant] of this.participants) {
      if (!present.has(sid)) this._participantGone(sid);
      else void participant;
    }
    for (const info of list) {
      if (!this.participants.has(info.sid)) this._participantArrived(info);
      else {
        const participant = /** @type {RemoteParticipant} */ (this.participants.get(info.sid));
        for (const t of /** @type {TrackInfo[]} */ (info.tracks)) {
          this._enabledChanged(participant, participant._addPublication(t), t.enabled !== false);
        }
      }
    }
  }

  /**
   * _handle acts on one message from the server.
   * @param {SignalMessage} message
   */
  _handle(message) {
    switch (message.type) {
      case 'pong':
        break;
      case 'participantConnected':
        this._participantArrived(message.participant);
        break;
      case 'participantDisconnected':
        this._participantGone(message.participant.sid);
        break;
      case 'trackPublished': {
        const participant = this.participants.get(message.participant);
        if (participant) participant._addPublication(message.track);
        break;
      }
      case 'trackUnpublished': {
        const participant = this.participants.get(message.participant);
        const publication = participant?.tracks.get(message.track.sid);
        if (participant && publication) {
          this._unsubscribe(participant, publication);
          participant.tracks.delete(message.track.sid);
          participant.emit('trackUnpublished', publication);
          this.emit('trackUnpublished', publication, participant);
        }
        break;
      }
      case 'trackEnabled':
      case 'trackDisabled': {
        const participant = this.participants.get(message.participant);
        const publication = participant?.tracks.get(message.track.sid);
        if (participant && publication) {
          this._enabledChanged(participant, publication, message.type === 'trackEnabled');
        }
        break;
      }
      case 'publishAnswer':
        this._settle(message.seq, null, message);
        break;
      case 'publishError':
        // The server's code when it gives one (53300: only the presenter may
        // publish), so publishTrack() rejects with it; else a media failure.
        this._settle(message.seq, twilioError(message.code || 53400, message.message));
        break;
      case 'subscriberOffer':
        this._subQueue = this._subQueue
          .then(() => this._answerOffer(message))
          .catch((error) => console.error('local-video: subscribe failed', error));
        break;
      case 'subscriberReset':
        this._closeSubscriber();
        break;
      case 'layerSwitched':
        // Which simulcast layer the server now relays to us on this mid.
        this.receivedLayers.set(message.mid, {
          substream: message.substream,
          temporal: message.temporal,
        });
        this.emit('layerSwitched', message.mid, this.receivedLayers.get(message.mid));
        break;
      case 'mediaReconnecting':
        if (this.state === 'connected') {
          this.state = 'reconnecting';
          this.emit('reconnecting', twilioError(53405, 'Media connection failed'));
        }
        break;
      case 'mediaReconnected':
        this._resetMedia().then(() => {
          if (this.state === 'reconnecting') {
            this.state = 'connected';
            this.emit('reconnected');
          }
        });
        break;
      case 'disconnected':
        this._finish(twilioError(message.code, message.message));
        break;
      case 'error':
        console.error('local-video: server error', message.code, message.message);
        break;
      default:
        break;
    }
  }

  /**
   * _enabledChanged records a remote track's mute state and, if it changed, tells
   * the participant's and the room's listeners (twilio-video's trackEnabled/trackDisabled).
   * @param {RemoteParticipant} participant
   * @param {RemoteTrackPublication} publication
   * @param {boolean} enabled
   */
  _enabledChanged(participant, publication, enabled) {
    if (!publication._setEnabled(enabled)) return;
    const event = enabled ? 'trackEnabled' : 'trackDisabled';
    participant.emit(event, publication);
    this.emit(event, publication, participant);
  }

  /**
   * _participantArrived returns a participant, announcing it if new.
   * @param {ParticipantInfo} info
   * @returns {RemoteParticipant}
   */
  _participantArrived(info) {
    const known = this.participants.get(info.sid);
    if (known) return known;
    const participant = new RemoteParticipant(info);
    this.participants.set(info.sid, participant);
    this.emit('participantConnected', participant);
    return participant;
  }

  /**
   * _participantGone announces that a participant left, its tracks first.
   * @param {string} sid
   */
  _participantGone(sid) {
    const participant = this.participants.get(sid);
    if (!participant) return;
    for (const publication of participant.tracks.values()) {
      this._unsubscribe(participant, publication);
    }
    participant.state = 'disconnected';
    this.participants.delete(sid);
    this.emit('participantDisconnected', participant);
  }

  // Receiving ---------------------------------------------------------------------------

  /**
   * _answerOffer answers the server's offer for the receiving connection.
   * @param {SignalMessage} message - a subscriberOffer
   * @returns {Promise<void>}
   */
  async _answerOffer(message) {
    if (this.state === 'disconnected') return;
    if (!this._subPc) this._subPc = this._newPeerConnection('subscriber');
    const pc = this._subPc;
    /** @type {Map<string, SubscribeStream>} */
    const streams = new Map(
      message.streams.map((/** @type {SubscribeStream} */ s) => [s.mid, s]),
    );
    await pc.setRemoteDescription({ type: 'offer', sdp: message.sdp });
    const answer = await pc.createAnswer();
    await pc.setLocalDescription(answer);
    await gatheringComplete(pc);
    if (pc !== this._subPc) return;
    this._send({
      type: 'subscriberAnswer',
      sdp: /** @type {RTCSessionDescription} */ (pc.localDescription).sdp,
    });
    // Tracks no longer offered are unsubscribed; new ones are subscribed.
    const wanted = new Set([...streams.values()].map((s) => s.track));
    for (const participant of this.participants.values()) {
      for (const publication of participant.tracks.values()) {
        if (publication.isSubscribed && !wanted.has(publication.trackSid)) {
          this._unsubscribe(participant, publication);
        }
      }
    }
    for (const stream of streams.values()) {
      const transceiver = pc.getTransceivers().find((t) => t.mid === stream.mid);
      if (!transceiver) continue;
      const participant =
        this.participants.get(stream.participant) ||
        this._participantArrived({ sid: stream.participant, identity: '', tracks: [] });
      const publication = participant._addPublication({
        sid: stream.track,
        name: stream.name,
        kind: stream.kind,
      });
      const media = transceiver.receiver.track;
      const subscribed = /** @type {RemoteTrack} */ (publication.track);
      if (publication.isSubscribed && subscribed.mediaStreamTrack === media) continue;
      if (publication.isSubscribed) this._unsubscribe(participant, publication);
      const track = new RemoteTrack(media, stream.name, stream.track);
      track.isEnabled = publication.isTrackEnabled;
      publication.track = track;
      publication.isSubscribed = true;
      publication.emit('subscribed', track);
      participant.emit('trackSubscribed', track, publication);
      this.emit('trackSubscribed', track, publication, participant);
    }
    this._subStreams = streams;
  }

  /**
   * _unsubscribe announces that a subscribed track stopped arriving.
   * @param {RemoteParticipant} participant
   * @param {RemoteTrackPublication} publication
   */
  _unsubscribe(participant, publication) {
    if (!publication.isSubscribed) return;
    const track = publication.track;
    publication.isSubscribed = false;
    publication.track = null;
    publication.emit('unsubscribed', track);
    participant.emit('trackUnsubscribed', track, publication);
    this.emit('trackUnsubscribed', track, publication, participant);
  }

  /** _closeSubscriber closes the receiving connection and unsubscribes everything. */
  _closeSubscriber() {
    if (this._subPc) this._subPc.close();
    this._subPc = null;
    for (const participant of this.participants.values()) {
      for (const publication of participant.tracks.values()) {
        this._unsubscribe(participant, publication);
      }
    }
  }

  // Media recovery ------------------------------------------------------------------------

  /**
   * _newPeerConnection makes a PeerConnection that reports its failure and recovery.
   * @param {'publisher'|'subscriber'} role
   * @returns {RTCPeerConnection}
   */
  _newPeerConnection(role) {
    const pc = new RTCPeerConnection({
      bundlePolicy: 'max-bundle',
      iceServers: this._options.iceServers || [],
    });
    pc.addEventListener('connectionstatechange', () => {
      if (pc.connectionState === 'failed') this._mediaFailed(role, pc);
      if (pc.connectionState === 'connected') this._mediaRecovered();
    });
    return pc;
  }

  /**
   * _mediaFailed starts over a failed connection, ending the room if that takes too long.
   * @param {'publisher'|'subscriber'} role
   * @param {RTCPeerConnection} pc
   */
  _mediaFailed(role, pc) {
    if (this.state === 'disconnected') return;
    const current = role === 'publisher' ? this.localParticipant._pc : this._subPc;
    if (pc !== current) return;
    if (this.state === 'connected') {
      this.state = 'reconnecting';
      this.emit('reconnecting', twilioError(53405, 'Media connection failed'));
    }
    if (!this._mediaTimer) {
      this._mediaTimer = setTimeout(() => {
        if (this.state === 'reconnecting') {
          this._finish(twilioError(53000, 'Media connection could not be restored'));
        }
      }, RECONNECT_WINDOW);
    }
    this._send({ type: 'resetMedia', target: role });
    if (role === 'publisher') this.localParticipant._restart().catch(() => {});
    else this._closeSubscriber();
  }

  /** _mediaRecovered reports the room connected again once media is back. */
  _mediaRecovered() {
    if (this._mediaTimer && this.state === 'reconnecting' && this._ws?.readyState === 1) {
      clearTimeout(this._mediaTimer);
      this._mediaTimer = undefined;
      this.state = 'connected';
      this.emit('reconnected');
    }
  }

  /**
   * _resetMedia receives and publishes everything again on new connections.
   * @returns {Promise<void>}
   */
  async _resetMedia() {
    this._closeSubscriber();
    try {
      await this.localParticipant._restart();
    } catch (error) {
      console.error('local-video: republishing failed', error);
    }
  }

  /**
   * _finish ends the room once: timers, requests, connections, then `disconnected`.
   * @param {Error|null} error - why, or null when this browser left
   */
  _finish(error) {
    if (this.state === 'disconnected') return;
    this.state = 'disconnected';
    clearInterval(this._pinger);
    clearInterval(this._watchdog);
    clearInterval(this._reporter);
    clearTimeout(this._mediaTimer);
    for (const seq of [...this._pending.keys()]) {
      this._settle(seq, twilioError(53000, 'disconnected'));
    }
    const ws = this._ws;
    this._ws = null;
    if (ws) ws.close();
    this.localParticipant?._close();
    this._closeSubscriber();
    for (const sid of [...this.participants.keys()]) this._participantGone(sid);
    this.emit('disconnected', this, error || undefined);
  }
}

/**
 * defaultSignalUrl returns ws(s)://<this origin>/video/signal.
 * @returns {string}
 */
function defaultSignalUrl() {
  const scheme = location.protocol === 'https:' ? 'wss:' : 'ws:';
  return `${scheme}//${location.host}/video/signal`;
}

/**
 * initialTracks returns the tracks to publish at connect, as twilio-video picks them.
 * @param {ConnectOptions} options
 * @returns {Promise<Array<{track: MediaStreamTrack|LocalTrack, name: string|undefined}>>}
 */
async function initialTracks(options) {
  if (options.tracks) {
    return options.tracks.map((t) => ({
      track: t,
      name: /** @type {Partial<LocalTrack>} */ (t).name,
    }));
  }
  const audio = options.audio !== undefined ? options.audio : true;
  const video = options.video !== undefined ? options.video : true;
  if (!audio && !video) return [];
  const stream = await navigator.mediaDevices.getUserMedia({ audio, video });
  return stream.getTracks().map((t) => ({
    track: t,
    name: t.kind === 'audio' ? 'microphone' : 'camera',
  }));
}

/**
 * connect joins a room with an Access Token; resolves to a Room.
 * @param {string} token - the Access Token
 * @param {ConnectOptions} [options]
 * @returns {Promise<Room>}
 */
export async function connect(token, options = {}) {
  const settings = { ...options, signalUrl: options.signalUrl || defaultSignalUrl() };
  const tracks = await initialTracks(settings);
  const room = new Room(token, settings);
  const snapshot = await room._open(null);
  room.sid = snapshot.room.sid;
  room.name = snapshot.room.name;
  room.state = 'connected';
  room.localParticipant = new LocalParticipant(room, snapshot.participant);
  for (const info of snapshot.participants) room._participantArrived(info);
  room._startPinging();
  // Published together, the tracks share one offer/answer round.
  await Promise.all(
    tracks.map(({ track, name }) =>
      room.localParticipant.publishTrack(track, { name }).catch((error) => {
        console.error('local-video: could not publish', name, error);
      }),
    ),
  );
  return room;
}

if (typeof window !== 'undefined') {
  /** @type {any} */ (window).PodiumLocalVideo = { connect };
}
