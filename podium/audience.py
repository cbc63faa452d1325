"""Audience interaction as pure functions: Q&A, hands, polls, reactions.

No Redis here. `podium.store` keeps this data in shapes whose writes commute
(a question's voters are a set, a poll's ballots a hash identity -> option, the
hand queue a sorted set scored by first-raised time), applies the writes
atomically, and uses the functions below to decide presenter transitions and
to turn what is stored into what pages are shown.
"""

from __future__ import annotations

import json
import unicodedata
from collections.abc import Iterable, Mapping
from dataclasses import dataclass

# Lengths count characters after stripping surrounding whitespace.
MAX_QUESTION_LENGTH = 500
MAX_POLL_QUESTION_LENGTH = 200
MAX_OPTION_LENGTH = 100
MAX_NAME_LENGTH = 60
MIN_OPTIONS = 2
MAX_OPTIONS = 6
# Caps that keep what every page receives (and exports) bounded.
MAX_QUESTIONS = 500
MAX_POLLS = 50

# The fixed reaction set; nothing else is counted.
REACTIONS = ('👍', '❤️', '😂', '👏', '🎉', '🤔')

PENDING = 'pending'
APPROVED = 'approved'
ANSWERED = 'answered'
DISMISSED = 'dismissed'
# What a presenter may set a question to; pending is only where one starts.
QUESTION_STATES = (APPROVED, ANSWERED, DISMISSED)
# What attendees see (pending ones only once approved, dismissed ones never).
PUBLIC_STATES = frozenset({APPROVED, ANSWERED})

DRAFT = 'draft'
OPEN = 'open'
CLOSED = 'closed'
POLL_STATES = (OPEN, CLOSED)  # what a presenter may set; polls start as drafts
AFTER_VOTE = 'after_vote'
AFTER_CLOSE = 'after_close'
VISIBILITIES = (AFTER_VOTE, AFTER_CLOSE)

# The event kinds of a presentation's stream that carry audience data.
QUESTIONS = 'questions'
HANDS = 'hands'
POLLS = 'polls'
STAGE = 'stage'  # who is invited or speaking: podium.stage
AUDIENCE_KINDS = (QUESTIONS, HANDS, POLLS, STAGE)


class InvalidInput(ValueError):
    """User input that breaks a rule; `field` names it, the message says how."""

    def __init__(self, field: str, message: str):
        super().__init__(message)
        self.field = field


def clean_text(value: object, field: str, max_length: int) -> str:
    """Return `value` stripped, or raise InvalidInput saying what is wrong with it.

    One line of 1..max_length characters; no control characters (C0, DEL, C1)
    and no lone surrogates, which JSON can carry but UTF-8 cannot.
    """
    if not isinstance(value, str):
        raise InvalidInput(field, f'"{field}" is required and must be a string.')
    value = value.strip()
    if not value:
        raise InvalidInput(field, f'"{field}" must not be empty.')
    if len(value) > max_length:
        raise InvalidInput(
            field,
            f'"{field}" must be at most {max_length} characters long '
            f'(it has {len(value)}).',
        )
    for char in value:
        category = unicodedata.category(char)
        if category == 'Cc':
            raise InvalidInput(
                field,
                f'"{field}" must be a single line without control characters '
                f'(found U+{ord(char):04X}).',
            )
        if category == 'Cs':
            raise InvalidInput(
                field, f'"{field}" is not valid Unicode text (a lone surrogate).'
            )
    return value


def clean_options(value: object) -> list[str]:
    """Return a poll's options, each cleaned; 2..6 distinct ones."""
    if not isinstance(value, list) or not MIN_OPTIONS <= len(value) <= MAX_OPTIONS:
        raise InvalidInput(
            'options',
            f'"options" must be a list of {MIN_OPTIONS} to {MAX_OPTIONS} strings.',
        )
    options = [clean_text(v, 'options', MAX_OPTION_LENGTH) for v in value]
    if len(set(options)) != len(options):
        raise InvalidInput('options', '"options" must not repeat an option.')
    return options


# Questions ----------------------------------------------------------------------


