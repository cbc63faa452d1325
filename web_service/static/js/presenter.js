// The presenter page: devices and preview, Start presenting, mute, camera, screen
// switching, Stop, live attendee count; moderate questions, take raised hands, run
// polls, download what was said.

import { presenterApi } from './audience-api.js';
import { byId, reportError, setAttendeeCount, setStatus, show, showError } from './dom.js';
import { createHands } from './hands-panel.js';
import { watchState } from './podium-api.js';
import { broadcastApi, createBroadcastControl } from './broadcast-control.js';
import { createPollsAdmin } from './polls-admin.js';
import { startPresenting } from './presentation-session.js';
import { createPresenterMedia } from './presenter-media.js';
import { createModeration } from './qa-moderation.js';
import { createReactions } from './reactions.js';
import { recordingApi } from './recording-api.js';
import { createRecordingPanel } from './recording-panel.js';
import { showReport } from './report-panel.js';
import { presenterStageApi, watchSpeakers } from './stage-client.js';
import { createStagePanel } from './stage-panel.js';
import { createStageTiles } from './stage-tiles.js';
import { messageLine, saveBlob, setupTabs } from './ui-kit.js';
import { userMessage } from './messages.js';

const presentationId = byId('presentation').dataset.presentationId || '';
const startButton = /** @type {HTMLButtonElement} */ (byId('start'));
const stopButton = /** @type {HTMLButtonElement} */ (byId('stop'));
const confirmation = byId('stop-confirmation');
const confirmButton = /** @type {HTMLButtonElement} */ (byId('stop-confirm'));
const cancelButton = /** @type {HTMLButtonElement} */ (byId('stop-cancel'));
const shareLink = /** @type {HTMLAnchorElement} */ (byId('share-link'));

/** @type {import('./presentation-session.js').PresenterSession|null} */
let session = null;
let over = false;
let starting = false;
/** @type {string} the presentation's status from the state stream */
let stateStatus = '';
const reconnecting = { video: false, state: false };

/**
 * readPresenterKey takes the key from the link's #key=... and keeps it for this tab only.
 *
 * The key is then removed from the address bar, so it does not end up in
 * screenshots, screen shares or bookmarks; sessionStorage lets a reload keep working.
 * @returns {string}
 */
function readPresenterKey() {
  const storageKey = `podium:presenter-key:${presentationId}`;
  const fromHash = new URLSearchParams(location.hash.slice(1)).get('key');
  if (fromHash) {
    try {
      sessionStorage.setItem(storageKey, fromHash);
    } catch (ex) {
      // Storage disabled: the key still works until the page is reloaded.
    }
    history.replaceState(history.state, '', location.pathname + location.search);
    return fromHash;
  }
  try {
    return sessionStorage.getItem(storageKey) || '';
  } catch (ex) {
    return '';
  }
}

const presenterKey = readPresenterKey();

const messages = messageLine(byId('panel-message'));
const audience = presenterApi(presentationId, presenterKey);
/** @type {{markSeen: () => void}|null} */
let moderationView = null;
const tabs = setupTabs(byId('panel-tabs'), (tabId) => {
  if (tabId === 'tab-qa' && moderationView) moderationView.markSeen();
});
const moderation = createModeration({
  api: audience,
  messages,
  isVisible: () => tabs.selected() === 'tab-qa' && document.visibilityState === 'visible',
});
moderationView = moderation;
const stagePanel = createStagePanel({
  panel: byId('panel-hands'), api: presenterStageApi(presentationId, presenterKey), messages,
});
const hands = createHands({ api: audience, messages, extra: stagePanel.inviteButton });
const speakerTiles = createStageTiles(byId('audience-view'));
const pollsAdmin = createPollsAdmin({ api: audience, messages });
const reactions = createReactions(byId('reaction-layer'), messages);
const media = createPresenterMedia({ onChange: () => updateStatus() });
const recording = createRecordingPanel({
  card: byId('recording'),
  api: presenterKey ? recordingApi(presentationId, presenterKey) : null,
  messages: messageLine(byId('recording-message')),
});

/**
 * updateBanner shows "Reconnecting…" while the video or the state stream is down.
 */
function updateBanner() {
  show(byId('reconnecting'), !over && (reconnecting.video || reconnecting.state));
}

/**
 * updateStatus says what the presenter can do now.
 */
function updateStatus() {
  if (over) {
    setStatus('The presentation is over.');
  } else if (session && !media.sharing()) {
    setStatus('You are live on camera. Share a screen again whenever you like.');
  } else if (session) {
    setStatus('You are live. Everything you share is being shown to your audience.');
  } else if (starting) {
    setStatus(media.sharing()
      ? 'Starting…'
      : 'Starting… Choose the screen, window or tab you want to share.');
  } else if (!presenterKey) {
    setStatus('');
  } else if (stateStatus === 'live') {
    setStatus('You are live from another tab or device. Start presenting here to take over.');
  } else if (media.ready()) {
    setStatus(media.sharing()
      ? 'Ready when you are. Click Start presenting to go live.'
      : 'Ready when you are. Click Start presenting and choose what to share.');
  } else {
    setStatus('Getting your camera and microphone ready…');
  }
  recording.setLive(Boolean(session) && !over);
  startButton.disabled = over || starting || !presenterKey || !media.ready();
  show(startButton, !session && !over);
  show(stopButton, Boolean(session) && !over);
  if (!session || over) show(confirmation, false);
}

