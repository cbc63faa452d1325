// The stage protocol: who is invited or speaking (the stream's `stage` section),
// the stage calls, the speaker's second, publish-only room connection, and the
// speakers' tracks in a room. No DOM here: stage-prompt.js, stage-tiles.js and
// stage-panel.js draw it (docs/stage.md).

import { presentationPath, request } from './podium-api.js';
import { connectVideo, withUserMessage } from './video-client.js';

export const SPEAKER_PREFIX = 'speaker-';

/**
 * @typedef {object} StageSpeaker one seat of the `stage` section
 * @property {string} slot - '1'..'N'
 * @property {string} slot_identity - the identity the speaker publishes with: speaker-<slot>
 * @property {string} identity - the attendee's identity
 * @property {string} name
 * @property {'invited'|'speaking'} status
 * @property {boolean} muted - the presenter muted this speaker
 */

/**
 * @typedef {object} StageSection the `stage` event
 * @property {number} version
 * @property {StageSpeaker[]} speakers - by slot
 */

/**
 * @typedef {object} MyStage what the stage means for one attendee
 * @property {'none'|'invited'|'speaking'} role
 * @property {StageSpeaker|null} seat
 */

/**
 * myStage says whether an attendee is invited or on stage.
 * @param {StageSection|null} section
 * @param {string} identity - the attendee's identity ('' before joining)
 * @returns {MyStage}
 */
export function myStage(section, identity) {
  const seat = (identity && section && section.speakers.find((s) => s.identity === identity)) ||
    null;
  return { role: seat ? seat.status : 'none', seat };
}

/**
 * isSpeakerIdentity tells whether a room participant is a stage slot connection.
 * @param {string} identity
 * @returns {boolean}
 */
export function isSpeakerIdentity(identity) {
  return /^speaker-[1-9][0-9]*$/.test(identity);
}

/**
 * speakerName names a slot identity for people, from the stage section.
 * @param {StageSection|null} section
 * @param {string} slotIdentity
 * @returns {string}
 */
export function speakerName(section, slotIdentity) {
  const seat = section && section.speakers.find((s) => s.slot_identity === slotIdentity);
  return (seat && seat.name) || 'Speaker';
}

/**
 * attendeeStageApi returns an attendee's stage calls (authenticated with its access token).
 * @param {string} presentationId
 * @param {string} token - the attendee's access token
 */
export function attendeeStageApi(presentationId, token) {
  const base = `${presentationPath(presentationId)}/stage`;
  return {
    /** @returns {Promise<{slot: string, slot_identity: string, token: string, room: string}>} */
    accept: () => request('POST', `${base}/accept`, { body: {}, bearer: token }),
    /** @returns {Promise<any>} */
    decline: () => request('POST', `${base}/decline`, { body: {}, bearer: token }),
    /** @returns {Promise<any>} */
    leave: () => request('POST', `${base}/leave`, { body: {}, bearer: token }),
  };
}

/**
 * presenterStageApi returns the presenter's stage calls (with the presenter key).
 * @param {string} presentationId
 * @param {string} key
 */
export function presenterStageApi(presentationId, key) {
  const base = `${presentationPath(presentationId)}/stage`;
  const authorization = `Presenter ${key}`;
  return {
    /**
     * invite reserves a slot for a raised hand; a full stage answers 409.
     * @param {string} identity
     * @returns {Promise<any>}
     */
    invite: (identity) => request('POST', base, { body: { identity }, authorization }),
    /**
     * mute mutes (true) a speaker or lets them unmute (false).
     * @param {string} slot
     * @param {boolean} muted
     * @returns {Promise<any>}
     */
    mute: (slot, muted) =>
      request('POST', `${base}/${encodeURIComponent(slot)}/mute`, { body: { muted }, authorization }),
    /**
     * remove withdraws an invitation or takes a speaker off stage.
     * @param {string} slot
     * @returns {Promise<any>}
     */
    remove: (slot) => request('DELETE', `${base}/${encodeURIComponent(slot)}`, { authorization }),
  };
}

/**
 * @typedef {object} StageConnection the speaker's publish-only room connection
 * @property {string} slotIdentity
 * @property {(muted: boolean) => void} setMuted - disable (true) or enable the microphone
 * @property {() => boolean} muted
 * @property {() => void} disconnect
 */

/**
 * @typedef {object} ConnectionInfo how the attendee's own connection reached the room
 * @property {'twilio'|'local'} backend
 * @property {string} signal_url
 * @property {RTCIceServer[]|null} ice_servers
 */

/**
 * goOnStage connects a second, publish-only room connection with the slot's token
 * and publishes the microphone (and the camera, if given).
 * @param {object} options
 * @param {ConnectionInfo} options.connection - from the attendee session
 * @param {{token: string, room: string, slot_identity: string}} options.accepted - accept()'s answer
 * @param {MediaStreamTrack} options.microphone
 * @param {MediaStreamTrack|null} [options.camera]
 * @param {boolean} [options.muted] - start muted (the presenter muted this slot)
 * @param {(error: any) => void} [options.onEnded] - the connection ended without disconnect()
 * @returns {Promise<StageConnection>}
 */
