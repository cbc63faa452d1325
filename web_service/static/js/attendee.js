// The attendee page: join, watch the presenter's screen, camera and voice; ask,
// upvote, react, raise a hand and vote in polls.

import { createPlayer } from './attendee-player.js';
import { attendeeApi } from './audience-api.js';
import { createBroadcastView } from './broadcast-view.js';
import { byId, reportError, setAttendeeCount, setStatus, show, showError } from './dom.js';
import { requestBroadcastOverflow, requestToken, watchState } from './podium-api.js';
import { createQualityMenu } from './quality-menu.js';
import { createAttendeePolls } from './polls-panel.js';
import { watchPresentation } from './presentation-session.js';
import { createAttendeeQa } from './qa-panel.js';
import { createReactions } from './reactions.js';
import { isBeingRecorded } from './recording-api.js';
import { watchSpeakers } from './stage-client.js';
import { createStagePrompt } from './stage-prompt.js';
import { createStageTiles } from './stage-tiles.js';
import { messageLine, setupTabs } from './ui-kit.js';
import { userMessage } from './messages.js';
import { ROOM_FULL } from './video-client.js';

const presentationId = byId('presentation').dataset.presentationId || '';
const joinForm = /** @type {HTMLFormElement} */ (byId('join-form'));
const joinButton = /** @type {HTMLButtonElement} */ (byId('join'));
const nameInput = /** @type {HTMLInputElement} */ (byId('name-input'));
const stageMessage = byId('stage-message');
const actions = byId('audience-actions');
const handButton = /** @type {HTMLButtonElement} */ (byId('hand-button'));

const messages = messageLine(byId('panel-message'));
setupTabs(byId('panel-tabs'));
const qa = createAttendeeQa({
  messages,
  onCount: (count) => {
    byId('qa-count').textContent = String(count);
  },
});
const polls = createAttendeePolls({
  messages,
  onCount: (open) => {
    byId('polls-count').textContent = String(open);
  },
});
const reactions = createReactions(byId('reaction-layer'), messages);
const speakerTiles = createStageTiles(byId('stage'));
const stagePrompt = createStagePrompt({
  presentationId, anchor: actions, messages, onOwnSlot: speakerTiles.setOwnSlot,
});
/** @type {{stop: () => void}|null} */
let speakersWatch = null;
// Speakers follow the player's volume and "Mute sound", set on the presenter's voice.
const voice = /** @type {HTMLAudioElement} */ (byId('presenter-audio'));
voice.addEventListener('volumechange', () => speakerTiles.setVolume(voice.volume, voice.muted));
/** @type {import('./audience-api.js').AttendeeApi|null} the audience writes, once joined */
let audience = null;
/** @type {string} this attendee's identity, to find its own hand in the queue */
let identity = '';
let handRaised = false;
let handBusy = false;

/** @type {import('./presentation-session.js').AttendeeSession|null} */
let session = null;
let joining = false;
let over = false;
/** @type {string} the presentation's status from the state stream */
let stateStatus = '';
const player = createPlayer({ onChange: () => updateStatus() });
const quality = createQualityMenu({
  indicator: byId('link-quality'),
  select: /** @type {HTMLSelectElement} */ (byId('quality-select')),
  box: byId('quality-box'),
});
/** @type {{on: boolean, playlist: string}} from the state stream */
let broadcast = { on: false, playlist: '' };
let broadcastText = '';
const broadcastView = createBroadcastView({
  base: byId('presentation').dataset.broadcastBase || '/broadcast/',
  onText: (text) => {
    broadcastText = text;
    updateStatus();
  },
});
const reconnecting = { video: false, state: false };

/**
 * updateBanner shows "Reconnecting…" while the video or the state stream is down.
 */
function updateBanner() {
  show(byId('reconnecting'), !over && (reconnecting.video || reconnecting.state));
}

/**
 * updateStatus tells the attendee what is happening.
 */
function updateStatus() {
  // The camera alone counts: the presenter may have stopped sharing the screen.
  const hasScreen = player.showing();
  if (over) setStatus('The presentation is over.');
  else if (joining) setStatus('Joining…');
  else if (broadcastView.active()) setStatus('Watching the broadcast, a few seconds behind live.');
  else if (!session && stateStatus === 'live') setStatus('The presentation is live. Join to watch.');
  else if (!session) {
    setStatus('The presenter has not started yet. Join now and the talk plays as soon as they do.');
  } else if (hasScreen) setStatus('Live'); // the state stream may lag the video a little
  else if (stateStatus === 'live') setStatus('Connecting to the presenter…');
  else setStatus('Waiting for the presenter');
  stageMessage.textContent = stateStatus === 'live'
    ? 'Connecting to the presenter…'
    : 'Waiting for the presenter…';
  if (broadcastView.active()) stageMessage.textContent = broadcastText;
  show(stageMessage, broadcastView.active() ? Boolean(broadcastText) : !player.showing());
  show(joinForm, !session && !broadcastView.active() && !over);
  joinButton.disabled = joining || over;
}

/**
 * showOver switches the page to "The presentation is over".
 */
function showOver() {
  over = true;
  show(byId('over'), true);
  player.setVisible(false);
  broadcastView.stop();
  if (session) session.leave();
  connectAudience(null);
  updateBanner();
  updateStatus();
}

/**
 * onDisconnected handles the end of the video connection.
 * @param {{over: boolean, error?: any, message?: string}} end
 */
function onDisconnected(end) {
  session = null;
  connectAudience(null);
  reconnecting.video = false;
  updateBanner();
  if (end.over) {
    showOver();
    return;
  }
  if (end.error) {
    reportError('the video connection ended', end.error, `${end.message} You can join again.`);
  }
  player.setVisible(false);
  updateStatus();
}

