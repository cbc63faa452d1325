"""Q&A: attendees ask and upvote; the presenter moderates and answers."""

from __future__ import annotations

import secrets
from collections.abc import Callable

import falcon

from podium import audience
from podium.config import TokenServiceConfig
from podium.store import (
    AsyncAudienceWrites,
    AudienceStore,
    InlineAudienceWrites,
    question_key,
)
from token_service import access
from token_service.audience_access import (
    attendee_identity,
    boolean,
    check,
    counted,
    invalid,
    known_id,
    known_item,
    read_body,
    read_body_async,
    require_presenter_key,
)
from token_service.rate_limits import WINDOW, RateLimitSettings

ID_BYTES = 6  # 8 URL-safe characters; unique within one presentation
CHANGE_ATTEMPTS = 5  # compare-and-set retries when writes race


def new_item_id() -> str:
    return secrets.token_urlsafe(ID_BYTES)


def without_identity(record: dict) -> dict:
    """Return a question as its asker and the presenter see it (no identity)."""
    return {k: v for k, v in record.items() if k != 'identity'}


class AudienceResource:
    """What every audience endpoint needs, injected."""

    def __init__(
        self,
        config: TokenServiceConfig,
        store: AudienceStore,
        clock: Callable[[], float],
        limits: RateLimitSettings,
        new_id: Callable[[], str] = new_item_id,
        *,
        writes: AsyncAudienceWrites | InlineAudienceWrites | None = None,
    ):
        self._config = config
        self._store = store
        # The hot writes (ask, upvote, react), awaited on the event loop.
        self._writes = writes or InlineAudienceWrites(store)
        self._clock = clock
        self._limits = limits
        self._new_id = new_id

    def _presentation(self, presentation_id: str) -> dict[str, str]:
        return access.find_presentation(self._store.base, known_id(presentation_id))


class Questions(AudienceResource):
    """`/api/presentations/{id}/questions`: ask (POST); private reads (GET)."""

    async def on_post(self, req, resp: falcon.Response, presentation_id: str):
        now = self._clock()
        identity = attendee_identity(req, self._config, presentation_id, now)
        body = await read_body_async(req)
        try:
            text = audience.clean_text(
                body.get('text'), 'text', audience.MAX_QUESTION_LENGTH
            )
        except audience.InvalidInput as ex:
            raise invalid(ex) from None
        anonymous = boolean(body, 'anonymous', default=False)
        question_id = self._new_id()
        outcome = check(
            await self._writes.ask_question(
                presentation_id,
                question_id,
                text=text,
                identity=identity,
                anonymous=anonymous,
                now=now,
                counted=counted(
                    'questions', identity, WINDOW, self._limits.questions_per_minute
                ),
                max_questions=audience.MAX_QUESTIONS,
            ),
            f'ask questions (at most {self._limits.questions_per_minute} a minute)',
            full='questions',
        )
        state, name = outcome.result
        resp.status = falcon.HTTP_201
        resp.cache_control = ['no-store']
        resp.media = {
            'id': question_id,
            'text': text,
            'author': None if anonymous else (name or None),
            'anonymous': anonymous,
            'state': state,
            'votes': 0,
            'asked_at': int(now * 1000),
        }

    def on_get(self, req: falcon.Request, resp: falcon.Response, presentation_id: str):
        view = req.get_param('view') or ''
        if view == 'mine':
            identity = attendee_identity(
                req, self._config, presentation_id, self._clock()
            )
            self._presentation(presentation_id)
            snapshot = self._store.read_audience(presentation_id, ['questions'])
            mine = [q for q in snapshot.questions if q['identity'] == identity]
            ids = [q['id'] for q in snapshot.questions]
            voted = self._store.voted_questions(presentation_id, identity, ids)
            media = {
                'questions': [without_identity(q) for q in mine],
                'voted': sorted(voted),
            }
        elif view == 'moderation':
            require_presenter_key(req, self._config, presentation_id)
            self._presentation(presentation_id)
            snapshot = self._store.read_audience(presentation_id, ['questions'])
            media = {
                'moderated': snapshot.moderated,
                'answering_now': snapshot.answering_now or None,
                'questions': [
                    without_identity(q)
                    for q in sorted(snapshot.questions, key=audience.question_sort_key)
                ],
            }
        else:
            raise falcon.HTTPBadRequest(
                title='Invalid view',
                description='"view" must be "mine" (with your access token) or '
                '"moderation" (with the presenter key). Everyone sees the public '
                'questions on the event stream.',
            )
        resp.cache_control = ['no-store']
        resp.media = media


