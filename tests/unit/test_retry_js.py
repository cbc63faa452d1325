"""The pages' retry after a refusal (web_service/static/js/retry.js), run by node.

retry.js and podium-api.js touch no DOM, so node runs them as the browser does,
with `fetch` answered by the script: a 429 with Retry-After, then success.
"""

from __future__ import annotations

import json
import shutil
import subprocess
from pathlib import Path

import pytest

JS_DIR = Path(__file__).resolve().parents[2] / 'web_service' / 'static' / 'js'

SCRIPT = """
import { retryAfterSeconds, retryDelayMs, withRetries, MAX_RETRY_AFTER_S }
  from '%(js)s/retry.js';
import { request } from '%(js)s/podium-api.js';

const out = {};
const now = Date.parse('Wed, 02 Dec 2026 17:00:00 GMT');
out.parsed = [
  retryAfterSeconds('3'), retryAfterSeconds(' 0 '), retryAfterSeconds(null),
  retryAfterSeconds('soon'), retryAfterSeconds('-1'),
  retryAfterSeconds('Wed, 02 Dec 2026 17:00:07 GMT', now),
  retryAfterSeconds('Wed, 02 Dec 2026 16:59:00 GMT', now),
];
const crowd = Array.from({ length: 2000 }, () => retryDelayMs(1, 2, Math.random));
out.crowd = { min: Math.min(...crowd), max: Math.max(...crowd),
  distinct: new Set(crowd).size };
out.edges = [retryDelayMs(3, 2, () => 0), retryDelayMs(1, 0, () => 0.5),
  retryDelayMs(1, null, () => 0), retryDelayMs(2, null, () => 0.5)];

/** Answers the requests in turn; records them. */
function answering(...responses) {
  const calls = [];
  globalThis.fetch = async (url, init) => {
    calls.push(init.method + ' ' + url);
    return responses.shift()();
  };
  return calls;
}
const refused = (headers) => () => new Response(
  JSON.stringify({ title: 'Too many requests', description: 'Try again in 3 s.' }),
  { status: 429, headers: { 'Content-Type': 'application/json', ...headers } });
const ok = () => new Response('{"rules":[]}', { status: 200 });
const isRetryable = (e) => e.status === 429 || e.status >= 500;

let slept = [];
let calls = answering(refused({ 'Retry-After': '3' }), ok);
const result = await withRetries(() => request('POST', '/api/x/subscribe-rules'), {
  attempts: 4, isRetryable, sleep: async (ms) => { slept.push(ms); },
  random: () => 0.25 });
out.honoured = { result, calls, slept };

slept = [];
calls = answering(refused({ 'Retry-After': String(MAX_RETRY_AFTER_S + 1) }), ok);
try {
  await withRetries(() => request('POST', '/api/x/subscribe-rules'), {
    attempts: 4, isRetryable, sleep: async (ms) => { slept.push(ms); } });
  out.tooLong = 'resolved';
} catch (error) {
  out.tooLong = { status: error.status, retryAfter: error.retryAfter,
    userMessage: error.userMessage, calls, slept };
}

slept = [];
calls = answering(refused({}), refused({}), refused({}));
try {
  await withRetries(() => request('POST', '/api/x/subscribe-rules'), {
    attempts: 3, isRetryable, sleep: async (ms) => { slept.push(ms); },
    random: () => 0.5 });
} catch (error) {
  out.withoutHeader = { retryAfter: error.retryAfter, calls: calls.length, slept };
}
console.log(JSON.stringify(out));
"""


@pytest.fixture(scope='module')
def outcome() -> dict:
    node = shutil.which('node')
    if node is None:
        pytest.fail('node is not installed: bin/podium install installs it (npm)')
    done = subprocess.run(
        # The modules are ES modules in a package without "type": "module".
        [node, '--experimental-default-type=module', '--input-type=module', '-'],
        input=SCRIPT % {'js': JS_DIR.as_posix()},
        capture_output=True,
        text=True,
        timeout=30,
    )
    assert done.returncode == 0, done.stderr
    return json.loads(done.stdout)


def test_retry_after_reads_seconds_and_http_dates(outcome):
    assert outcome['parsed'] == [3, 0, None, None, None, 7, 0]


def test_a_crowd_waits_at_least_retry_after_and_spreads_over_a_window(outcome):
    crowd = outcome['crowd']
    assert crowd['min'] >= 2000  # never before the server's window ends
    assert crowd['max'] < 4000
    # Spread over the window, not in step: 2,000 pages, well over 1,000 moments.
    assert crowd['min'] < 2100 and crowd['max'] > 3900
    assert crowd['distinct'] > 1000


def test_edges_and_the_backoff_without_retry_after(outcome):
    # Retry-After wins over the attempt count; 0 s still spreads over 1 s;
    # without it, 500 ms per attempt, jittered 0.5x-1.5x.
    assert outcome['edges'] == [2000, 500, 250, 1000]


def test_a_429_is_retried_after_what_retry_after_says(outcome):
    honoured = outcome['honoured']
    assert honoured['result'] == {'rules': []}
    assert honoured['calls'] == ['POST /api/x/subscribe-rules'] * 2
    assert honoured['slept'] == [3750]  # 3 s + a quarter of the 3 s spread


def test_a_retry_after_too_long_to_wait_for_fails_at_once(outcome):
    too_long = outcome['tooLong']
    assert too_long['status'] == 429
    assert too_long['retryAfter'] == 31
    assert too_long['userMessage'] == 'Try again in 3 s.'
    assert too_long['slept'] == []
    assert len(too_long['calls']) == 1


def test_without_retry_after_the_backoff_grows_and_gives_up(outcome):
    assert outcome['withoutHeader'] == {
        'retryAfter': None,
        'calls': 3,
        'slept': [500, 1000],
    }
