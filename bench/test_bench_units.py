"""Checks of the suite's own parsing and arithmetic (no servers, no timing).

.venv/bin/python -m pytest bench/test_bench_units.py
"""

from __future__ import annotations

import asyncio

import pytest

from bench import audience_bench, profile, stats, wrk
from bench.sse_bench import state_version
from bench.sse_clients import Streams, parse_block, parse_event_id


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


def test_sse_event_ids_name_the_version_of_each_kind():
    assert parse_event_id(b'7.3.0.12.2') == {
        'state': 7,
        'questions': 3,
        'hands': 0,
        'polls': 12,
        'stage': 2,
    }
    assert parse_event_id('41') == {'state': 41}  # a stream before audience events
    assert parse_event_id(b'') == {}
    assert parse_event_id(b'1.2.3') == {}
    assert parse_event_id(b'1.2.3.4') == {}  # before the stage: all is sent again
    assert parse_event_id(b'1.x.3.4.5') == {}


def test_sse_blocks_parse_fields_and_skip_comments():
    assert parse_block(b': keep-alive') == {}
    assert parse_block(b'event: questions\nid: 1.2.0.0\ndata: {"a": ": b"}') == {
        b'event': b'questions',
        b'id': b'1.2.0.0',
        b'data': b'{"a": ": b"}',
    }
    assert parse_block(b'retry: 2000') == {b'retry': b'2000'}


def dispatch(streams: int, chunk: bytes, first: bool = True):
    async def scenario():
        clients = Streams({'host': '', 'port': 1, 'path': '/', 'connections': streams})
        rest, still_first = clients._dispatch(chunk, first)
        return clients, rest, still_first

    return asyncio.run(scenario())


def test_sse_dispatch_keeps_arrivals_per_kind_and_version_and_partial_events():
    streams, rest, first = dispatch(
        2,
        b': keep-alive\n\nretry: 2000\n\n'
        b'event: state\nid: 7.0.0.0.0\ndata: {}\n\n'
        b'event: questions\nid: 7.5.0.0.0\ndata: {}\n\n'
        b'event: reactions\ndata: {"counts": {}}\n\nevent: sta',
    )
    assert first is False
    assert streams.first_seen == 1
    assert set(streams.arrivals) == {('state', 7), ('questions', 5)}
    assert streams.events == {'state': 1, 'questions': 1, 'reactions': 1}
    assert rest == b'event: sta'


def test_sse_dispatch_counts_an_unreadable_id_as_an_error():
    streams, _, first = dispatch(1, b'event: polls\nid: nope\ndata: {}\n\n')
    assert first is True and not streams.arrivals
    assert streams.errors == {'unreadable event id': 1}


def test_state_version_reads_only_state_arrival_keys():
    assert state_version('state 12') == 12
    assert state_version('questions 12') is None


def test_vote_plan_upvotes_every_pair_then_removes_each():
    plan = [audience_bench.vote_plan(k, 3, 2) for k in range(12)]
    ups, downs = plan[:6], plan[6:]
    assert {(i, q) for i, q, _ in ups} == {(i, q) for i in range(3) for q in range(2)}
    assert all(m == 'PUT' for *_, m in ups) and all(m == 'DELETE' for *_, m in downs)
    assert [(i, q) for i, q, _ in downs] == [(i, q) for i, q, _ in ups]
    assert plan[0][0] != plan[1][0]  # consecutive requests: different attendees
    assert audience_bench.vote_plan(12, 3, 2) == (0, 0, 'PUT')


def test_question_lines_ask_each_attendee_in_rounds():
    lines = audience_bench.question_lines([('p1', ['a', 'b']), ('p2', ['c'])], 2)
    assert (
        lines
        == [
            '/api/presentations/p1/questions\ta',
            '/api/presentations/p1/questions\tb',
            '/api/presentations/p2/questions\tc',
        ]
        * 2
    )


def test_first_at_least_finds_the_first_event_holding_a_change():
    assert audience_bench.first_at_least([9, 4, 12, 7], 5) == 7
    assert audience_bench.first_at_least([9, 4], 9) == 9
    assert audience_bench.first_at_least([3], 5) is None


def test_per_page_divides_by_streams_and_seconds():
    got = audience_bench.per_page(
        {'seconds': 4.0, 'bytes': 80_000, 'events': {'reactions': 1600, 'polls': 0}},
        100,
    )
    assert got['bytes_per_s'] == 200
    assert got['reactions_events_per_s'] == 4
    assert got['events_per_s'] == 4


def test_per_page_counts_the_intervals_between_the_first_and_last_event():
    # 17 events a page at 250 ms intervals span 4 s: 4 a second, not 4.25.
    got = audience_bench.per_page(
        {
            'seconds': 9.0,
            'bytes': 17 * 100 * 100,
            'events': {'reactions': 1700},
            'first_event_at': 10.0,
            'last_event_at': 14.0,
        },
        100,
    )
    assert got['seconds'] == 4.0
    assert got['reactions_events_per_s'] == 4
    assert got['bytes_per_s'] == 400


def test_slow_link_window_figures_are_rates_over_the_window():
    from bench.slow_link import send_kbps, window_figures

    def sample(at, frames, freezes, frozen, lost, received, concealed, samples):
        video = {'frames': frames, 'height': 180, 'freezes': freezes,
                 'frozen': frozen, 'lost': lost, 'received': received,
                 'bytes': 2_500 * received, 'jitter': at / 10}  # fmt: skip
        return {'at': at, 'camera': video, 'screen': None,
                'audio': {'concealed': concealed, 'samples': samples}}  # fmt: skip

    first = sample(10.0, 100, 1, 0.5, 10, 990, 0, 48000)
    last = sample(30.0, 200, 3, 1.5, 60, 1940, 960, 1008000)
    figures = window_figures(first, last)
    assert figures['camera'] == {
        'fps': 5.0, 'height': 180, 'freezes_per_min': 6.0, 'frozen_s': 1.0,
        'loss_pct': 5.0, 'kbps': 950,  # 950 packets of 2,500 B over 20 s
        'jitter_ms': 3.0,  # the jitter at the window's end, not a difference
    }  # fmt: skip
    assert figures['screen'] is None
    assert figures['audio_concealed_pct'] == 0.1
    assert send_kbps({'at': 0, 'bytes': 0}, {'at': 10, 'bytes': 1_250_000}) == 1000
