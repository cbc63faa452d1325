"""After the talk: questions and poll results as CSV and JSON (presenter key).

GET with the key in the Authorization header, never in the query string, which
access logs keep; the page fetch()es and saves the Blob. Exports work after the
presentation ended: that is when people want them.
"""

from __future__ import annotations

import csv
import io
import json
from datetime import UTC, datetime

import falcon

from token_service.audience_access import require_presenter_key
from token_service.questions import AudienceResource

QUESTION_COLUMNS = [
    'id',
    'text',
    'author',
    'anonymous',
    'votes',
    'state',
    'asked_at',
    'approved_at',
    'answered_at',
    'dismissed_at',
]
POLL_COLUMNS = [
    'poll_id',
    'question',
    'state',
    'visibility',
    'option_index',
    'option',
    'votes',
    'total',
    'created_at',
    'opened_at',
    'closed_at',
]
TIMES = ('created_at', 'opened_at', 'closed_at')
# A spreadsheet runs a cell that starts with one of these as a formula.
FORMULA_STARTS = ('=', '+', '-', '@', '\t', '\r')


def iso(ms: int | None) -> str | None:
    """Return a time in ms as ISO 8601 UTC, None if absent."""
    if ms is None:
        return None
    return datetime.fromtimestamp(ms / 1000, UTC).isoformat(timespec='milliseconds')


def cell(value) -> str:
    """Return a CSV cell; text a spreadsheet would run as a formula is quoted '."""
    if value is None:
        return ''
    if isinstance(value, bool):
        return 'true' if value else 'false'
    text = str(value)
    return "'" + text if text.startswith(FORMULA_STARTS) else text


def question_rows(questions: list[dict]) -> list[dict]:
    rows = []
    for q in sorted(questions, key=lambda q: (q['asked_at'], q['id'])):
        row = {k: q[k] for k in QUESTION_COLUMNS}
        row['author'] = q['author'] if not q['anonymous'] else None
        for stamp in ('asked_at', 'approved_at', 'answered_at', 'dismissed_at'):
            row[stamp] = iso(q[stamp])
        rows.append(row)
    return rows


def poll_rows(polls: list[dict]) -> list[dict]:
    rows = []
    for p in polls:
        for index, option in enumerate(p['options']):
            rows.append(
                {
                    'poll_id': p['id'],
                    'question': p['question'],
                    'state': p['state'],
                    'visibility': p['visibility'],
                    'option_index': index,
                    'option': option,
                    'votes': p['votes'][index],
                    'total': p['total'],
                    'created_at': iso(p['created_at']),
                    'opened_at': iso(p['opened_at']),
                    'closed_at': iso(p['closed_at']),
                }
            )
    return rows


def to_csv(columns: list[str], rows: list[dict]) -> bytes:
    out = io.StringIO()
    writer = csv.writer(out, lineterminator='\r\n')
    writer.writerow(columns)
    for row in rows:
        writer.writerow([cell(row[c]) for c in columns])
    # A BOM: spreadsheet programs then read the file as UTF-8.
    return ('\ufeff' + out.getvalue()).encode('utf-8')


class Export(AudienceResource):
    """`.../questions.csv|json`, `.../polls.csv|json` (suffix routes)."""

    def _send(self, req, resp, presentation_id: str, what: str, fmt: str) -> None:
        require_presenter_key(req, self._config, presentation_id)
        self._presentation(presentation_id)
        snapshot = self._store.read_audience(presentation_id, [what])
        if what == 'questions':
            columns, rows = QUESTION_COLUMNS, question_rows(snapshot.questions)
        else:
            columns, rows = POLL_COLUMNS, poll_rows(snapshot.polls)
        if fmt == 'csv':
            resp.data = to_csv(columns, rows)
            resp.content_type = 'text/csv; charset=utf-8'
        else:
            if what == 'polls':  # JSON keeps a poll's options together
                rows = [{**p, **{k: iso(p[k]) for k in TIMES}} for p in snapshot.polls]
            body = {'presentation_id': presentation_id, what: rows}
            resp.data = json.dumps(body, ensure_ascii=False, indent=1).encode()
            resp.content_type = falcon.MEDIA_JSON
        resp.cache_control = ['no-store']
        resp.downloadable_as = f'{what}-{presentation_id}.{fmt}'

    def on_get_questions_csv(self, req, resp, presentation_id: str):
        self._send(req, resp, presentation_id, 'questions', 'csv')

    def on_get_questions_json(self, req, resp, presentation_id: str):
        self._send(req, resp, presentation_id, 'questions', 'json')

    def on_get_polls_csv(self, req, resp, presentation_id: str):
        self._send(req, resp, presentation_id, 'polls', 'csv')

    def on_get_polls_json(self, req, resp, presentation_id: str):
        self._send(req, resp, presentation_id, 'polls', 'json')
