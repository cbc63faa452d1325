// The presenter's attendance report, shown once the presentation is over:
// figures, the audience over time, watch time, questions and polls, downloads.

import { audienceChart, clock } from './report-chart.js';
import { reportApi } from './report-api.js';
import { el, messageLine, plural, saveBlob } from './ui-kit.js';
import { userMessage } from './messages.js';

/**
 * @typedef {import('./report-api.js').AttendanceReport} AttendanceReport
 */

/**
 * duration writes seconds as "1 h 05 min", "12 min" or "45 s".
 * @param {number|null} seconds
 * @returns {string}
 */
export function duration(seconds) {
  if (seconds === null) return '–';
  const s = Math.round(seconds);
  if (s < 60) return `${s} s`;
  const minutes = Math.round(s / 60);
  if (minutes < 60) return `${minutes} min`;
  return `${Math.floor(minutes / 60)} h ${String(minutes % 60).padStart(2, '0')} min`;
}

/**
 * figure returns one term/value pair of the figures list.
 * @param {string} term
 * @param {string} value
 * @param {string} testid
 * @param {string} [note]
 */
function figure(term, value, testid, note) {
  return el('div', { className: 'figure' }, [
    el('dt', { text: term }),
    el('dd', { text: value, attrs: { 'data-testid': testid } }),
    note ? el('dd', { className: 'muted', text: note }) : null,
  ]);
}

/**
 * figures returns the report's headline numbers.
 * @param {AttendanceReport} report
 */
function figures(report) {
  return el('dl', { className: 'figures' }, [
    figure('Duration', duration(report.duration_seconds), 'report-duration'),
    figure(
      'Peak audience',
      String(report.peak.count),
      'report-peak',
      report.peak.at ? `at ${clock(report.peak.at, report.duration_seconds < 600)}` : undefined,
    ),
    figure('Unique attendees', String(report.unique_attendees), 'report-unique'),
    figure('Median watch time', duration(report.watch_time.median_seconds), 'report-median'),
    report.recording ? figure('Recording', report.recording.status, 'report-recording') : null,
  ]);
}

/**
 * bar returns a bar filled to a percentage (CSSOM: the CSP refuses style attributes).
 * @param {number} percent
 */
function bar(percent) {
  const element = el('span', { className: 'bar' });
  element.style.width = `${percent}%`;
  return element;
}

/**
 * watchBars returns the watch-time distribution as labelled bars.
 * @param {AttendanceReport} report
 */
function watchBars(report) {
  const buckets = report.watch_time.distribution;
  const most = Math.max(1, ...buckets.map((b) => b.attendees));
  return el(
    'ol',
    { className: 'bars', attrs: { 'data-testid': 'report-watch' } },
    buckets.map((b) =>
      el('li', {}, [
        el('span', { className: 'bar-label', text: b.label }),
        el('span', { className: 'bar-track' }, [bar((100 * b.attendees) / most)]),
        el('span', { className: 'bar-value', text: String(b.attendees) }),
      ]),
    ),
  );
}

/**
 * questions returns the questions summary: counts and the most voted ones.
 * @param {AttendanceReport} report
 */
function questions(report) {
  const { total, by_state: byState, top } = report.questions;
  if (!total) return el('p', { className: 'empty', text: 'Nobody asked a question.' });
  const counts = Object.entries(byState)
    .map(([state, count]) => `${count} ${state}`)
    .join(', ');
  return el('div', { attrs: { 'data-testid': 'report-questions' } }, [
    el('p', { text: `${plural(total, 'question')}: ${counts}.` }),
    el(
      'ol',
      { className: 'report-list' },
      top.map((q) =>
        el('li', {}, [
          el('span', { text: q.text }),
          el('span', {
            className: 'muted',
            text: ` — ${q.author || 'anonymous'}, ${plural(q.votes, 'vote')}`,
          }),
        ]),
      ),
    ),
  ]);
}

/**
 * polls returns each poll's results.
 * @param {AttendanceReport} report
 */
