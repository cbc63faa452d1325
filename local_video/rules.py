"""Subscribe Rules: validation as Twilio's API does it, and which tracks they select.

A track is subscribed when at least one `include` rule matches it and no `exclude`
rule does; the filters inside one rule are ANDed. A participant's own tracks never
match. Rules name publishers and tracks by identity/name or by SID.
"""

from __future__ import annotations

import json
from collections.abc import Iterable

from .errors import SUBSCRIBE_RULES_INVALID, TwilioError

MAX_RULES = 20
KINDS = ('audio', 'video', 'data')
FILTERS = ('all', 'kind', 'publisher', 'track', 'priority')
INCLUDE_ALL = ({'type': 'include', 'all': True},)
EXCLUDE_ALL = ({'type': 'exclude', 'all': True},)


def _invalid(why: str) -> TwilioError:
    return TwilioError(SUBSCRIBE_RULES_INVALID, f'Invalid Subscribe Rules: {why}')


def parse_rules(raw: str | list) -> list[dict]:
    """Validate a `Rules` value (JSON text or list); return the normalised rules."""
    if isinstance(raw, str):
        try:
            raw = json.loads(raw)
        except ValueError:
            raise _invalid('Rules must be a JSON array') from None
    if not isinstance(raw, list):
        raise _invalid('Rules must be a JSON array')
    if not raw:
        raise _invalid('an empty set of rules [] is not allowed')
    if len(raw) > MAX_RULES:
        raise _invalid(f'at most {MAX_RULES} rules are allowed')
    return [_parse_rule(rule) for rule in raw]


def _parse_rule(rule: object) -> dict:
    if not isinstance(rule, dict):
        raise _invalid('every rule must be a JSON object')
    kind = rule.get('type')
    if kind not in ('include', 'exclude'):
        raise _invalid('every rule needs a type of include or exclude')
    unknown = set(rule) - {'type', *FILTERS}
    if unknown:
        raise _invalid(f'unknown field {sorted(unknown)[0]!r}')
    filters = {k: v for k, v in rule.items() if k != 'type' and v is not None}
    if 'all' in filters:
        if filters['all'] is not True or len(filters) > 1:
            raise _invalid('a rule with all must have all: true and no other filter')
    elif not set(filters) - {'priority'}:
        raise _invalid('a rule needs all, kind, publisher or track')
    if 'kind' in filters and filters['kind'] not in KINDS:
        raise _invalid('kind must be one of audio, video or data')
    for name in ('publisher', 'track'):
        if name in filters and not (isinstance(filters[name], str) and filters[name]):
            raise _invalid(f'{name} must be a non-empty string')
    return {'type': kind, **filters}


def rules_json(rules: Iterable[dict]) -> list[dict]:
    """Return rules as the API answers them.

    Twilio's examples show unset filters as null, but its OpenAPI schema types them
    as plain strings/booleans; leaving unset filters out satisfies both readers.
    """
    return [{k: v for k, v in rule.items() if v is not None} for rule in rules]


def _matches(
    rule: dict, publisher: tuple[str, str], track: tuple[str, str, str]
) -> bool:
    if rule.get('all'):
        return True
    track_sid, track_name, track_kind = track
    if 'kind' in rule and rule['kind'] != track_kind:
        return False
    if 'publisher' in rule and rule['publisher'] not in publisher:
        return False
    return not ('track' in rule and rule['track'] not in (track_sid, track_name))


def selects(
    rules: Iterable[dict],
    publisher_sid: str,
    publisher_identity: str,
    track_sid: str,
    track_name: str,
    track_kind: str,
) -> bool:
    """Return whether `rules` subscribe to one track of one publisher."""
    publisher = (publisher_sid, publisher_identity)
    track = (track_sid, track_name, track_kind)
    included = False
    for rule in rules:
        if _matches(rule, publisher, track):
            if rule['type'] == 'exclude':
                return False
            included = True
    return included