/**
 * showOver switches the page to "The presentation is over".
 */
function showOver() {
  over = true;
  show(byId('over'), true);
  show(byId('controls'), false);
  show(byId('poll-form'), false); // an ended presentation takes no new polls
  media.release();
  if (session) session.disconnect();
  updateBanner();
  updateStatus();
  if (presenterKey) showReport(byId('report'), presentationId, presenterKey);
}

/**
 * onEnded handles the end of this page's presenting session.
 * @param {{reason: string, error?: any}} end
 */
function onEnded({ reason, error }) {
  session = null;
  media.attach(null);
  speakerTiles.onSpeakers([]);
  reconnecting.video = false;
  updateBanner();
  if (reason === 'error') {
    reportError('the presenting session ended', error, userMessage(error));
  }
  if (reason === 'stopped' || reason === 'screen-ended' || reason === 'ended') showOver();
  else updateStatus();
}

/**
 * onStart starts presenting; it runs in the click so screen sharing is allowed.
 */
async function onStart() {
  if (starting || session || over) return;
  starting = true;
  showError('');
  updateStatus();
  try {
    const chosen = media.choices();
    session = await startPresenting({
      presentationId,
      key: presenterKey,
      cameraTrack: chosen.camera,
      microphoneTrack: chosen.microphone,
      microphoneEnabled: chosen.microphoneEnabled,
      cameraEnabled: chosen.cameraEnabled,
      screenStream: chosen.screenStream || undefined,
      onScreen: (track) => media.onScreen(track),
      onReconnecting: () => {
        reconnecting.video = true;
        updateBanner();
      },
      onReconnected: () => {
        reconnecting.video = false;
        updateBanner();
      },
      onEnded,
    });
    media.attach(session);
    watchSpeakers(session.room, speakerTiles.onSpeakers);
  } catch (ex) {
    reportError('could not start presenting', ex, userMessage(ex));
  } finally {
    starting = false;
    updateStatus();
  }
}

/**
 * onConfirmStop ends the presentation for everyone.
 */
async function onConfirmStop() {
  if (!session) return;
  confirmButton.disabled = true;
  setStatus('Ending the presentation…');
  try {
    await session.stop();
  } finally {
    confirmButton.disabled = false;
  }
}

startButton.addEventListener('click', onStart);
stopButton.addEventListener('click', () => {
  show(confirmation, true);
  cancelButton.focus();
});
cancelButton.addEventListener('click', () => show(confirmation, false));
confirmButton.addEventListener('click', onConfirmStop);

/**
 * onExport downloads the questions or the polls as CSV or JSON.
 * @param {MouseEvent} event
 */
async function onExport(event) {
  const button = /** @type {HTMLButtonElement} */ (event.currentTarget);
  const file = /** @type {import('./audience-api.js').ExportFile} */ (button.dataset.export);
  button.disabled = true;
  try {
    const { blob, filename } = await audience.exportFile(file);
    saveBlob(blob, filename);
    messages.say(`Downloaded ${filename}.`);
  } catch (ex) {
    messages.fail(`downloading ${file} failed`, ex);
  } finally {
    button.disabled = false;
  }
}

for (const button of document.querySelectorAll('button[data-export]')) {
  button.addEventListener('click', (event) => onExport(/** @type {MouseEvent} */ (event)));
}
document.addEventListener('visibilitychange', () => moderation.markSeen());

shareLink.href = new URL(`/presentations/${encodeURIComponent(presentationId)}`, location.href).href;
shareLink.textContent = shareLink.href;

const broadcast = createBroadcastControl({
  api: broadcastApi(presentationId, presenterKey),
  messages,
  available: Boolean(presenterKey) && byId('presentation').dataset.backend === 'local',
});

watchState(presentationId, {
  onState: (view) => {
    stateStatus = view.status;
    broadcast.onState(view.broadcast);
    setAttendeeCount(view.attendees.count);
    recording.onState(view);
    if (view.status === 'ended' && !over) showOver();
    else updateStatus();
  },
  onQuestions: () => {
    if (presenterKey) moderation.onSection();
  },
  onHands: (section) => hands.onSection(section),
  onPolls: () => {
    if (presenterKey) pollsAdmin.onSection();
  },
  onReactions: (burst) => reactions.onBurst(burst),
  onStage: (section) => {
    stagePanel.onSection(section);
    speakerTiles.onSection(section);
  },
  onConnection: (state) => {
    reconnecting.state = state === 'reconnecting';
    updateBanner();
    if (state === 'gone') showError('This presentation does not exist any more.');
  },
});

if (!presenterKey) {
  showError(
    'This page needs the presenter link, the one ending in #key=…, that you got when ' +
      'you created the presentation. Open that link to present.',
  );
  updateStatus();
} else {
  updateStatus();
  media.start();
  // Drafts and pending questions are not on the public stream.
  moderation.refresh();
  pollsAdmin.refresh();
}
