// The attendee's side of the stage: the invitation dialog (microphone check with
// a level meter, optional camera preview, Accept / Decline) and, once on stage,
// the "You are on stage" bar with Mute and Leave stage. The protocol is
// stage-client.js; this draws it.

import { openDevice } from './media-devices.js';
import { watchLevel } from './level-meter.js';
import { mediaErrorMessage, userMessage } from './messages.js';
import { attendeeStageApi, goOnStage, myStage } from './stage-client.js';
import { el } from './ui-kit.js';

/**
 * @typedef {import('./stage-client.js').StageSection} StageSection
 * @typedef {import('./stage-client.js').StageConnection} StageConnection
 * @typedef {import('./stage-client.js').ConnectionInfo} ConnectionInfo
 */

/**
 * @typedef {object} JoinedAttendee what the prompt needs of the attendee session
 * @property {string} token
 * @property {string} identity
 * @property {ConnectionInfo} connection
 */

// How long a speaker whose connection ended waits for the stage section to say why.
const ENDED_WAIT_MS = 2000;

/**
 * button makes a button.
 * @param {string} text
 * @param {string} testid
 * @param {string} [className]
 * @returns {HTMLButtonElement}
 */
function button(text, testid, className = '') {
  return el('button', { className, text, attrs: { type: 'button', 'data-testid': testid } });
}

/**
 * stopTrack ends a capture if there is one.
 * @param {MediaStreamTrack|null} track
 */
function stopTrack(track) {
  if (track) track.stop();
}

/**
 * createStagePrompt runs the attendee's stage: invitation, on stage, back in the audience.
 * @param {object} options
 * @param {string} options.presentationId
 * @param {HTMLElement} options.anchor - the on-stage bar goes right before it
 * @param {import('./ui-kit.js').MessageLine} options.messages
 * @param {(slotIdentity: string) => void} [options.onOwnSlot] - '' when off stage
 */
