"""Run Podium's benchmarks and report: `python -m bench.run --quick` (see README).

Prints a results table, writes the raw results to bench/results/<timestamp>.json,
and with --write-results a markdown report to bench/RESULTS.md. Benchmarks
measure and report; nothing here passes or fails (targets are shown, not asserted).
"""

from __future__ import annotations

import argparse
import importlib
import json
import math
import shutil
import sys
import tempfile
import time
import traceback
from dataclasses import dataclass
from datetime import UTC, datetime
from pathlib import Path

from bench import machine, procs, profile, wrk
from bench.settings import FULL, QUICK, Context, Credentials

BENCH_DIR = Path(__file__).resolve().parent
RESULTS_DIR = BENCH_DIR / 'results'
RESULTS_MD = BENCH_DIR / 'RESULTS.md'


@dataclass(frozen=True)
class Figure:
    """One line of the results table."""

    bench: str
    name: str
    value: float | None
    unit: str
    target: str = ''
    met: bool | None = None  # None: no target, or not measured

    def row(self) -> list[str]:
        mark = {True: 'yes', False: 'NO', None: ''}[self.met]
        return [self.bench, self.name, fmt(self.value), self.unit, self.target, mark]


def fmt(value: float | None) -> str:
    if value is None or (isinstance(value, float) and math.isnan(value)):
        return 'n/a'
    if abs(value) >= 100:
        return f'{value:,.0f}'
    if abs(value) >= 10:
        return f'{value:.1f}'
    return f'{value:.2f}'


def at_least(value, target) -> bool | None:
    return None if value is None else value >= target


def below(value, target) -> bool | None:
    return None if value is None else value < target


# What each benchmark contributes to the table ------------------------------------


def token_figures(r: dict) -> list[Figure]:
    b = 'token'
    out = [
        Figure(b, 'max tokens/s, ours (deploy config)', r['max_rps']['ours'], 'req/s'),
        Figure(
            b,
            'max tokens/s, ours without worker recycling',
            r['max_rps']['ours_no_recycle'],
            'req/s',
        ),
        Figure(b, 'max tokens/s, Flask baseline', r['max_rps']['baseline'], 'req/s'),
        Figure(
            b,
            'ratio ours/baseline (max tokens/s)',
            r['ratio'],
            'x',
            '>= 3',
            at_least(r['ratio'], 3),
        ),  # fmt: skip
        Figure(
            b,
            'server CPU per token, ours without recycling',
            r['cpu_ms_per_request']['ours_no_recycle'],
            'ms',
        ),
        Figure(
            b,
            'server CPU per token, baseline',
            r['cpu_ms_per_request']['baseline'],
            'ms',
        ),  # fmt: skip
        Figure(
            b,
            'CPU-efficiency ratio ours/baseline',
            r['cpu_ratio'],
            'x',
            '>= 3',
            at_least(r['cpu_ratio'], 3),
        ),  # fmt: skip
    ]
    for row in r['fixed_rate']:
        for name in ('ours', 'baseline'):
            p99 = row[name]['p99_ms']
            target, met = ('< 5', below(p99, 5)) if row['rate'] == 1000 else ('', None)
            if name == 'baseline':
                target, met = '', None
            out.append(Figure(b, f'p50 at {row["rate"]}/s, {name}',
                              row[name]['p50_ms'], 'ms'))  # fmt: skip
            out.append(
                Figure(b, f'p99 at {row["rate"]}/s, {name}', p99, 'ms', target, met)
            )
    return out


