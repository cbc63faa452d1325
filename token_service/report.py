"""`GET .../report` and `.../report.csv`: the attendance report (presenter key).

Who came, when, for how long (podium.attendance), with the questions and polls
summary and the recording status. Like the other exports: the key travels in
the Authorization header, and the report also answers while the talk runs (its
open connections count up to now).
"""

from __future__ import annotations

from collections.abc import Callable

import falcon

from podium import attendance, recording_state
from podium.config import TokenServiceConfig
from podium.store import AudienceStore
from token_service import access
from token_service.audience_access import known_id, require_presenter_key
from token_service.exports import iso, to_csv

ATTENDEE_COLUMNS = [
    'identity',
    'name',
    'first_connected_at',
    'last_disconnected_at',
    'connections',
    'watch_seconds',
]
TOP_QUESTIONS = 5


def questions_summary(questions: list[dict]) -> dict:
    """Return counts by state and the most voted questions (authors as shown)."""
    by_state: dict[str, int] = {}
    for q in questions:
        by_state[q['state']] = by_state.get(q['state'], 0) + 1
    top = sorted(questions, key=lambda q: (-q['votes'], q['asked_at'], q['id']))
    return {
        'total': len(questions),
        'by_state': dict(sorted(by_state.items())),
        'top': [
            {
                'text': q['text'],
                'author': None if q['anonymous'] else q['author'],
                'votes': q['votes'],
                'state': q['state'],
            }
            for q in top[:TOP_QUESTIONS]
        ],
    }


def polls_summary(polls: list[dict]) -> list[dict]:
    return [
        {
            'question': p['question'],
            'state': p['state'],
            'options': p['options'],
            'votes': p['votes'],
            'total': p['total'],
        }
        for p in polls
    ]


def recording_status(presentation: dict[str, str], records: list[dict]) -> dict | None:
    """Return the recording's status, if the talk was ever to be recorded."""
    view = recording_state.recording_view(presentation, records)
    if view['status'] == 'off' and not (view['requested'] or view['recorded']):
        return None
    return {'status': view['status']}


def attendee_rows(report: dict) -> list[dict]:
    return [
        {
            **row,
            'first_connected_at': iso(row['first_connected_at']),
            'last_disconnected_at': iso(row['last_disconnected_at']),
        }
        for row in report['attendees']
    ]


class Report:
    """The attendance report of one presentation, as JSON or CSV (one row each)."""

    def __init__(
        self,
        config: TokenServiceConfig,
        audience: AudienceStore,
        clock: Callable[[], float],
    ):
        self._config = config
        self._audience = audience
        self._clock = clock

    def build(self, presentation_id: str) -> dict:
        store = self._audience.base
        presentation = access.find_presentation(store, known_id(presentation_id))
        ended = presentation.get('ended_at')
        report = attendance.attendance_report(
            store.read_attendance(presentation_id),
            ended_at=int(ended) if ended else None,
            now_ms=int(self._clock() * 1000),
            names=self._audience.read_names(presentation_id),
        )
        snapshot = self._audience.read_audience(presentation_id, ['questions', 'polls'])
        return {
            'presentation_id': presentation_id,
            'title': presentation.get('title', ''),
            **report,
            'questions': questions_summary(snapshot.questions),
            'polls': polls_summary(snapshot.polls),
            'recording': recording_status(
                presentation, store.media_records(presentation_id)
            ),
        }

    def on_get(self, req: falcon.Request, resp: falcon.Response, presentation_id: str):
        require_presenter_key(req, self._config, presentation_id)
        resp.media = self.build(presentation_id)
        resp.cache_control = ['no-store']

    def on_get_csv(self, req: falcon.Request, resp: falcon.Response, presentation_id):
        require_presenter_key(req, self._config, presentation_id)
        report = self.build(presentation_id)
        resp.data = to_csv(ATTENDEE_COLUMNS, attendee_rows(report))
        resp.content_type = 'text/csv; charset=utf-8'
        resp.cache_control = ['no-store']
        resp.downloadable_as = f'attendance-{presentation_id}.csv'
