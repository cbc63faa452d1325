"""Media benchmarks as part of `python -m bench.run --only media`.

Runs the join-latency benchmark (real Chromium through nginx) and the Janus load
benchmark (aiortc attendees) one after the other, never at the same time, so
neither disturbs the other's numbers.
"""

from __future__ import annotations

from bench.media import join_latency, load
from bench.run import Figure, at_least, below

QUICK_JOINS, FULL_JOINS = 10, 20
QUICK_STARTS, FULL_STARTS = 5, 10
PER_ATTENDEE_TARGET = 0.5  # % of a core


def run(ctx, on_step) -> dict:
    """Measure join latency, then Janus CPU per attendee; return both results."""
    quick = ctx.mode.name == 'quick'
    joins = QUICK_JOINS if quick else FULL_JOINS
    starts = QUICK_STARTS if quick else FULL_STARTS
    on_step(f'join latency: {joins} joins, {starts} starts')
    latency = join_latency.run(joins, start_runs=starts)
    on_step('janus load: aiortc attendees')
    janus = load.run(quick=quick, verbose=False)
    return {'latency': latency, 'janus': janus}


def figures(result: dict) -> list[Figure]:
    """Turn the media results into rows of the results table."""
    b = 'media'
    join = result['latency']['join']['click_to_first_frame_decoded_ms']
    start = result['latency']['start']['click_to_first_frame_decoded_ms']
    rows = [
        Figure(b, f'Join -> first screen frame decoded, p50 (n={join["n"]})',
               join['p50'], 'ms', '<= 500', below(join['p50'], 500.001)),
        Figure(b, 'Join -> first screen frame decoded, p95', join['p95'], 'ms'),
        Figure(b, f'Start -> first frame at a waiting attendee, p50 (n={start["n"]})',
               start['p50'], 'ms', '<= 1000', below(start['p50'], 1000.001)),
        Figure(b, 'Start -> first frame at a waiting attendee, p95', start['p95'],
               'ms'),
    ]  # fmt: skip
    for r in result['janus']['results']:
        n = r['attendees']
        rows.append(Figure(b, f'Janus CPU, 1 presenter + {n} attendees',
                           r['janus_cpu_pct'], '% of a core'))  # fmt: skip
        marginal = r.get('janus_marginal_cpu_per_attendee_pct')
        if n and marginal is not None:
            rows.append(Figure(
                b, f'Janus CPU per attendee (N={n}, above N=0)', marginal,
                '% of a core', '<= 0.5', below(marginal, PER_ATTENDEE_TARGET + 1e-9),
            ))  # fmt: skip
            delivered = r['delivered_per_attendee']
            worst_loss = max((v['loss_pct'] for v in delivered.values()), default=None)
            rows.append(Figure(b, f'worst stream loss per attendee (N={n})',
                               worst_loss, '%'))  # fmt: skip
            per_core = r.get('attendees_per_janus_core')
            rows.append(Figure(b, f'attendees per Janus core (N={n})', per_core, '',
                               '>= 200', at_least(per_core, 200)))  # fmt: skip
    return rows
