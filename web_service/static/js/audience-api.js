// The audience protocol: questions, votes, hands, reactions and polls. No DOM here.
//
// Writes go to the token service, which authenticates them: an attendee with
// the access token it joined with, the presenter with the presenter key (in a
// header, never a URL). Public changes come back on the presentation's event
// stream (podium-api.js watchState); the private reads below fill in what the
// stream never carries: your own pending questions, your votes and ballots.

import { download, presentationPath, request } from './podium-api.js';

/** The reactions the server accepts, in the order pages show them. */
export const REACTIONS = Object.freeze(['👍', '❤️', '😂', '👏', '🎉', '🤔']);
export const MAX_QUESTION_LENGTH = 500;
export const MAX_POLL_QUESTION_LENGTH = 200;
export const MAX_OPTION_LENGTH = 100;
export const MIN_POLL_OPTIONS = 2;
export const MAX_POLL_OPTIONS = 6;

/**
 * @typedef {'pending'|'approved'|'answered'|'dismissed'} QuestionState
 */

/**
 * @typedef {object} PublicQuestion - a question as every page sees it
 * @property {string} id
 * @property {string} text
 * @property {string|null} author - null when asked anonymously
 * @property {QuestionState} state - approved or answered on the stream
 * @property {number} votes
 * @property {number} asked_at - ms
 * @property {number|null} [answered_at] - ms
 * @property {boolean} [anonymous] - in the presenter's and the author's views
 */

/**
 * @typedef {object} QuestionsSection - the `questions` event
 * @property {number} version
 * @property {boolean} moderated
 * @property {string|null} answering_now - a question id
 * @property {number} pending - questions waiting for approval
 * @property {PublicQuestion[]} questions - by votes, then age
 */

/**
 * @typedef {object} ModerationView - the presenter's view of every question
 * @property {boolean} moderated
 * @property {string|null} answering_now
 * @property {PublicQuestion[]} questions - any state, sorted
 */

/**
 * @typedef {object} Hand
 * @property {string} identity
 * @property {string|null} name
 * @property {number} raised_at - ms
 */

/**
 * @typedef {object} HandsSection - the `hands` event, first raised first
 * @property {number} version
 * @property {number} count
 * @property {Hand[]} queue
 */

/**
 * @typedef {'after_vote'|'after_close'} PollVisibility
 */

/**
 * @typedef {object} Poll
 * @property {string} id
 * @property {string} question
 * @property {string[]} options
 * @property {'draft'|'open'|'closed'} state
 * @property {PollVisibility} visibility
 * @property {number} total - ballots cast
 * @property {number[]|null} votes - per option; null when the caller may not see them
 * @property {number|null} [my_option] - the caller's ballot (attendee view)
 * @property {number} [created_at]
 * @property {number|null} [opened_at]
 * @property {number|null} [closed_at]
 */

/**
 * @typedef {object} PollsSection - the `polls` event (open and closed polls)
 * @property {number} version
 * @property {Poll[]} polls
 */

/**
 * @typedef {object} ReactionsBurst - the `reactions` event
 * @property {Record<string, number>} counts - reactions since the previous event
 */

/**
 * @typedef {'questions.csv'|'questions.json'|'polls.csv'|'polls.json'} ExportFile
 */

/**
 * attendeeApi returns the writes and private reads of one attendee.
 * @param {string} presentationId
 * @param {string} token - the access token from joining
 */