function polls(report) {
  if (!report.polls.length) return el('p', { className: 'empty', text: 'No polls.' });
  return el(
    'div',
    { attrs: { 'data-testid': 'report-polls' } },
    report.polls.map((p) =>
      el('div', { className: 'report-poll' }, [
        el('p', { className: 'report-poll-question', text: `${p.question} (${plural(p.total, 'vote')})` }),
        el(
          'ul',
          { className: 'report-list' },
          p.options.map((option, i) => {
            const votes = p.votes ? p.votes[i] : 0;
            const share = p.total ? Math.round((100 * votes) / p.total) : 0;
            return el('li', { text: `${option}: ${votes} (${share} %)` });
          }),
        ),
      ]),
    ),
  );
}

/**
 * render fills the report section from a report.
 * @param {HTMLElement} section
 * @param {AttendanceReport} report
 * @param {(file: import('./report-api.js').ReportFile, button: HTMLButtonElement) => void} onSave
 */
function render(section, report, onSave) {
  const start = report.started_at ?? report.series[0]?.at ?? Date.now();
  const end = Math.max(start + 1000, report.ended_at ?? Date.now());
  /** @param {import('./report-api.js').ReportFile} file @param {string} text */
  const saveButton = (file, text) => {
    const button = el('button', {
      className: 'link-button',
      text,
      attrs: { type: 'button', 'data-testid': `report-save-${file === 'report.csv' ? 'csv' : 'json'}` },
    });
    button.addEventListener('click', () => onSave(file, button));
    return button;
  };
  const message = el('p', { className: 'panel-message', attrs: { role: 'status', 'aria-live': 'polite' } });
  message.hidden = true;
  // The section's content box: the chart is drawn at the size it is shown.
  const width = section.clientWidth - 34;
  section.replaceChildren(
    el('h2', { text: 'Attendance report' }),
    figures(report),
    el('figure', { className: 'chart' }, [
      audienceChart(report.series, start, end, report.peak, width > 0 ? width : undefined),
      el('figcaption', { className: 'muted', text: 'Audience over time (the presenter not counted)' }),
    ]),
    el('div', { className: 'report-columns' }, [
      el('section', {}, [el('h3', { text: 'Watch time' }), watchBars(report)]),
      el('section', {}, [el('h3', { text: 'Questions' }), questions(report)]),
      el('section', {}, [el('h3', { text: 'Polls' }), polls(report)]),
    ]),
    el('p', { className: 'downloads' }, [
      document.createTextNode('Download the report: '),
      saveButton('report.csv', 'CSV (one row per attendee)'),
      document.createTextNode(' '),
      saveButton('report.json', 'JSON'),
    ]),
    message,
  );
  return messageLine(message);
}

/**
 * showReport loads the attendance report into its section and shows it.
 * @param {HTMLElement} section
 * @param {string} presentationId
 * @param {string} key - the presenter key
 * @returns {Promise<void>}
 */
export async function showReport(section, presentationId, key) {
  const api = reportApi(presentationId, key);
  section.hidden = false;
  section.replaceChildren(
    el('h2', { text: 'Attendance report' }),
    el('p', { className: 'muted', text: 'Loading the report…', attrs: { role: 'status' } }),
  );
  /** @type {ReturnType<typeof messageLine>|null} */
  let messages = null;
  /**
   * @param {import('./report-api.js').ReportFile} file
   * @param {HTMLButtonElement} button
   */
  const onSave = async (file, button) => {
    button.disabled = true;
    try {
      const { blob, filename } = await api.save(file);
      saveBlob(blob, filename);
      messages?.say(`Downloaded ${filename}.`);
    } catch (ex) {
      messages?.fail(`downloading ${file} failed`, ex);
    } finally {
      button.disabled = false;
    }
  };
  try {
    messages = render(section, await api.fetch(), onSave);
  } catch (ex) {
    console.error('Podium: loading the attendance report failed', ex);
    section.replaceChildren(
      el('h2', { text: 'Attendance report' }),
      el('p', { className: 'error', text: `The report could not be loaded: ${userMessage(ex)}` }),
    );
  }
}
