"""Which tracks subscribe rules select."""

from __future__ import annotations

from local_video.rules import EXCLUDE_ALL, INCLUDE_ALL, parse_rules, selects


def pick(rules, publisher='presenter', track='camera', kind='video'):
    return selects(rules, 'PA1', publisher, 'MT1', track, kind)


def test_defaults():
    assert pick(INCLUDE_ALL)
    assert not pick(EXCLUDE_ALL)


def test_include_publisher_selects_only_that_publisher():
    rules = parse_rules('[{"type": "include", "publisher": "presenter"}]')
    assert pick(rules)
    assert pick(rules, track='screen') and pick(rules, kind='audio', track='microphone')
    assert not pick(rules, publisher='attendee-1')
    assert selects(rules, 'PA1', 'someone', 'MT1', 'camera', 'video') is False
    by_sid = parse_rules('[{"type": "include", "publisher": "PA1"}]')
    assert pick(by_sid, publisher='renamed')


def test_filters_in_one_rule_are_anded_and_exclude_wins():
    rules = parse_rules(
        '[{"type": "include", "publisher": "presenter", "kind": "audio"}]'
    )
    assert pick(rules, kind='audio') and not pick(rules, kind='video')
    rules = parse_rules(
        '[{"type": "include", "all": true}, {"type": "exclude", "track": "screen"}]'
    )
    assert pick(rules) and not pick(rules, track='screen')