export function attendeeApi(presentationId, token) {
  const base = presentationPath(presentationId);
  const bearer = token;
  return {
    /**
     * ask posts a question; it is pending while the presentation is moderated.
     * @param {string} text
     * @param {boolean} anonymous
     * @returns {Promise<PublicQuestion>}
     */
    ask: (text, anonymous) =>
      request('POST', `${base}/questions`, { body: { text, anonymous }, bearer }),
    /**
     * mine returns the caller's questions (any state) and the ids it upvoted.
     * @returns {Promise<{questions: PublicQuestion[], voted: string[]}>}
     */
    mine: () => request('GET', `${base}/questions?view=mine`, { bearer }),
    /**
     * vote upvotes a question (true) or takes the upvote back (false).
     * @param {string} questionId
     * @param {boolean} voted
     * @returns {Promise<{question_id: string, voted: boolean, votes: number}>}
     */
    vote: (questionId, voted) => {
      const url = `${base}/questions/${encodeURIComponent(questionId)}/vote`;
      return request(voted ? 'PUT' : 'DELETE', url, { bearer });
    },
    /**
     * react sends one reaction, one of REACTIONS.
     * @param {string} emoji
     * @returns {Promise<{emoji: string}>}
     */
    react: (emoji) => request('POST', `${base}/reactions`, { body: { emoji }, bearer }),
    /**
     * hand raises (true) or lowers (false) the caller's hand.
     * @param {boolean} raised
     * @returns {Promise<{identity: string, raised: boolean}>}
     */
    hand: (raised) => request(raised ? 'PUT' : 'DELETE', `${base}/hand`, { bearer }),
    /**
     * ballot votes for an option of an open poll, or changes the caller's vote.
     * @param {string} pollId
     * @param {number} option - index into the poll's options
     * @returns {Promise<{poll_id: string, option: number, votes: number[]|null, total: number}>}
     */
    ballot: (pollId, option) =>
      request('PUT', `${base}/polls/${encodeURIComponent(pollId)}/vote`, {
        body: { option },
        bearer,
      }),
    /**
     * polls returns the public polls with the caller's ballot, and tallies it may see.
     * @returns {Promise<{polls: Poll[]}>}
     */
    polls: () => request('GET', `${base}/polls?view=mine`, { bearer }),
  };
}

/** @typedef {ReturnType<typeof attendeeApi>} AttendeeApi */

/**
 * presenterApi returns the presenter's moderation, hand, poll and export calls.
 * @param {string} presentationId
 * @param {string} key - the presenter key
 */
export function presenterApi(presentationId, key) {
  const base = presentationPath(presentationId);
  const authorization = `Presenter ${key}`;
  return {
    /**
     * questions returns every question in any state, with the moderation setting.
     * @returns {Promise<ModerationView>}
     */
    questions: () => request('GET', `${base}/questions?view=moderation`, { authorization }),
    /**
     * updateQuestion sets a question's state and/or whether it is being answered now.
     * @param {string} questionId
     * @param {{state?: QuestionState, answering_now?: boolean}} change
     * @returns {Promise<{question: PublicQuestion, answering_now: string|null}>}
     */
    updateQuestion: (questionId, change) =>
      request('PATCH', `${base}/questions/${encodeURIComponent(questionId)}`, {
        body: change,
        authorization,
      }),
    /**
     * setModerated turns moderation (approval of each new question) on or off.
     * @param {boolean} moderated
     * @returns {Promise<{moderated: boolean}>}
     */
    setModerated: (moderated) =>
      request('PATCH', `${base}/settings`, { body: { moderated }, authorization }),
    /**
     * lowerHand lowers one attendee's hand.
     * @param {string} identity
     * @returns {Promise<any>}
     */
    lowerHand: (identity) =>
      request('DELETE', `${base}/hands/${encodeURIComponent(identity)}`, { authorization }),
    /**
     * lowerAllHands lowers every raised hand.
     * @returns {Promise<any>}
     */
    lowerAllHands: () => request('DELETE', `${base}/hands`, { authorization }),
    /**
     * createPoll creates a poll, a draft unless `open`.
     * @param {{question: string, options: string[], visibility: PollVisibility, open: boolean}} poll
     * @returns {Promise<Poll>}
     */
    createPoll: (poll) => request('POST', `${base}/polls`, { body: poll, authorization }),
    /**
     * setPollState opens or closes a poll (a closed poll may be reopened).
     * @param {string} pollId
     * @param {'open'|'closed'} state
     * @returns {Promise<Poll>}
     */
    setPollState: (pollId, state) =>
      request('PATCH', `${base}/polls/${encodeURIComponent(pollId)}`, {
        body: { state },
        authorization,
      }),
    /**
     * polls returns every poll, drafts included, with live tallies.
     * @returns {Promise<{polls: Poll[]}>}
     */
    polls: () => request('GET', `${base}/polls?view=presenter`, { authorization }),
    /**
     * exportFile downloads questions or poll results as CSV or JSON.
     * @param {ExportFile} file
     * @returns {Promise<{blob: Blob, filename: string}>}
     */
    exportFile: (file) => download(`${base}/${file}`, authorization, file),
  };
}

/** @typedef {ReturnType<typeof presenterApi>} PresenterApi */