export async function goOnStage(options) {
  const { connection, accepted, microphone, camera = null } = options;
  const onEnded = options.onEnded || (() => {});
  const room = await connectVideo(
    {
      token: accepted.token,
      room: accepted.room,
      identity: accepted.slot_identity,
      backend: connection.backend,
      signal_url: connection.signal_url,
      ice_servers: connection.ice_servers,
      expires_at: 0,
      ttl: 0,
    },
    { tracks: [], automaticSubscription: false, audio: false, video: false },
  );
  let leaving = false;
  // Closing or reloading the page leaves the stage at once (the slot is freed).
  const onPageHide = () => room.disconnect();
  globalThis.addEventListener('pagehide', onPageHide);
  room.on('disconnected', (/** @type {any} */ _room, /** @type {any} */ error) => {
    globalThis.removeEventListener('pagehide', onPageHide);
    if (!leaving) onEnded(error);
  });
  /** @type {any} */
  let voice;
  try {
    microphone.enabled = !options.muted;
    voice = await room.localParticipant.publishTrack(microphone, { name: 'microphone' });
    // twilio-video's LocalTrack starts enabled whatever the capture says.
    voice.track.enable(!options.muted);
    if (camera) await room.localParticipant.publishTrack(camera, { name: 'camera' });
  } catch (ex) {
    leaving = true;
    room.disconnect();
    throw withUserMessage(ex);
  }
  let muted = Boolean(options.muted);
  return {
    slotIdentity: accepted.slot_identity,
    setMuted(value) {
      muted = value;
      voice.track.enable(!value);
    },
    muted: () => muted,
    disconnect() {
      leaving = true;
      room.disconnect();
    },
  };
}

/**
 * @typedef {object} SpeakerMedia one speaker's tracks as a room delivers them
 * @property {string} identity - speaker-<slot>
 * @property {import('./video-client.js').VideoTrack|null} audio
 * @property {import('./video-client.js').VideoTrack|null} video
 * @property {boolean} microphoneOn - the speaker's microphone track is enabled
 */

/**
 * watchSpeakers follows the stage slots' tracks in a room (the attendee's or the
 * presenter's connection, whose subscribe rules include every slot).
 * @param {import('./video-client.js').VideoRoom} room
 * @param {(speakers: SpeakerMedia[]) => void} onChange - all speakers, by identity
 * @returns {{stop: () => void}}
 */
export function watchSpeakers(room, onChange) {
  /** @type {Map<string, SpeakerMedia>} */
  const speakers = new Map();
  let stopped = false;

  /**
   * entry returns a speaker's media record, made on first use.
   * @param {string} identity
   * @returns {SpeakerMedia}
   */
  function entry(identity) {
    let found = speakers.get(identity);
    if (!found) {
      found = { identity, audio: null, video: null, microphoneOn: true };
      speakers.set(identity, found);
    }
    return found;
  }

  /** report tells the page, sorted by slot identity. */
  function report() {
    if (stopped) return;
    onChange([...speakers.values()]
      .filter((s) => s.audio || s.video)
      .sort((a, b) => a.identity.localeCompare(b.identity, 'en', { numeric: true })));
  }

  /**
   * @param {any} track
   * @param {any} publication
   * @param {any} participant
   */
  function onSubscribed(track, publication, participant) {
    if (!isSpeakerIdentity(participant.identity) || track.kind === 'data') return;
    const speaker = entry(participant.identity);
    if (track.kind === 'audio') {
      speaker.audio = track;
      speaker.microphoneOn = publication ? publication.isTrackEnabled !== false : true;
    } else speaker.video = track;
    report();
  }

  /**
   * @param {any} track
   * @param {any} _publication
   * @param {any} participant
   */
  function onUnsubscribed(track, _publication, participant) {
    const speaker = speakers.get(participant.identity);
    if (!speaker) return;
    if (speaker.audio === track) speaker.audio = null;
    if (speaker.video === track) speaker.video = null;
    report();
  }

  /**
   * @param {boolean} enabled
   * @returns {(publication: any, participant: any) => void}
   */
  function onEnabled(enabled) {
    return (publication, participant) => {
      if (!participant || !isSpeakerIdentity(participant.identity)) return;
      if (publication.kind !== 'audio') return;
      entry(participant.identity).microphoneOn = enabled;
      report();
    };
  }

  /** @param {any} participant */
  function onGone(participant) {
    if (speakers.delete(participant.identity)) report();
  }

  room.on('trackSubscribed', onSubscribed);
  room.on('trackUnsubscribed', onUnsubscribed);
  room.on('trackEnabled', onEnabled(true));
  room.on('trackDisabled', onEnabled(false));
  room.on('participantDisconnected', onGone);
  room.on('disconnected', () => {
    speakers.clear();
    report();
  });
  room.participants.forEach((participant) => {
    participant.tracks.forEach((/** @type {any} */ publication) => {
      if (publication.track) onSubscribed(publication.track, publication, participant);
    });
  });
  return {
    stop() {
      stopped = true;
    },
  };
}
