"""Audience interaction: votes, reactions and questions per token-service worker,
and how fast and how small their push to pages is.

The token service as deployed (`token_service.asgi:app` under
`deploy/gunicorn/token_service.conf.py`, uvicorn worker, PODIUM_TOKEN_WORKERS=1)
with the web service (uvicorn worker, PODIUM_WEB_WORKERS=1) beside it, on the run's
redis-server, rooms against tests/fake_twilio.py. Every write is authenticated
with an attendee's own access token and counted against that attendee's rate
limit (the limits stay as `.env.example` sets them; the bench spreads the load
over enough attendees to stay under them, as an audience does).

- votes/s, reactions/s, questions/s: wrk (closed loop), each request a change
  (votes alternate upvote and removal over attendee x question pairs; every
  question a new one, over as many presentations as the 500-question cap needs).
- vote -> all streams: N streams open on the web service (bench.sse_clients),
  200 attendees voting and reacting in the background (open loop), and a probe
  attendee toggling its upvote; time from sending the vote until every stream
  has a `questions` event at least as new.
- reaction storm: reactions at a fixed rate with 100 and then 1,000 streams
  open; bytes and events each page receives per second. The web service sends
  one reactions event per 250 ms window, so both should stay flat.
"""

from __future__ import annotations

import itertools
import json
import math
import random
import subprocess
import sys
import threading
import time
import urllib.request
from dataclasses import dataclass

from bench import loadgen, procs, wrk
from bench.settings import Context
from bench.sse_bench import Lines, start_web
from bench.stats import median, summary
from bench.token_bench import start_ours
from podium import audience
from podium.store import Store, audience_versions_key
from tests.fake_twilio import FakeTwilio

ATTENDEES = 1000  # identities sharing the write load (each far below its limits)
QUESTIONS = 20  # upvoted in turn: ATTENDEES x QUESTIONS distinct votes per round
BACKGROUND_ATTENDEES = 200  # voting and reacting while the latency is measured
BACKGROUND_RATE = BACKGROUND_ATTENDEES  # each: a vote or a reaction a second
STORM_RATE = 500  # reactions a second during the storm
STORM_STREAMS = (100, 1000)
QUESTIONS_PER_PRESENTATION = audience.MAX_QUESTIONS
QUESTIONS_PER_ATTENDEE = 10  # PODIUM_RATE_LIMIT_QUESTIONS: 10 a minute
WARM_STREAMS = 20


