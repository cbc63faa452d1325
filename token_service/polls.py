"""Polls: the presenter creates, opens and closes them; attendees vote."""

from __future__ import annotations

import falcon

from podium import audience
from podium.store import poll_key
from token_service import access
from token_service.audience_access import (
    attendee_identity,
    boolean,
    check,
    counted,
    invalid,
    known_item,
    read_body,
    require_presenter_key,
)
from token_service.questions import CHANGE_ATTEMPTS, AudienceResource
from token_service.rate_limits import WINDOW


def attendee_poll(poll: dict, option: int | None) -> dict:
    """Return a poll as one attendee sees it: their ballot, and results if due."""
    view = audience.public_poll(poll)
    visible = audience.results_visible(poll, has_voted=option is not None)
    return {**view, 'votes': poll['votes'] if visible else None, 'my_option': option}


class Polls(AudienceResource):
    """`/api/presentations/{id}/polls`: create (POST, presenter); read (GET)."""

    def on_post(self, req, resp, presentation_id: str):
        require_presenter_key(req, self._config, presentation_id)
        body = read_body(req)
        try:
            question = audience.clean_text(
                body.get('question'), 'question', audience.MAX_POLL_QUESTION_LENGTH
            )
            options = audience.clean_options(body.get('options'))
        except audience.InvalidInput as ex:
            raise invalid(ex) from None
        visibility = body.get('visibility', audience.AFTER_VOTE)
        if visibility not in audience.VISIBILITIES:
            raise falcon.HTTPBadRequest(
                title='Invalid visibility',
                description='"visibility" must be "after_vote" (attendees see '
                'results once they voted) or "after_close".',
            )
        start_open = boolean(body, 'open', default=False)
        poll_id = self._new_id()
        now = self._clock()
        check(
            self._store.create_poll(
                presentation_id,
                poll_id,
                question=question,
                options=options,
                visibility=visibility,
                now=now,
                max_polls=audience.MAX_POLLS,
            ),
            'create polls',
            full='polls',
        )
        if start_open:
            _change_state(self._store, presentation_id, poll_id, audience.OPEN, now)
        resp.status = falcon.HTTP_201
        resp.cache_control = ['no-store']
        resp.media = _poll(self._store, presentation_id, poll_id)

    def on_get(self, req, resp, presentation_id: str):
        view = req.get_param('view') or ''
        if view == 'mine':
            identity = attendee_identity(
                req, self._config, presentation_id, self._clock()
            )
            self._presentation(presentation_id)
            polls = self._store.read_audience(presentation_id, ['polls']).polls
            polls = [p for p in polls if p['state'] != audience.DRAFT]
            ballots = self._store.ballots_of(
                presentation_id, identity, [p['id'] for p in polls]
            )
            media = {'polls': [attendee_poll(p, ballots.get(p['id'])) for p in polls]}
        elif view == 'presenter':
            require_presenter_key(req, self._config, presentation_id)
            self._presentation(presentation_id)
            media = {
                'polls': self._store.read_audience(presentation_id, ['polls']).polls
            }
        else:
            raise falcon.HTTPBadRequest(
                title='Invalid view',
                description='"view" must be "mine" (with your access token) or '
                '"presenter" (with the presenter key).',
            )
        resp.cache_control = ['no-store']
        resp.media = media


def _poll(store, presentation_id: str, poll_id: str) -> dict:
    polls = store.read_audience(presentation_id, ['polls']).polls
    for poll in polls:
        if poll['id'] == poll_id:
            return poll
    raise falcon.HTTPNotFound(
        title='No such poll', description='This presentation has no poll with this id.'
    )


def _change_state(store, presentation_id: str, poll_id: str, state: str, now: float):
    key = poll_key(presentation_id, poll_id)
    for _ in range(CHANGE_ATTEMPTS):
        record = store.get_record(key)
        if not record:
            _poll(store, presentation_id, poll_id)  # the 404
        try:
            fields = audience.change_poll(record, state, int(now * 1000))
        except audience.InvalidInput as ex:
            raise invalid(ex) from None
        if not fields:
            return
        outcome = store.change_record(
            presentation_id,
            'polls',
            key,
            record.get('updated_at', ''),
            'id',  # no presentation field changes: compare one that never does
            presentation_id,
            None,
            fields,
            now=now,
        )
        if outcome.status != 'conflict':
            check(outcome, 'change polls')
            return
    check(outcome, 'change polls')


class Poll(AudienceResource):
    """`.../polls/{poll_id}` PATCH {"state": "open" | "closed"} (presenter)."""

    def on_patch(self, req, resp, presentation_id: str, poll_id: str):
        require_presenter_key(req, self._config, presentation_id)
        known_item(poll_id, 'poll')
        body = read_body(req)
        state = body.get('state')
        if state not in audience.POLL_STATES:
            raise falcon.HTTPBadRequest(
                title='Invalid state', description='"state" must be "open" or "closed".'
            )
        access.require_open(self._presentation(presentation_id))
        _change_state(self._store, presentation_id, poll_id, state, self._clock())
        resp.cache_control = ['no-store']
        resp.media = _poll(self._store, presentation_id, poll_id)


class PollVote(AudienceResource):
    """`.../polls/{poll_id}/vote` PUT {"option": n}: vote, or change one's vote."""

    def on_put(self, req, resp, presentation_id: str, poll_id: str):
        now = self._clock()
        identity = attendee_identity(req, self._config, presentation_id, now)
        known_item(poll_id, 'poll')
        body = read_body(req)
        option = body.get('option')
        if isinstance(option, bool) or not isinstance(option, int) or option < 0:
            raise falcon.HTTPBadRequest(
                title='Invalid option',
                description='"option" must be the index of an option (0, 1, ...).',
            )
        outcome = check(
            self._store.vote_poll(
                presentation_id,
                poll_id,
                identity,
                option,
                now=now,
                counted=counted(
                    'votes', identity, WINDOW, self._limits.votes_per_minute
                ),
            ),
            f'vote (at most {self._limits.votes_per_minute} times a minute)',
        )
        tallies, visibility, option_count = outcome.result
        counts = dict(zip(tallies[::2], tallies[1::2], strict=True))
        votes = [max(0, int(counts.get(str(i), 0))) for i in range(int(option_count))]
        # The poll is open (the store checked): results only if shown after voting.
        shown = visibility == audience.AFTER_VOTE
        resp.cache_control = ['no-store']
        resp.media = {
            'poll_id': poll_id,
            'option': option,
            'votes': votes if shown else None,
            'total': sum(votes),
        }