class QuestionVote(AudienceResource):
    """`.../questions/{question_id}/vote`: PUT upvotes, DELETE takes it back."""

    async def _vote(self, req, resp, presentation_id: str, question_id: str, voted):
        now = self._clock()
        identity = attendee_identity(req, self._config, presentation_id, now)
        known_item(question_id, 'question')
        outcome = check(
            await self._writes.vote_question(
                presentation_id,
                question_id,
                identity,
                voted,
                now=now,
                counted=counted(
                    'votes', identity, WINDOW, self._limits.votes_per_minute
                ),
            ),
            f'vote (at most {self._limits.votes_per_minute} times a minute)',
        )
        resp.cache_control = ['no-store']
        resp.media = {
            'question_id': question_id,
            'voted': voted,
            'votes': int(outcome.result[0]),
        }

    async def on_put(self, req, resp, presentation_id: str, question_id: str):
        await self._vote(req, resp, presentation_id, question_id, True)

    async def on_delete(self, req, resp, presentation_id: str, question_id: str):
        await self._vote(req, resp, presentation_id, question_id, False)


class Question(AudienceResource):
    """`.../questions/{question_id}` PATCH: the presenter approves, answers,
    dismisses, or picks the question as "answering now"."""

    def on_patch(self, req, resp, presentation_id: str, question_id: str):
        require_presenter_key(req, self._config, presentation_id)
        known_item(question_id, 'question')
        body = read_body(req)
        state = body.get('state')
        if state is not None and not isinstance(state, str):
            state = repr(state)  # refused below with the allowed values
        answering = boolean(body, 'answering_now')
        if state is None and answering is None:
            raise falcon.HTTPBadRequest(
                title='Nothing to change',
                description='Send "state" (approved, answered or dismissed) '
                'and/or "answering_now" (true or false).',
            )
        key = question_key(presentation_id, question_id)
        for _ in range(CHANGE_ATTEMPTS):
            presentation = self._presentation(presentation_id)
            access.require_open(presentation)
            record = self._store.get_record(key)
            if not record:
                raise falcon.HTTPNotFound(
                    title='No such question',
                    description='This presentation has no question with this id.',
                )
            pointer = presentation.get('answering_now', '')
            now = self._clock()
            try:
                change = audience.change_question(
                    record,
                    pointer,
                    state=state,
                    answering=answering,
                    now_ms=int(now * 1000),
                )
            except audience.InvalidInput as ex:
                raise invalid(ex) from None
            if not change.fields and change.answering_now is None:
                break  # already so
            outcome = self._store.change_record(
                presentation_id,
                'questions',
                key,
                record.get('updated_at', ''),
                'answering_now',
                pointer,
                change.answering_now,
                change.fields,
                now=now,
            )
            if outcome.status != 'conflict':
                check(outcome, 'change questions')
                break
        else:
            check(outcome, 'change questions')
        snapshot = self._store.read_audience(presentation_id, ['questions'])
        (question,) = [q for q in snapshot.questions if q['id'] == question_id]
        resp.cache_control = ['no-store']
        resp.media = {
            'question': without_identity(question),
            'answering_now': snapshot.answering_now or None,
        }


class AudienceSettings(AudienceResource):
    """`/api/presentations/{id}/settings` PATCH: moderated mode on or off.

    Turning moderation off leaves pending questions pending: the presenter
    still decides about what was asked under moderation.
    """

    def on_patch(self, req, resp, presentation_id: str):
        require_presenter_key(req, self._config, presentation_id)
        body = read_body(req)
        moderated = boolean(body, 'moderated')
        if moderated is None:
            raise falcon.HTTPBadRequest(
                title='Invalid moderated',
                description='Send {"moderated": true} or {"moderated": false}.',
            )
        self._presentation(presentation_id)
        check(
            self._store.set_moderated(presentation_id, moderated, now=self._clock()),
            'change settings',
        )
        resp.cache_control = ['no-store']
        resp.media = {'moderated': moderated}
