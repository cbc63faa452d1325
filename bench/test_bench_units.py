"""Checks of the suite's own parsing and arithmetic (no servers, no timing).

.venv/bin/python -m pytest bench/test_bench_units.py
"""

from __future__ import annotations

import asyncio

import pytest

from bench import profile, stats, wrk
from bench.sse_clients import Streams


def test_percentile_interpolates_between_ranks():
    assert stats.percentile([1, 2, 3, 4], 50) == 2.5
    assert stats.percentile([5], 99) == 5
    assert stats.percentile([3, 1, 2], 100) == 3


def test_wrk_parse_reads_the_json_line_and_derives_rates():
    out = (
        'Running 1s test\n'
        'WRKJSON {"requests":2000,"duration_us":2000000,"bytes":1,'
        '"errors":{"connect":0,"read":0,"write":0,"status":100,"timeout":0},'
        '"latency_us":{"p50":1500,"p90":2000,"p99":3000,"p999":4000,"max":5000,'
        '"mean":1600.0}}\n'
    )
    result = wrk.parse(out)
    assert result['rps'] == 1000
    assert result['ok_rps'] == 950
    assert result['latency_ms']['p99'] == 3


def test_wrk_parse_refuses_output_without_results():
    with pytest.raises(RuntimeError):
        wrk.parse('unable to connect\n')


def test_profile_top_skips_idle_stacks(tmp_path):
    raw = tmp_path / 'p.raw'
    raw.write_text(
        'main (a.py:1);work (b.py:2) 3\n'
        'main (a.py:1);wait (threading.py:320) 5\n'
        'main (a.py:1);other (b.py:9) 1\n'
    )
    top = profile.top(raw)
    assert top['samples'] == 4
    assert top['self'][0] == ('work (b.py:2)', 0.75)
    assert dict(top['total'])['main (a.py)'] == 1.0


def test_sse_dispatch_counts_state_events_and_keeps_partial_ones():
    async def scenario():
        streams = Streams({'host': '', 'port': 1, 'path': '/', 'connections': 2})
        rest, first = streams._dispatch(
            b': keep-alive\n\nevent: state\nid: 7\ndata: {}\n\nevent: sta', True
        )
        return streams, rest, first

    streams, rest, first = asyncio.run(scenario())
    assert first is False
    assert streams.arrivals[7] and streams.first_seen == 1
    assert rest == b'event: sta'