def vote_plan(k: int, identities: int, questions: int) -> tuple[int, int, str]:
    """Return (attendee index, question index, method) of vote request `k`.

    The same arithmetic as lua/audience_votes.lua: every pair is upvoted in
    even rounds and unvoted in odd ones, so no request repeats a counted vote.
    """
    method = 'PUT' if (k // (identities * questions)) % 2 == 0 else 'DELETE'
    return k % identities, (k // identities) % questions, method


def question_lines(
    presentations: list[tuple[str, list[str]]], per_attendee: int
) -> list[str]:
    """Return `<path>\\t<token>` lines, each attendee asking `per_attendee` times.

    Rounds go over every presentation and attendee before any asks again, so
    consecutive requests come from different people.
    """
    return [
        f'/api/presentations/{pid}/questions\t{token}'
        for _ in range(per_attendee)
        for pid, tokens in presentations
        for token in tokens
    ]


def first_at_least(versions: list[int], wanted: int) -> int | None:
    """Return the smallest of `versions` that is >= `wanted` (None if none is)."""
    candidates = [v for v in versions if v >= wanted]
    return min(candidates) if candidates else None


def per_page(since_mark: dict, streams: int) -> dict:
    """Return bytes and events per page per second while events flowed.

    The window is from the first event any stream received after the mark to
    the last (at least a second): a storm's own length, not the time its load
    generator took to start, which a busy machine stretches. k events a page
    span k - 1 intervals, so one event a page (and its share of the bytes) is
    left out of the rates.
    """
    events = since_mark['events']
    per_stream = sum(events.values()) / streams
    first, last = since_mark.get('first_event_at'), since_mark.get('last_event_at')
    seconds, counted = since_mark['seconds'], 1.0
    if (
        first is not None
        and last is not None
        and last - first >= 1.0
        and per_stream > 1
    ):
        seconds, counted = last - first, (per_stream - 1) / per_stream
    return {
        'seconds': seconds,
        'bytes_per_s': since_mark['bytes'] * counted / streams / seconds,
        'reactions_events_per_s': events.get('reactions', 0)
        * counted
        / streams
        / seconds,
        'events_per_s': per_stream * counted / seconds,
        'events': events,
    }


@dataclass
class Api:
    """The token service over HTTP, as many different clients."""

    port: int
    _client: int = 0

    def call(self, method: str, path: str, body=None, token: str = '') -> dict:
        self._client += 1
        c = self._client
        headers = {
            'Content-Type': 'application/json',
            # Each call another address: the per-address limits see an audience.
            'X-Forwarded-For': f'10.{c >> 16 & 255}.{c >> 8 & 255}.{c & 255}',
        }
        if token:
            headers['Authorization'] = f'Bearer {token}'
        req = urllib.request.Request(
            f'http://127.0.0.1:{self.port}{path}',
            data=None if body is None else json.dumps(body).encode(),
            headers=headers,
            method=method,
        )
        with urllib.request.urlopen(req, timeout=10) as resp:
            return json.loads(resp.read())

    def presentation(self) -> str:
        return self.call('POST', '/api/presentations', {'title': 'Bench'})['id']

    def tokens(self, pid: str, count: int) -> list[str]:
        path = f'/api/presentations/{pid}/tokens'
        return [
            self.call('POST', path, {'role': 'attendee', 'name': f'Attendee {i}'})[
                'token'
            ]
            for i in range(count)
        ]

    def ask(self, pid: str, token: str, text: str) -> str:
        path = f'/api/presentations/{pid}/questions'
        return self.call('POST', path, {'text': text}, token)['id']


def summarise(runs: list[dict]) -> dict:
    return {
        'rps_median': median([r['ok_rps'] for r in runs]),
        'rps_runs': [round(r['ok_rps'], 1) for r in runs],
        'cpu_ms_per_request': median(
            [r['cpu_ms_per_request'] for r in runs if r.get('cpu_ms_per_request')]
        ),
        'p50_ms': median([r['latency_ms']['p50'] for r in runs]),
        'p99_ms': median([r['latency_ms']['p99'] for r in runs]),
        'requests': sum(r['requests'] for r in runs),
        'non_2xx': sum(r['errors']['status'] for r in runs),
        'socket_errors': sum(r['error_count'] - r['errors']['status'] for r in runs),
        'changed': sum(r.get('changed', 0) for r in runs),
    }


class Bench:
    def __init__(self, ctx: Context, port: int, server_pid: int, on_step):
        self.ctx = ctx
        self.port = port
        self.server_pid = server_pid
        self.say = on_step
        self.api = Api(port)
        self.store = Store.from_url(ctx.redis_url)
        self.pid = self.api.presentation()
        self.base = f'/api/presentations/{self.pid}'
        self.say(f'audience: {ATTENDEES} attendees join, {QUESTIONS} questions')
        self.tokens = self.api.tokens(self.pid, ATTENDEES)
        self.questions = [
            self.api.ask(self.pid, self.tokens[i], f'Question {i}')
            for i in range(QUESTIONS)
        ]
        self.tokens_file = ctx.work_dir / 'audience-tokens.txt'
        self.tokens_file.write_text('\n'.join(self.tokens) + '\n')
        self.vote_offset = 0

    def questions_version(self) -> int:
        key = audience_versions_key(self.pid)
        return int(self.store.client.hget(key, audience.QUESTIONS) or 0)

    def _wrk(self, script: str, threads: int, conns: int, duration: float, env):
        return wrk.run(
            f'http://127.0.0.1:{self.port}{self.base}',
            script,
            threads=threads,
            connections=conns,
            duration=duration,
            env=env,
            server_pid=self.server_pid,
        )

    def votes(self, threads: int, conns: int, duration: float) -> dict:
        before = self.questions_version()
        result = self._wrk(
            'audience_votes.lua',
            threads,
            conns,
            duration,
            {
                'WRK_TOKENS': str(self.tokens_file),
                'WRK_QUESTIONS': ','.join(self.questions),
                'WRK_BASE': self.base,
                'WRK_START': str(self.vote_offset),
            },
        )
        self.vote_offset += result['requests'] + threads  # past every thread's last
        result['changed'] = self.questions_version() - before
        return result

    def reactions(self, threads: int, conns: int, duration: float) -> dict:
        bodies = [json.dumps({'emoji': e}) for e in audience.REACTIONS]
        return self._wrk(
            'audience_reactions.lua',
            threads,
            conns,
            duration,
            {
                'WRK_TOKENS': str(self.tokens_file),
                'WRK_BODIES': '\n'.join(bodies),
                'WRK_BASE': self.base,
            },
        )

    def questions_run(self, threads: int, conns: int, duration: float, rate: float):
        """Ask on fresh presentations: enough lines for `rate` and then some."""
        needed = int(rate * duration * 1.5) + 1000
        attendees = QUESTIONS_PER_PRESENTATION // QUESTIONS_PER_ATTENDEE
        count = math.ceil(needed / QUESTIONS_PER_PRESENTATION)
        self.say(f'audience: {count} presentations x {attendees} askers')
        presentations = []
        for _ in range(count):
            pid = self.api.presentation()
            presentations.append((pid, self.api.tokens(pid, attendees)))
        lines = question_lines(presentations, QUESTIONS_PER_ATTENDEE)
        path = self.ctx.work_dir / 'audience-questions.txt'
        path.write_text('\n'.join(lines) + '\n')
        result = self._wrk(
            'audience_questions.lua', threads, conns, duration, {'WRK_LINES': str(path)}
        )
        result['lines'] = len(lines)
        return result

    # Push to pages -------------------------------------------------------------

    def background_requests(self) -> list[str]:
        """Votes and reactions of BACKGROUND_ATTENDEES, each about once a second."""
        attendees = self.tokens[-BACKGROUND_ATTENDEES:]
        out = []
        for method in ('PUT', 'DELETE'):
            for (qi, q), (i, token) in itertools.product(
                enumerate(self.questions), enumerate(attendees)
            ):
                auth = {'Authorization': f'Bearer {token}'}
                if (i + qi) % 2:  # each attendee votes, then reacts, in turn
                    emoji = audience.REACTIONS[i % len(audience.REACTIONS)]
                    out.append(self._reaction_request(token, emoji))
                else:
                    path = f'{self.base}/questions/{q}/vote'
                    out.append(loadgen.http_request(method, path, auth, ''))
        return out

    def _reaction_request(self, token: str, emoji: str) -> str:
        return loadgen.http_request(
            'POST',
            f'{self.base}/reactions',
            {'Authorization': f'Bearer {token}', 'Content-Type': 'application/json'},
            json.dumps({'emoji': emoji}),
        )

    def storm_requests(self) -> list[str]:
        return [
            self._reaction_request(
                token, audience.REACTIONS[i % len(audience.REACTIONS)]
            )
            for i, token in enumerate(self.tokens)
        ]


class Clients:
    """A bench.sse_clients child holding `streams` streams of a presentation."""

    def __init__(self, ctx: Context, web_port: int, pid: str, streams: int):
        spec = {
            'host': '127.0.0.1',
            'port': web_port,
            'path': f'/live/presentations/{pid}/events',
            'connections': streams,
            'warm': min(WARM_STREAMS, streams),
            'open_concurrency': 100,
        }
        path = ctx.work_dir / f'audience-clients-{streams}.json'
        path.write_text(json.dumps(spec))
        self.streams = streams
        self.proc = subprocess.Popen(
            [sys.executable, '-m', 'bench.sse_clients', str(path)],
            cwd=procs.ROOT,
            stdin=subprocess.PIPE,
            stdout=subprocess.PIPE,
            text=True,
        )
        self.lines = Lines(self.proc.stdout)

    def send(self, line: str) -> None:
        self.proc.stdin.write(line + '\n')
        self.proc.stdin.flush()

    def open(self) -> tuple[int, int, float]:
        """Open every stream; return (connected, errors, seconds it took)."""
        if self.lines.next(60) != 'warm':
            raise RuntimeError('unexpected answer from the SSE clients')
        began = time.monotonic()
        self.send('open')
        line = self.lines.next(180)
        while line.startswith('all '):  # the first events of the last streams
            line = self.lines.next(180)
        _, connected, errors = line.split()
        return int(connected), int(errors), time.monotonic() - began

    def mark(self) -> None:
        self.send('mark')
        while not self.lines.next(30).startswith('marked'):
            pass  # `all` lines of events still arriving

    def finish(self) -> dict:
        self.send('finish')
        while True:
            line = self.lines.next(60)
            if line.startswith('{'):
                return json.loads(line)

    def close(self) -> None:
        if self.proc.poll() is None:
            self.proc.kill()
        self.proc.wait()


def measure_latency(bench: Bench, clients: Clients, changes: int) -> dict:
    """Probe votes with the background load running; see the module docstring."""
    probe = bench.tokens[0]  # not one of the background attendees
    question = bench.questions[0]
    path = f'{bench.base}/questions/{question}/vote'
    bench.api.call('DELETE', path, token=probe)  # known start: not voted
    duration = changes * 0.8 + 3
    background: dict = {}

    def load() -> None:
        try:
            background['result'] = loadgen.run_fixed_rate(
                '127.0.0.1',
                bench.port,
                bench.background_requests(),
                rate=BACKGROUND_RATE,
                duration=duration,
                warmup=1.0,
                max_connections=64,
                work_dir=bench.ctx.work_dir,
            )
        except Exception as ex:  # reported with the figures, not a crash
            background['error'] = f'{type(ex).__name__}: {ex}'

    thread = threading.Thread(target=load, daemon=True)
    thread.start()
    time.sleep(1.5)  # past the background's warm-up
    probes = []  # (sent at, version at least)
    until_all = []
    written = []  # the vote's own answer time
    for k in range(changes):
        sent = time.monotonic()
        bench.api.call('PUT' if k % 2 == 0 else 'DELETE', path, token=probe)
        written.append((time.monotonic() - sent) * 1000)
        # Read after the answer: the background may have bumped it further,
        # and an event at least this new holds the probe's vote too.
        version = bench.questions_version()
        while True:
            _, kind, got, at = clients.lines.next(15).split()
            if kind == audience.QUESTIONS and int(got) >= version:
                until_all.append((float(at) - sent) * 1000)
                break
        probes.append((sent, version))
        time.sleep(0.2 + random.random() * 0.2)  # off the coalescing beat
    thread.join(timeout=duration + 120)
    result = clients.finish()
    arrivals: dict[int, list[float]] = {}
    for key, times in result['arrivals'].items():
        kind, _, version = key.partition(' ')
        if kind == audience.QUESTIONS:
            arrivals[int(version)] = times
    per_stream = []
    for sent, version in probes:
        delivered = first_at_least(list(arrivals), version)
        if delivered is not None:
            per_stream += [(t - sent) * 1000 for t in arrivals[delivered]]
    bg = background.get('result', {})
    return {
        'until_all_ms': summary(until_all),
        'vote_answered_ms': summary(written),
        'per_stream_ms': summary(per_stream),
        'client_errors': result['errors'],
        'background': {
            'rate': BACKGROUND_RATE,
            'error': background.get('error'),
            'statuses': bg.get('statuses'),
            'latency_ms': bg.get('latency_ms'),
            'achieved_send_rate': bg.get('achieved_send_rate'),
        },
    }


def storm(bench: Bench, clients: Clients, seconds: float) -> dict:
    """Reactions at STORM_RATE; what each page received meanwhile."""
    clients.mark()
    load = loadgen.run_fixed_rate(
        '127.0.0.1',
        bench.port,
        bench.storm_requests(),
        rate=STORM_RATE,
        duration=seconds,
        warmup=0.0,
        max_connections=64,
        work_dir=bench.ctx.work_dir,
    )
    result = clients.finish()
    return {
        **per_page(result['since_mark'], clients.streams),
        'client_errors': result['errors'],
        'reactions_sent': load['sent'],
        'reactions_statuses': load['statuses'],
    }


def run(ctx: Context, on_step=print) -> dict:
    mode = ctx.mode
    creds = ctx.credentials
    with FakeTwilio(creds.account_sid, creds.api_key_sid, creds.api_key_secret) as fake:
        token_proc, port = start_ours(ctx, fake.url, 'token_service_audience')
        try:
            web_proc, web_port = start_web(ctx)
        except BaseException:
            token_proc.stop()
            raise
        try:
            return _run(ctx, mode, port, token_proc.pid, web_port, on_step)
        finally:
            web_proc.stop()
            token_proc.stop()


def _run(ctx, mode, port, server_pid, web_port, on_step) -> dict:
    bench = Bench(ctx, port, server_pid, on_step)
    bench.votes(1, 4, 1)  # warm: imports, first connections
    bench.reactions(1, 4, 1)

    throughput: dict[str, list[dict]] = {'votes': [], 'reactions': []}
    for threads, conns in mode.token_wrk:
        for name, measure in (('votes', bench.votes), ('reactions', bench.reactions)):
            runs = []
            for rep in range(mode.repeats):
                on_step(f'audience: {name} wrk -t{threads} -c{conns} #{rep + 1}')
                runs.append(measure(threads, conns, mode.duration))
            throughput[name].append(
                {'threads': threads, 'connections': conns, **summarise(runs)}
            )
    best = {
        name: max(rows, key=lambda r: r['rps_median'])
        for name, rows in throughput.items()
    }
    threads, conns = mode.token_wrk[-1]
    question_runs = []
    for rep in range(mode.repeats):
        on_step(f'audience: questions wrk -t{threads} -c{conns} #{rep + 1}')
        question_runs.append(
            bench.questions_run(
                threads, conns, mode.duration, best['reactions']['rps_median']
            )
        )
    questions = {
        'threads': threads,
        'connections': conns,
        'lines_per_run': [r['lines'] for r in question_runs],
        **summarise(question_runs),
    }

    n = mode.sse_connections
    on_step(f'audience: {n} streams, {mode.sse_changes} probe votes under load')
    clients = Clients(ctx, web_port, bench.pid, n)
    try:
        connected, open_errors, open_s = clients.open()
        latency = measure_latency(bench, clients, mode.sse_changes)
    finally:
        clients.close()
    storms = {}
    storm_seconds = max(4.0, mode.rate_duration / 2)
    for streams in STORM_STREAMS:
        on_step(f'audience: reaction storm, {STORM_RATE}/s, {streams} streams')
        clients = Clients(ctx, web_port, bench.pid, streams)
        try:
            clients.open()
            storms[streams] = storm(bench, clients, storm_seconds)
        finally:
            clients.close()
    low, high = (storms[s]['bytes_per_s'] for s in STORM_STREAMS)
    return {
        'conditions': {
            'server': 'gunicorn -c deploy/gunicorn/token_service.conf.py (uvicorn, '
            'PODIUM_TOKEN_WORKERS=1, deploy config) + web_service (uvicorn, 1 worker)',
            'writers': f'{ATTENDEES} attendees with their own access tokens; rate '
            'limits per identity as in .env.example (votes 300/min, reactions '
            '10/s, questions 10/min), all paid for',
            'votes': f'PUT/DELETE questions/<id>/vote over {ATTENDEES} x {QUESTIONS} '
            'pairs, each a change (lua/audience_votes.lua)',
            'questions': f'each a new question; {QUESTIONS_PER_ATTENDEE} per attendee, '
            f'{QUESTIONS_PER_PRESENTATION} per presentation (the caps)',
            'latency': f'{n} streams; {BACKGROUND_ATTENDEES} attendees voting and '
            f'reacting in the background ({BACKGROUND_RATE} req/s); a probe vote, '
            'until every stream has a questions event at least as new',
            'storm': f'{STORM_RATE} reactions/s for {storm_seconds:.0f} s, '
            f'{" vs ".join(map(str, STORM_STREAMS))} streams',
        },
        'throughput': throughput,
        'max_rps': {name: row['rps_median'] for name, row in best.items()}
        | {'questions': questions['rps_median']},
        'cpu_ms_per_request': {
            name: row['cpu_ms_per_request'] for name, row in best.items()
        }
        | {'questions': questions['cpu_ms_per_request']},
        'questions': questions,
        'streams': {
            'n': n,
            'connected': connected,
            'errors': open_errors,
            'open_s': open_s,
        },  # fmt: skip
        'latency': latency,
        'storm': {str(k): v for k, v in storms.items()},
        'storm_bytes_ratio': high / low if low else None,
    }