@dataclass(frozen=True)
class QuestionChange:
    """A presenter's change to one question and to the "answering now" pointer."""

    fields: dict[str, str]  # to write into the question's record
    answering_now: str | None  # the presentation's new pointer ('' = none)


def change_question(
    question: Mapping[str, str],
    answering_now: str,
    *,
    state: str | None,
    answering: bool | None,
    now_ms: int,
) -> QuestionChange:
    """Return what a presenter's PATCH changes; raise InvalidInput if it can't.

    Any state may become approved, answered or dismissed (a mistaken dismissal
    can be undone). Marking a question answering-now approves it if pending;
    answering or dismissing it ends "answering now".
    """
    if state is not None and state not in QUESTION_STATES:
        raise InvalidInput(
            'state', '"state" must be one of: ' + ', '.join(QUESTION_STATES) + '.'
        )
    fields: dict[str, str] = {}
    current = question['state']
    qid = question['id']
    if answering and (state or current) == DISMISSED:
        raise InvalidInput(
            'answering_now', 'A dismissed question cannot be answered now.'
        )
    if answering and state is None and current == PENDING:
        state = APPROVED
    if state is not None and state != current:
        fields['state'] = state
        fields[f'{state}_at'] = str(now_ms)
        fields['updated_at'] = str(now_ms)
    pointer: str | None = None
    if answering:
        pointer = qid
    elif answering is False and answering_now == qid:
        pointer = ''
    if state in (ANSWERED, DISMISSED) and (pointer or answering_now) == qid:
        pointer = ''
    if pointer == answering_now:
        pointer = None
    return QuestionChange(fields, pointer)


def question_sort_key(question: Mapping) -> tuple:
    """Order questions by votes (most first), then age (oldest first)."""
    return (-question['votes'], question['asked_at'], question['id'])


def question_record(raw: Mapping[str, str], votes: int) -> dict:
    """Return a stored question as the presenter sees it (identities included)."""
    anonymous = raw.get('anonymous') == '1'
    return {
        'id': raw['id'],
        'text': raw['text'],
        'author': None if anonymous else (raw.get('name') or None),
        'anonymous': anonymous,
        'identity': raw.get('identity', ''),
        'state': raw['state'],
        'votes': votes,
        'asked_at': int(raw['asked_at']),
        'approved_at': _ms(raw.get('approved_at')),
        'answered_at': _ms(raw.get('answered_at')),
        'dismissed_at': _ms(raw.get('dismissed_at')),
    }


def public_question(record: Mapping) -> dict:
    """Return what every page may see of a question: no identity."""
    return {
        k: record[k]
        for k in ('id', 'text', 'author', 'state', 'votes', 'asked_at', 'answered_at')
    }


def questions_view(
    records: Iterable[Mapping], answering_now: str, moderated: bool, version: int
) -> dict:
    """Return the public `questions` event: visible questions, sorted."""
    records = list(records)
    visible = sorted(
        (r for r in records if r['state'] in PUBLIC_STATES), key=question_sort_key
    )
    shown = {q['id'] for q in visible}
    return {
        'version': version,
        'moderated': moderated,
        'answering_now': answering_now if answering_now in shown else None,
        # Not secret, and lets the presenter page badge new questions to approve.
        'pending': sum(1 for r in records if r['state'] == PENDING),
        'questions': [public_question(q) for q in visible],
    }


def toggle_vote(voters: frozenset[str], identity: str, voted: bool) -> frozenset[str]:
    """Return a question's voters after `identity` says voted (PUT) or not (DELETE).

    A set: repeating a vote changes nothing, and votes of different people
    commute, which is what SADD/SREM give the stored form.
    """
    return voters | {identity} if voted else voters - {identity}


# Hands --------------------------------------------------------------------------


def raise_hand(hands: Mapping[str, int], identity: str, at_ms: int) -> dict[str, int]:
    """Return the raised hands after `identity` raises theirs (ZADD NX: first wins)."""
    if identity in hands:
        return dict(hands)
    return {**hands, identity: at_ms}


