"""Fast checks of the join storm's arithmetic (no stack, no network).

.venv/bin/python -m pytest bench/media/test_join_storm.py
"""

from __future__ import annotations

from bench.media.join_storm import cpu_pct, step_stats, summarize_joins


def test_step_stats_of_times_and_of_none():
    stats = step_stats([float(v) for v in range(1, 101)])
    assert (stats['n'], stats['min'], stats['max']) == (100, 1.0, 100.0)
    assert 50 <= stats['p50'] <= 51
    assert 95 <= stats['p95'] <= 96
    assert step_stats([]) == {
        'n': 0,
        'p50': None,
        'p95': None,
        'min': None,
        'max': None,
    }


def test_summarize_joins_counts_each_step_and_refusals_by_reason():
    ok = {
        'token_ms': 10.0,
        'signal_ms': 20.0,
        'rules_ms': 30.0,
        'first_rtp_ms': 100.0,
        'first_frame_ms': 120.0,
        'late_ms': 1.0,
        'rules_statuses': [429, 200],
        'error': None,
    }
    results = [
        ok,
        {**ok, 'rules_statuses': [200]},
        {
            'token_ms': 12.0,
            'signal_ms': 25.0,
            'late_ms': 2.0,
            'rules_statuses': [429, 429, 429, 429],
            'error': 'subscribe rules: HTTP 429 after 4 attempts',
        },
        {'late_ms': 0.0, 'rules_statuses': [], 'error': 'token: HTTP 429'},
        {
            **ok,
            'first_rtp_ms': None,
            'first_frame_ms': None,
            'error': 'no complete screen key frame within 45.0 s',
        },
    ]
    summary = summarize_joins(results)
    assert summary['attendees'] == 5
    assert summary['reached_media'] == 2
    assert summary['refused'] == 3
    assert summary['refused_by_reason'] == {
        'subscribe rules: HTTP 429': 1,
        'token: HTTP 429': 1,
        'no complete screen key frame within 45.0 s': 1,
    }
    assert summary['subscribe_rules_statuses'] == {'429': 6, '200': 3}
    assert summary['subscribe_rules_retried'] == 3
    assert summary['steps']['token_ms']['n'] == 4
    assert summary['steps']['first_frame_ms']['n'] == 2
    assert summary['steps']['signal_ms']['max'] == 25.0


def test_cpu_pct_per_part_and_for_the_machine():
    before = {
        'time': 10.0,
        'parts': {'janus': 1.0, 'token': 0.5},
        'machine': (100.0, 400.0),
        'udp_drops': 3,
    }
    after = {
        'time': 20.0,
        'parts': {'janus': 3.5, 'token': 0.6},
        'machine': (110.0, 420.0),
        'udp_drops': 3,
    }
    out = cpu_pct(before, after)
    assert out['janus'] == 25.0
    assert out['token'] == 1.0
    assert out['window_s'] == 10.0
    assert out['udp_rcvbuf_drops'] == 0
    machine = [v for k, v in out.items() if k.startswith('machine')]
    assert len(machine) == 1 and machine[0] > 0