export function createStagePrompt({ presentationId, anchor, messages, onOwnSlot = () => {} }) {
  // The invitation dialog.
  const level = el('meter', {
    attrs: { min: '0', max: '1', low: '0.05', high: '0.8', optimum: '0.4', value: '0',
      'data-testid': 'stage-mic-level', 'aria-label': 'Microphone level' },
  });
  const micHint = el('p', { className: 'hint', attrs: { 'data-testid': 'stage-mic-hint' },
    text: 'Say something: the bar moves when your microphone hears you.' });
  const cameraToggle = el('input', { attrs: { type: 'checkbox', 'data-testid': 'stage-camera' } });
  const preview = el('video', { className: 'stage-preview',
    attrs: { playsinline: '', 'data-testid': 'stage-preview', 'aria-label': 'Your camera' } });
  preview.muted = true;
  preview.autoplay = true;
  preview.hidden = true;
  const problem = el('p', { className: 'error', attrs: { 'data-testid': 'stage-problem', role: 'alert' } });
  problem.hidden = true;
  const acceptButton = button('Accept and go on stage', 'stage-accept');
  const declineButton = button('Decline', 'stage-decline', 'secondary');
  const dialog = el('dialog', {
    className: 'stage-dialog',
    attrs: { 'data-testid': 'stage-invite', 'aria-labelledby': 'stage-invite-title' },
  }, [
    el('h2', { text: 'The presenter invites you on stage', attrs: { id: 'stage-invite-title' } }),
    el('p', { className: 'lead',
      text: 'Everyone will hear you (and see you, if you turn your camera on). Check your microphone first.' }),
    el('div', { className: 'level-row' }, [el('span', { className: 'muted', text: 'Microphone' }), level]),
    micHint,
    el('label', { className: 'check' }, [cameraToggle, document.createTextNode(' Turn my camera on')]),
    preview,
    problem,
    el('div', { className: 'row dialog-actions' }, [acceptButton, declineButton]),
  ]);
  // Escape would close the dialog without an answer; the buttons give one.
  dialog.addEventListener('cancel', (event) => event.preventDefault());
  document.body.append(dialog);

  // The on-stage bar.
  const barText = el('span', { className: 'on-stage-text', attrs: { 'data-testid': 'on-stage-text' } });
  const muteButton = button('Mute', 'stage-mute', 'secondary small');
  const leaveButton = button('Leave stage', 'stage-leave', 'danger small');
  const bar = el('div', {
    className: 'on-stage-bar',
    attrs: { 'data-testid': 'on-stage', role: 'status' },
  }, [el('span', { className: 'on-air', text: '● On stage' }), barText, muteButton, leaveButton]);
  bar.hidden = true;
  anchor.before(bar);

  /** @type {ReturnType<typeof attendeeStageApi>|null} */
  let api = null;
  /** @type {JoinedAttendee|null} */
  let joined = null;
  /** @type {StageSection|null} */
  let section = null;
  /** @type {'idle'|'invited'|'joining'|'on'} */
  let phase = 'idle';
  let answeredSlot = ''; // the invitation already answered (no second prompt)
  /** @type {MediaStreamTrack|null} */
  let microphone = null;
  /** @type {MediaStreamTrack|null} */
  let camera = null;
  /** @type {{stop: () => void}|null} */
  let meter = null;
  /** @type {StageConnection|null} */
  let stage = null;
  let selfMuted = false;
  let presenterMuted = false;
  /** @type {ReturnType<typeof setTimeout>|undefined} the stage connection ended: why? */
  let endedTimer;

  /**
   * showProblem says what went wrong in the dialog ('' hides it).
   * @param {string} text
   */
  function showProblem(text) {
    problem.textContent = text;
    problem.hidden = !text;
  }

  /** releaseDevices stops the microphone, the camera and the meter. */
  function releaseDevices() {
    if (meter) meter.stop();
    meter = null;
    stopTrack(microphone);
    stopTrack(camera);
    microphone = null;
    camera = null;
    preview.srcObject = null;
    preview.hidden = true;
    cameraToggle.checked = false;
  }

  /** openPrompt shows the invitation and starts the microphone check. */
  async function openPrompt() {
    phase = 'invited';
    showProblem('');
    acceptButton.disabled = true;
    declineButton.disabled = false;
    if (!dialog.open) dialog.showModal();
    try {
      microphone = await openDevice('audio');
      if (phase !== 'invited') {
        releaseDevices();
        return;
      }
      meter = watchLevel(microphone, (value) => {
        level.value = value;
      });
      acceptButton.disabled = false;
      acceptButton.focus();
    } catch (ex) {
      console.warn('Podium: no microphone for the stage', ex);
      showProblem(`${mediaErrorMessage(ex, 'microphone')} You need a microphone to speak.`);
    }
  }

  /**
   * closePrompt hides the invitation.
   * @param {string} [news] - said on the message line
   */
  function closePrompt(news) {
    if (dialog.open) dialog.close();
    if (phase === 'invited') phase = 'idle';
    if (news) messages.say(news);
  }

  /** updateBar shows the on-stage bar and what Mute can do. */
  function updateBar() {
    bar.hidden = phase !== 'on';
    const muted = selfMuted || presenterMuted;
    barText.textContent = presenterMuted
      ? 'You are on stage. The presenter muted you.'
      : muted ? 'You are on stage, muted.' : 'You are on stage: everyone hears you.';
    muteButton.textContent = muted ? 'Unmute' : 'Mute';
    muteButton.setAttribute('aria-pressed', String(muted));
    muteButton.disabled = presenterMuted;
    if (stage) stage.setMuted(muted);
  }

  /**
   * offStage ends the speaker connection and turns the page back into an attendee's.
   * @param {string} [news]
   */
  function offStage(news) {
    if (stage) stage.disconnect();
    stage = null;
    phase = 'idle';
    selfMuted = false;
    presenterMuted = false;
    releaseDevices();
    onOwnSlot('');
    updateBar();
    if (news) messages.say(news);
  }

  /**
   * onConnectionEnded: the presenter removed this speaker (the stage section says
   * so in a moment) or the connection dropped (the slot is given back).
   */
  function onConnectionEnded() {
    offStage();
    if (api) api.leave().catch((ex) => console.warn('Podium: leaving the stage failed', ex));
    endedTimer = setTimeout(() => {
      endedTimer = undefined;
      messages.say('Your stage connection ended. You are watching again; the presenter ' +
        'can invite you again.');
    }, ENDED_WAIT_MS);
  }

  cameraToggle.addEventListener('change', async () => {
    if (!cameraToggle.checked) {
      stopTrack(camera);
      camera = null;
      preview.srcObject = null;
      preview.hidden = true;
      return;
    }
    try {
      camera = await openDevice('video');
      preview.srcObject = new MediaStream([camera]);
      preview.hidden = false;
      showProblem('');
    } catch (ex) {
      cameraToggle.checked = false;
      showProblem(`${mediaErrorMessage(ex, 'camera')} You can go on stage with your voice only.`);
    }
  });

  acceptButton.addEventListener('click', async () => {
    if (!api || !joined || !microphone || phase !== 'invited') return;
    phase = 'joining';
    acceptButton.disabled = true;
    declineButton.disabled = true;
    acceptButton.textContent = 'Going on stage…';
    try {
      const accepted = await api.accept();
      answeredSlot = accepted.slot;
      if (meter) meter.stop();
      meter = null;
      const seat = myStage(section, joined.identity).seat;
      presenterMuted = Boolean(seat && seat.muted);
      stage = await goOnStage({
        connection: joined.connection,
        accepted,
        microphone,
        camera,
        muted: presenterMuted,
        onEnded: onConnectionEnded,
      });
      phase = 'on';
      closePrompt();
      onOwnSlot(accepted.slot_identity);
      updateBar();
    } catch (ex) {
      console.error('Podium: going on stage failed', ex);
      phase = 'invited';
      showProblem(userMessage(ex));
      declineButton.disabled = false;
      acceptButton.disabled = !microphone;
    } finally {
      acceptButton.textContent = 'Accept and go on stage';
    }
  });

  declineButton.addEventListener('click', async () => {
    if (!api) return;
    const seat = joined && myStage(section, joined.identity).seat;
    answeredSlot = seat ? seat.slot : '';
    declineButton.disabled = true;
    releaseDevices();
    closePrompt();
    try {
      await api.decline();
      messages.say('You declined the invitation.');
    } catch (ex) {
      messages.fail('declining the invitation failed', ex);
    }
  });

  muteButton.addEventListener('click', () => {
    selfMuted = !selfMuted;
    updateBar();
  });

  leaveButton.addEventListener('click', async () => {
    leaveButton.disabled = true;
    offStage('You left the stage. You are watching again.');
    try {
      if (api) await api.leave();
    } catch (ex) {
      messages.fail('leaving the stage failed', ex);
    } finally {
      leaveButton.disabled = false;
    }
  });

  /** follow reacts to the stage section as it concerns this attendee. */
  function follow() {
    if (!joined) return;
    const mine = myStage(section, joined.identity);
    if (mine.role === 'invited' && mine.seat && phase === 'idle' &&
        answeredSlot !== mine.seat.slot) {
      openPrompt();
    } else if (mine.role === 'none' && phase === 'invited') {
      releaseDevices();
      closePrompt('The presenter withdrew the invitation.');
    } else if (mine.role === 'none' && (phase === 'on' || endedTimer !== undefined)) {
      clearTimeout(endedTimer);
      endedTimer = undefined;
      offStage('The presenter took you off stage. You are watching again.');
    } else if (mine.role === 'speaking' && mine.seat && phase === 'on') {
      presenterMuted = mine.seat.muted;
      updateBar();
    }
    if (mine.role === 'none') answeredSlot = '';
  }

  return {
    /**
     * connect follows a joined attendee (null: left the presentation).
     * @param {JoinedAttendee|null} attendee
     */
    connect(attendee) {
      if (!attendee) {
        if (phase === 'on') offStage();
        releaseDevices();
        closePrompt();
      }
      joined = attendee;
      api = attendee ? attendeeStageApi(presentationId, attendee.token) : null;
      follow();
    },
    /**
     * onSection takes the stream's `stage` section.
     * @param {StageSection} next
     */
    onSection(next) {
      section = next;
      follow();
    },
  };
}