/**
 * onJoin joins the presentation as an attendee.
 * @param {SubmitEvent} event
 */
async function onJoin(event) {
  event.preventDefault();
  if (joining || session || broadcastView.active() || over) return;
  joining = true;
  showError('');
  updateStatus();
  try {
    if (broadcast.on) {
      await joinBroadcast();
      return;
    }
    session = await watchPresentation({
      presentationId,
      name: nameInput.value.trim() || undefined,
      onScreenTrack: (track) => player.play('screen', track),
      onCameraTrack: (track) => player.play('camera', track),
      onAudioTrack: (track) => player.play('audio', track),
      onScreenAudioTrack: (track) => player.play('screenAudio', track),
      onReconnecting: () => {
        reconnecting.video = true;
        updateBanner();
      },
      onReconnected: () => {
        reconnecting.video = false;
        updateBanner();
      },
      onDisconnected,
    });
    player.setVisible(true);
    connectAudience(session);
  } catch (ex) {
    if (ex && /** @type {any} */ (ex).status === 410) showOver();
    else if (ex && /** @type {any} */ (ex).code === ROOM_FULL) {
      // The room is full: the broadcast has room for everyone.
      await joinBroadcast({ overflow: true }).catch(
        (why) => reportError('could not join', why, userMessage(ex)));
    } else reportError('could not join', ex, userMessage(ex));
  } finally {
    joining = false;
    updateStatus();
  }
}

/**
 * joinBroadcast watches the HLS broadcast instead of the interactive room; the
 * token still identifies this attendee for questions, votes, reactions and hands.
 * @param {{overflow?: boolean}} [why] - overflow: the room was full
 */
async function joinBroadcast({ overflow = false } = {}) {
  const answer = await requestToken(presentationId, {
    role: 'attendee', name: nameInput.value.trim() || undefined,
  });
  if (overflow && !broadcast.on) {
    await requestBroadcastOverflow(presentationId, answer.token);
    broadcast = { on: true, playlist: broadcast.playlist };
  }
  audience = attendeeApi(presentationId, answer.token);
  identity = answer.identity;
  qa.connect(audience);
  polls.connect(audience);
  show(actions, true);
  player.setVisible(true);
  broadcastView.start(broadcast.playlist);
}

/**
 * connectAudience lets the attendee take part with the session's token (null: no more).
 * @param {import('./presentation-session.js').AttendeeSession|null} joined
 */
function connectAudience(joined) {
  audience = joined && !over ? attendeeApi(presentationId, joined.token) : null;
  identity = audience && joined ? joined.identity : '';
  qa.connect(audience);
  polls.connect(audience);
  quality.connect(joined && !over ? joined.room : null);
  stagePrompt.connect(audience && joined ? joined : null);
  if (speakersWatch) speakersWatch.stop();
  speakersWatch = audience && joined ? watchSpeakers(joined.room, speakerTiles.onSpeakers) : null;
  if (!speakersWatch) speakerTiles.onSpeakers([]);
  show(actions, Boolean(audience));
  if (!audience) setHand(false);
}

/**
 * setHand shows whether this attendee's hand is up.
 * @param {boolean} raised
 */
function setHand(raised) {
  handRaised = raised;
  handButton.setAttribute('aria-pressed', String(raised));
  handButton.textContent = raised ? '✋ Lower hand' : '✋ Raise hand';
}

/**
 * onHand raises or lowers this attendee's hand.
 */
async function onHand() {
  if (!audience || handBusy) return;
  handBusy = true;
  const wanted = !handRaised;
  try {
    const answer = await audience.hand(wanted);
    setHand(answer.raised);
    messages.say(answer.raised ? 'Hand raised. The presenter sees you in the queue.'
      : 'Hand lowered.');
  } catch (ex) {
    messages.fail('raising or lowering the hand failed', ex);
  } finally {
    handBusy = false;
  }
}

joinForm.addEventListener('submit', onJoin);
handButton.addEventListener('click', onHand);
reactions.connectBar(byId('audience-actions'), (emoji) =>
  audience ? audience.react(emoji) : Promise.resolve(null),
);
watchState(presentationId, {
  onState: (view) => {
    stateStatus = view.status;
    if (view.broadcast) broadcast = view.broadcast;
    if (broadcastView.active() && !broadcast.on && view.status !== 'ended') {
      // The presenter stopped broadcasting: joining again takes the room.
      broadcastView.stop();
      connectAudience(null);
      player.setVisible(false);
      showError('The presenter stopped the broadcast. Join again to watch in real time.');
    }
    setAttendeeCount(view.attendees.count);
    player.onPresenter(view.presenter);
    show(byId('recording-banner'), isBeingRecorded(view.recording) && view.status !== 'ended');
    if (view.status === 'ended' && !over) showOver();
    else updateStatus();
  },
  onQuestions: (section) => qa.onSection(section),
  onPolls: (section) => polls.onSection(section),
  onHands: (section) => {
    // The presenter may have lowered it: the queue is the truth.
    if (identity) setHand(section.queue.some((hand) => hand.identity === identity));
  },
  onReactions: (burst) => reactions.onBurst(burst),
  onStage: (section) => {
    speakerTiles.onSection(section);
    stagePrompt.onSection(section);
  },
  onConnection: (state) => {
    reconnecting.state = state === 'reconnecting';
    updateBanner();
    if (state === 'gone') showError('This presentation does not exist any more.');
    // What the stream never carries (own questions, votes, ballots) may have
    // changed while it was down.
    if (state === 'open' && audience) {
      qa.refreshMine();
      polls.refreshMine();
    }
  },
});
updateStatus();
