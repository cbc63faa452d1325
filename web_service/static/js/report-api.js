// The attendance report protocol: fetch it and download it. No DOM here.

import { download, presentationPath, request } from './podium-api.js';

/**
 * @typedef {object} SeriesPoint - the audience from `at` on
 * @property {number} at - ms
 * @property {number} count
 */

/**
 * @typedef {object} WatchBucket
 * @property {string} label
 * @property {number} min_seconds
 * @property {number|null} max_seconds
 * @property {number} attendees
 */

/**
 * @typedef {object} ReportQuestion
 * @property {string} text
 * @property {string|null} author
 * @property {number} votes
 * @property {string} state
 */

/**
 * @typedef {object} ReportPoll
 * @property {string} question
 * @property {string} state
 * @property {string[]} options
 * @property {number[]|null} votes
 * @property {number} total
 */

/**
 * @typedef {object} AttendanceReport - GET .../report
 * @property {'live'|'ended'} status
 * @property {number|null} started_at - ms, the presenter's first connection
 * @property {number|null} ended_at - ms
 * @property {number} duration_seconds
 * @property {number} unique_attendees
 * @property {{count: number, at: number|null}} peak
 * @property {{median_seconds: number|null, total_seconds: number, distribution: WatchBucket[]}} watch_time
 * @property {SeriesPoint[]} series
 * @property {{total: number, by_state: Record<string, number>, top: ReportQuestion[]}} questions
 * @property {ReportPoll[]} polls
 * @property {{status: string}|null} recording
 */

/**
 * @typedef {'report.csv'|'report.json'} ReportFile
 */

/**
 * reportApi returns the presenter's report reads.
 * @param {string} presentationId
 * @param {string} key - the presenter key, sent in a header
 */
export function reportApi(presentationId, key) {
  const base = presentationPath(presentationId);
  const authorization = `Presenter ${key}`;
  return {
    /** @returns {Promise<AttendanceReport>} */
    fetch: () => request('GET', `${base}/report`, { authorization }),
    /**
     * save downloads the report as CSV (one row per attendee) or JSON.
     * @param {ReportFile} file
     * @returns {Promise<{blob: Blob, filename: string}>}
     */
    save: (file) =>
      download(
        `${base}/${file === 'report.csv' ? 'report.csv' : 'report'}`,
        authorization,
        `attendance-${presentationId}.${file === 'report.csv' ? 'csv' : 'json'}`,
      ),
  };
}