def webhooks_figures(r: dict) -> list[Figure]:
    b = 'webhooks'
    out = [
        Figure(b, 'callbacks applied/s per worker (deploy config)',
               r['max_rps']['ours'], 'req/s', '>= 5,000',
               at_least(r['max_rps']['ours'], 5000)),
        Figure(b, 'callbacks applied/s per worker, no recycling',
               r['max_rps']['ours_no_recycle'], 'req/s', '>= 5,000',
               at_least(r['max_rps']['ours_no_recycle'], 5000)),
        Figure(b, 'server CPU per callback (no recycling)',
               r['cpu_ms_per_request']['ours_no_recycle'], 'ms'),
    ]  # fmt: skip
    for row in r['fixed_rate']:
        out.append(Figure(b, f'p50 at {row["rate"]}/s', row['p50_ms'], 'ms'))
        out.append(Figure(b, f'p99 at {row["rate"]}/s', row['p99_ms'], 'ms'))
    by_workers: dict[int, list[dict]] = {}
    for storm in r['storms']:
        by_workers.setdefault(storm['workers'], []).append(storm)
    for workers, storms in by_workers.items():
        times = [s['correct_s'] for s in storms if s['correct_s'] is not None]
        value = sorted(times)[len(times) // 2] if times else None
        out.append(
            Figure(b, f'join storm (2,000 callbacks) until view correct, '
                   f'{workers} worker{"s" if workers > 1 else ""} (median)',
                   value, 's', '< 1', below(value, 1))
        )  # fmt: skip
    return out


def sse_figures(r: dict) -> list[Figure]:
    b = 'sse'
    n = r['conditions']['streams']
    kb = r['kib_per_connection'] * 1.024
    return [
        Figure(b, f'change -> all {n} streams have it, p50', r['until_all_ms']['p50'],
               'ms'),
        Figure(b, f'change -> all {n} streams have it, p99', r['until_all_ms']['p99'],
               'ms', '< 500', below(r['until_all_ms']['p99'], 500)),
        Figure(b, 'change -> one stream has it, p50', r['per_stream_ms']['p50'], 'ms'),
        Figure(b, 'change -> one stream has it, p99', r['per_stream_ms']['p99'], 'ms'),
        Figure(b, 'memory per open stream (RSS delta / N)', kb, 'KB', '< 50',
               below(kb, 50)),
        Figure(b, f'time to open {n} streams', r['open_s'], 's'),
        Figure(b, 'streams connected / client errors',
               r['connected'], f'/ {n}, errors {r["client_errors"] or 0}'),
    ]  # fmt: skip


def audience_figures(r: dict) -> list[Figure]:
    b = 'audience'
    rps, cpu = r['max_rps'], r['cpu_ms_per_request']
    lat = r['latency']
    n = r['streams']['n']
    low, high = (r['storm'][k] for k in sorted(r['storm'], key=int))
    lo_n, hi_n = sorted(map(int, r['storm']))
    ratio = r['storm_bytes_ratio']
    return [
        Figure(b, 'votes/s per worker', rps['votes'], 'req/s', '>= 5,000',
               at_least(rps['votes'], 5000)),
        Figure(b, 'server CPU per vote', cpu['votes'], 'ms'),
        Figure(b, 'reactions/s per worker', rps['reactions'], 'req/s'),
        Figure(b, 'server CPU per reaction', cpu['reactions'], 'ms'),
        Figure(b, 'questions/s per worker', rps['questions'], 'req/s'),
        Figure(b, 'server CPU per question', cpu['questions'], 'ms'),
        Figure(b, f'vote -> all {n} streams have it, p50 (under load)',
               lat['until_all_ms']['p50'], 'ms'),
        Figure(b, f'vote -> all {n} streams have it, p99 (under load)',
               lat['until_all_ms']['p99'], 'ms', '< 2,000',
               below(lat['until_all_ms']['p99'], 2000)),
        Figure(b, 'vote -> one stream has it, p50', lat['per_stream_ms']['p50'], 'ms'),
        Figure(b, 'vote -> one stream has it, p99', lat['per_stream_ms']['p99'], 'ms'),
        Figure(b, f'reaction storm: bytes/s per page, {lo_n} streams',
               low['bytes_per_s'], 'B/s'),
        Figure(b, f'reaction storm: bytes/s per page, {hi_n} streams',
               high['bytes_per_s'], 'B/s'),
        Figure(b, f'reaction storm: bytes/s per page, ratio {hi_n}/{lo_n}', ratio,
               'x', '<= 1.25 (flat)', None if ratio is None else ratio <= 1.25),
        Figure(b, f'reaction storm: reactions events/s per page, {lo_n} streams',
               low['reactions_events_per_s'], '/s', '<= 4',
               low['reactions_events_per_s'] <= 4.05),
        Figure(b, f'reaction storm: reactions events/s per page, {hi_n} streams',
               high['reactions_events_per_s'], '/s', '<= 4',
               high['reactions_events_per_s'] <= 4.05),
    ]  # fmt: skip


def _bench(module: str, figures) -> tuple:
    return (lambda: importlib.import_module(f'bench.{module}'), figures)


# Media benchmarks (Janus, join latency) plug in here: a module
# `bench.media.run` with `run(ctx, on_step) -> dict` and
# `figures(result) -> list[bench.run.Figure]`. Until it exists, `--only media`
# says so and the rest of the suite runs as usual.
def _media_figures(result: dict) -> list[Figure]:
    return importlib.import_module('bench.media.run').figures(result)


BENCHES = {
    'token': _bench('token_bench', token_figures),
    'webhooks': _bench('webhooks_bench', webhooks_figures),
    'sse': _bench('sse_bench', sse_figures),
    'audience': _bench('audience_bench', audience_figures),
    'media': (lambda: importlib.import_module('bench.media.run'), _media_figures),
}
DEFAULT_BENCHES = ('token', 'webhooks', 'sse', 'audience', 'media')


# Profiling ----------------------------------------------------------------------


def run_profile(ctx: Context, target: str, seconds: float) -> dict:
    """Profile one service's worker under wrk load with py-spy; return the top."""
    if not profile.available():
        raise RuntimeError('py-spy is not installed: pip install py-spy')
    out = ctx.work_dir / f'profile-{target}.raw'
    if target == 'token':
        from bench import token_bench
        from tests.fake_twilio import FakeTwilio

        c = ctx.credentials
        with FakeTwilio(c.account_sid, c.api_key_sid, c.api_key_secret) as fake:
            proc, port = token_bench.start_ours(
                ctx, fake.url, 'token_profiled', ['--max-requests', '0']
            )
            try:
                base = f'http://127.0.0.1:{port}/api/presentations'
                pid = token_bench.post_json(base, {'title': 'Bench'})['id']
                url = f'{base}/{pid}/tokens'
                token_bench.post_json(url, {'role': 'attendee'})
                result = _profile_wrk(
                    proc, url, 'post_json.lua', {'WRK_BODY': token_bench.BODY},
                    out, seconds,
                )  # fmt: skip
            finally:
                proc.stop()
    elif target == 'webhooks':
        from bench import webhooks_bench
        from bench.callbacks import Signer
        from podium.config import WEBHOOK_PATH
        from podium.store import Store

        proc, port = webhooks_bench.start_webhooks(
            ctx, 'webhooks_profiled', 1, ['--max-requests', '0']
        )
        try:
            store = Store.from_url(ctx.redis_url)
            room = webhooks_bench.Presentations(
                store, ctx.credentials.account_sid
            ).new()
            lines = webhooks_bench.write_lines(
                ctx, Signer(ctx.credentials.auth_token), room, 10_000 * int(seconds + 2)
            )
            result = _profile_wrk(
                proc, f'http://127.0.0.1:{port}{WEBHOOK_PATH}',
                'post_signed_forms.lua', {'WRK_LINES': lines, 'WRK_PATH': WEBHOOK_PATH},
                out, seconds,
            )  # fmt: skip
        finally:
            proc.stop()
    else:
        raise SystemExit(f'--profile takes token or webhooks, not {target!r}')
    return result


def _profile_wrk(proc, url, script, env, out: Path, seconds: float) -> dict:
    worker = procs.children_of(proc.pid)[0]
    spy = profile.start(worker, seconds + 1, out)
    time.sleep(0.5)
    load = wrk.run(url, script, threads=1, connections=4, duration=seconds, env=env)
    _, err = spy.communicate(timeout=seconds + 30)
    if spy.returncode != 0 or not out.exists():
        raise RuntimeError(f'py-spy failed: {err.decode(errors="replace")}')
    top = profile.top(out)
    return {'rps_under_profiler': load['ok_rps'], 'raw': str(out), **top}


# Reporting ----------------------------------------------------------------------


def table(rows: list[list[str]], header: list[str]) -> str:
    widths = [max(len(r[i]) for r in [header, *rows]) for i in range(len(header))]
    line = lambda r: '  '.join(c.ljust(w) for c, w in zip(r, widths, strict=True))  # noqa: E731
    return '\n'.join(
        [line(header), line(['-' * w for w in widths])] + [line(r) for r in rows]
    )


HEADER = ['bench', 'figure', 'value', 'unit', 'target', 'met']


def markdown(report: dict, figures: list[Figure]) -> str:
    m = report['machine']
    pk = m['packages']
    lines = [
        '# Podium benchmark results',
        '',
        'Generated by `python -m bench.run '
        f'--{report["mode"]} --write-results` on {report["started"]} '
        f'(commit {m["git_commit"]}{" + local changes" if m["git_dirty"] else ""}).',
        'What each figure means, and how to read them: see bench/README.md.',
        '',
        '## Machine',
        '',
        f'- {m["cores"]} cores, {m["cpu_model"]}, {m["ram_gib"]} GiB RAM, '
        f'Linux {m["kernel"]}',
        f'- Python {m["python"]}; ' + ', '.join(f'{k} {v}' for k, v in pk.items()),
        f'- {m["redis_server"].split(" sha=")[0]}; {m["wrk"].split(" Copyright")[0]}',
        f'- load average at start {m["load_average_at_start"]}, at end '
        f'{report["load_average_at_end"]} (other work on the machine makes '
        'numbers noisy; CPU-per-request figures are the least affected)',
        '',
        '## Conditions',
        '',
    ]
    for name, result in report['results'].items():
        if 'error' in result:
            continue
        for key, value in result.get('conditions', {}).items():
            lines.append(f'- {name} / {key}: {value}')
    mode = report['mode_settings']
    lines += [
        f'- mode {report["mode"]}: wrk runs of {mode["duration"]} s, fixed-rate runs '
        f'of {mode["rate_duration"]} s after 1 s warm-up; {mode["repeats"]} wrk '
        f'runs per configuration, {mode["rate_repeats"]} per fixed rate (medians '
        'over runs; "max" is the best wrk configuration)',
        f'- wrk configurations (threads, connections): token {mode["token_wrk"]}, '
        f'webhooks {mode["webhook_wrk"]}; fixed rates: token {mode["token_rates"]}, '
        f'webhooks {mode["webhook_rates"]}',
        '',
        '## Results',
        '',
        '| ' + ' | '.join(HEADER) + ' |',
        '|' + '---|' * len(HEADER),
    ]
    lines += ['| ' + ' | '.join(f.row()) + ' |' for f in figures]
    failed = [n for n, r in report['results'].items() if 'error' in r]
    if failed:
        lines += ['', f'Not measured (failed): {", ".join(failed)}.']
    if 'token' in report['results'] and 'throughput' in report['results']['token']:
        lines += ['', '### Token service, each wrk configuration (req/s, medians)', '',
                  '| wrk | ours | ours, no recycling | baseline | ratio |',
                  '|---|---|---|---|---|']  # fmt: skip
        for row in report['results']['token']['throughput']:
            lines.append(
                f'| -t{row["threads"]} -c{row["connections"]} | '
                f'{fmt(row["ours"]["rps_median"])} | '
                f'{fmt(row["ours_no_recycle"]["rps_median"])} | '
                f'{fmt(row["baseline"]["rps_median"])} | {fmt(row["ratio"])} |'
            )
    audience = report['results'].get('audience')
    if audience and 'error' not in audience:
        lines += ['', *audience_section(audience)]
    media = report['results'].get('media')
    if media and 'error' not in media:
        from bench.media import join_latency, load

        conditions = media['janus']['conditions'].items()
        lines += ['', '### Join latency (local backend, Chromium through nginx)', '',
                  join_latency.table(media['latency']), '',
                  '### Janus CPU per attendee (aiortc receive-only attendees)', '',
                  ', '.join(f'{k}: {v}' for k, v in conditions),
                  '', load.table(media['janus']), '']  # fmt: skip
    return '\n'.join(lines)


def audience_section(r: dict) -> list[str]:
    """Return the RESULTS.md section of the audience bench, its targets said."""
    votes = r['max_rps']['votes']
    lat, bg = r['latency'], r['latency']['background']
    lines = [
        '### Audience interaction (token service, one worker; push to pages)',
        '',
        'Targets: issue 14 asks **>= 5,000 votes/s per worker**: '
        f'{"met" if votes >= 5000 else "not met"} ({fmt(votes)}/s, '
        f'{fmt(r["cpu_ms_per_request"]["votes"])} ms of server CPU per vote; '
        'votes are still sync resources served in a thread, see bench/README; token '
        'figures). Issue 10: upvotes re-order every page within 2 s (p99 of '
        'vote -> all streams < 2,000 ms), and reactions are aggregated: bytes '
        'per page flat as the audience grows (ratio <= 1.25), at most 4 '
        'reactions events a second.',
        '',
        '| writes | wrk | req/s (median) | runs | CPU ms/req | p99 ms | non-2xx |',
        '|---|---|---|---|---|---|---|',
    ]
    rows = [(n, row) for n, rs in r['throughput'].items() for row in rs]
    rows.append(('questions', r['questions']))
    for name, row in rows:
        lines.append(
            f'| {name} | -t{row["threads"]} -c{row["connections"]} | '
            f'{fmt(row["rps_median"])} | {", ".join(map(fmt, row["rps_runs"]))} | '
            f'{fmt(row["cpu_ms_per_request"])} | {fmt(row["p99_ms"])} | '
            f'{row["non_2xx"]} |'
        )
    until, one, answered = (
        lat['until_all_ms'],
        lat['per_stream_ms'],
        lat.get('vote_answered_ms', {}),
    )
    bg_lat = bg.get('latency_ms') or {}
    lines += [
        '',
        f'Vote -> all {r["streams"]["n"]} streams ({until["n"]} probe votes, '
        f'{bg["rate"]} background req/s): p50 {fmt(until["p50"])} ms, p99 '
        f"{fmt(until['p99'])} ms; one stream p50 {fmt(one['p50'])} ms; the vote's "
        f'own answer p50 {fmt(answered.get("p50"))} ms, p99 '
        f'{fmt(answered.get("p99"))} ms; background answers p50 '
        f'{fmt(bg_lat.get("p50"))} ms, p99 {fmt(bg_lat.get("p99"))} ms '
        f'(statuses {bg.get("statuses")}). The web service reads audience data '
        'at most every 250 ms per presentation (`DEFAULT_AUDIENCE_COALESCE`), '
        'so up to ~250 ms of each figure is by design.',
        '',
        '| reaction storm | bytes/s per page | reactions events/s per page | '
        'window s | reactions sent |',
        '|---|---|---|---|---|',
    ]
    for streams, row in sorted(r['storm'].items(), key=lambda kv: int(kv[0])):
        lines.append(
            f'| {streams} streams | {fmt(row["bytes_per_s"])} | '
            f'{fmt(row["reactions_events_per_s"])} | {fmt(row["seconds"])} | '
            f'{row["reactions_sent"]} |'
        )
    return lines


def main(argv: list[str] | None = None) -> int:
    parser = argparse.ArgumentParser(prog='python -m bench.run', description=__doc__)
    size = parser.add_mutually_exclusive_group()
    size.add_argument('--quick', action='store_true', help='about 2 minutes (default)')
    size.add_argument('--full', action='store_true', help='release run, ~15 minutes')
    parser.add_argument(
        '--only',
        default=','.join(DEFAULT_BENCHES),
        help=f'comma-separated subset of {", ".join(BENCHES)} '
        f'(default {",".join(DEFAULT_BENCHES)})',
    )
    parser.add_argument(
        '--write-results', action='store_true', help='also write bench/RESULTS.md'
    )
    parser.add_argument(
        '--profile',
        metavar='SERVICE',
        help='instead of benchmarking, profile token or webhooks under load '
        'with py-spy and print where the time goes',
    )
    parser.add_argument(
        '--keep-logs', action='store_true', help='keep server logs even on success'
    )
    args = parser.parse_args(argv)
    mode = FULL if args.full else QUICK
    chosen = [name.strip() for name in args.only.split(',') if name.strip()]
    unknown = [name for name in chosen if name not in BENCHES]
    if unknown:
        parser.error(f'unknown benchmark(s): {", ".join(unknown)}')
    wrk_benches = {'token', 'webhooks', 'audience'}
    if not wrk.available() and not args.profile and wrk_benches & set(chosen):
        parser.error('wrk is not installed: apt-get install -y wrk')

    started = datetime.now(UTC)
    work_dir = Path(tempfile.mkdtemp(prefix='podium-bench-'))
    say = lambda text: print(f'[{time.strftime("%H:%M:%S")}] {text}', flush=True)  # noqa: E731
    say(f'logs in {work_dir}')
    redis_proc, redis_url = procs.start_redis(work_dir)
    ctx = Context(mode, work_dir, redis_url, Credentials())
    failed = False
    try:
        if args.profile:
            result = run_profile(ctx, args.profile, seconds=8)
            print(f'{args.profile}: {result["rps_under_profiler"]:.0f} req/s '
                  f'under the profiler; raw stacks in {result["raw"]}')  # fmt: skip
            print(profile.format_top(result, 25))
            return 0
        report = {
            'mode': mode.name,
            'mode_settings': mode.__dict__,
            'started': started.isoformat(timespec='seconds'),
            'machine': machine.describe(),
            'results': {},
        }
        figures: list[Figure] = []
        for name in chosen:
            load, to_figures = BENCHES[name]
            say(f'{name}: starting')
            try:
                module = load()
            except ModuleNotFoundError as ex:
                say(f'{name}: not available ({ex})')
                report['results'][name] = {'error': f'not available: {ex}'}
                continue
            began = time.monotonic()
            try:
                result = module.run(ctx, on_step=lambda text: say(f'  {text}'))
            except Exception as ex:
                failed = True
                traceback.print_exc()
                report['results'][name] = {'error': f'{type(ex).__name__}: {ex}'}
                continue
            result['elapsed_s'] = time.monotonic() - began
            report['results'][name] = result
            figures += to_figures(result)
        report['load_average_at_end'] = machine.load_average()
        report['figures'] = [f.__dict__ for f in figures]
    finally:
        redis_proc.stop()

    RESULTS_DIR.mkdir(exist_ok=True)
    stamp = started.strftime('%Y%m%dT%H%M%SZ')
    json_path = RESULTS_DIR / f'{stamp}.json'
    json_path.write_text(json.dumps(report, indent=2, default=str) + '\n')
    m = report['machine']
    print()
    print(f'{m["cores"]} cores {m["cpu_model"]}, {m["ram_gib"]} GiB, Python '
          f'{m["python"]}; load average {m["load_average_at_start"]} -> '
          f'{report["load_average_at_end"]}; mode {mode.name}')  # fmt: skip
    print(table([f.row() for f in figures], HEADER))
    for name, result in report['results'].items():
        if 'error' in result:
            print(f'{name}: {result["error"]}')
    print(f'\nraw results: {json_path}')
    if args.write_results:
        RESULTS_MD.write_text(markdown(report, figures))
        print(f'report: {RESULTS_MD}')
    if failed or args.keep_logs:
        print(f'server logs: {work_dir}')
    else:
        shutil.rmtree(work_dir, ignore_errors=True)
    return 1 if failed else 0


if __name__ == '__main__':
    sys.exit(main())