def lower_hand(hands: Mapping[str, int], identity: str) -> dict[str, int]:
    return {k: v for k, v in hands.items() if k != identity}


def hand_queue(hands: Mapping[str, int], names: Mapping[str, str]) -> list[dict]:
    """Return the queue, first raised first (identity breaks a tie, like a ZSET)."""
    return [
        {'identity': identity, 'name': names.get(identity) or None, 'raised_at': at}
        for identity, at in sorted(hands.items(), key=lambda item: (item[1], item[0]))
    ]


def hands_view(queue: list[dict], version: int) -> dict:
    """Return the public `hands` event.

    Names and raise times only: the same names are public on questions, and an
    identity grants nothing without its signed token.
    """
    return {'version': version, 'count': len(queue), 'queue': queue}


# Polls --------------------------------------------------------------------------


def change_poll(poll: Mapping[str, str], state: str, now_ms: int) -> dict[str, str]:
    """Return the fields a presenter's open/close writes; {} if nothing changes."""
    if state not in POLL_STATES:
        raise InvalidInput('state', '"state" must be "open" or "closed".')
    if poll['state'] == state:
        return {}
    stamp = 'opened_at' if state == OPEN else 'closed_at'
    return {'state': state, stamp: str(now_ms), 'updated_at': str(now_ms)}


def cast_ballot(
    ballots: Mapping[str, int], identity: str, option: int
) -> dict[str, int]:
    """Return the ballots after `identity` votes `option`: last ballot wins."""
    return {**ballots, identity: option}


def tally(ballots: Mapping[str, int], option_count: int) -> list[int]:
    """Return the votes per option."""
    counts = [0] * option_count
    for option in ballots.values():
        counts[option] += 1
    return counts


def check_option(option: object, option_count: int) -> int:
    """Return a valid option index, or raise InvalidInput."""
    if isinstance(option, bool) or not isinstance(option, int):
        raise InvalidInput('option', '"option" must be an option index (0, 1, ...).')
    if not 0 <= option < option_count:
        raise InvalidInput(
            'option',
            f'"option" must be between 0 and {option_count - 1} for this poll.',
        )
    return option


def poll_record(raw: Mapping[str, str], tallies: Mapping[str, str]) -> dict:
    """Return a stored poll with its tallies, as the presenter sees it."""
    options = json.loads(raw['options'])
    votes = [max(0, int(tallies.get(str(i), 0))) for i in range(len(options))]
    return {
        'id': raw['id'],
        'question': raw['question'],
        'options': options,
        'state': raw['state'],
        'visibility': raw['visibility'],
        'created_at': int(raw['created_at']),
        'opened_at': _ms(raw.get('opened_at')),
        'closed_at': _ms(raw.get('closed_at')),
        'votes': votes,
        'total': sum(votes),
    }


def results_visible(poll: Mapping, *, has_voted: bool) -> bool:
    """Return whether an attendee may see a poll's tallies."""
    if poll['state'] == CLOSED:
        return True
    return poll['state'] == OPEN and poll['visibility'] == AFTER_VOTE and has_voted


def public_poll(poll: Mapping) -> dict:
    """Return a poll as every page may see it: tallies only once it is closed."""
    view = {
        k: poll[k]
        for k in ('id', 'question', 'options', 'state', 'visibility', 'total')
    }
    view['votes'] = poll['votes'] if results_visible(poll, has_voted=False) else None
    return view


def polls_view(polls: Iterable[Mapping], version: int) -> dict:
    """Return the public `polls` event: open and closed polls (never drafts)."""
    return {
        'version': version,
        'polls': [public_poll(p) for p in polls if p['state'] in (OPEN, CLOSED)],
    }


# Reactions ----------------------------------------------------------------------

REACTION_BUCKET_MS = 250  # pages get at most one reactions event per bucket


def reaction_bucket(now_ms: int) -> int:
    """Return the index of the short window a reaction at `now_ms` counts in."""
    return now_ms // REACTION_BUCKET_MS


def _ms(raw: str | None) -> int | None:
    return int(raw) if raw else None
