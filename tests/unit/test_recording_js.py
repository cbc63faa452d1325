"""The recording protocol module (web_service/static/js/recording-api.js), run by node.

It touches no DOM: node runs it as the browser does, with `fetch` answered here.
"""

from __future__ import annotations

import json
import shutil
import subprocess
from pathlib import Path

import pytest

JS_DIR = Path(__file__).resolve().parents[2] / 'web_service' / 'static' / 'js'

SCRIPT = """
import { afterLabel, clockDuration, fileSize, isBeingRecorded, liveLabel, pollDelay,
  recordingApi } from '%(js)s/recording-api.js';

const out = {};
const calls = [];
globalThis.fetch = async (url, init) => {
  calls.push({ url, method: init.method, auth: init.headers.Authorization,
    body: init.body || null });
  if (init.method === 'DELETE') {
    return new Response(JSON.stringify({ title: 'The recording is still being made',
      description: 'Delete it once it is ready (or has failed).' }), { status: 409 });
  }
  return new Response('{"status":"off","requested":true}', { status: 200 });
};
const api = recordingApi('a b', 'KEY');
out.set = await api.set(true);
await api.fetch();
await api.retry();
try { await api.remove(); } catch (error) {
  out.refused = { status: error.status, userMessage: error.userMessage };
}
out.calls = calls;
const view = (requested, status) => ({ requested, status, percent: 0 });
out.live = [
  liveLabel(view(false, 'off'), true), liveLabel(view(true, 'off'), false),
  liveLabel(view(true, 'off'), true), liveLabel(view(true, 'recording'), true),
  liveLabel(view(false, 'recording'), true),
];
out.banner = [isBeingRecorded(undefined), isBeingRecorded(view(true, 'off')),
  isBeingRecorded(view(false, 'recording'))];
out.sizes = [fileSize(1), fileSize(369_000), fileSize(12_345_678), fileSize(1.4e9)];
out.clocks = [clockDuration(7), clockDuration(725), clockDuration(3723)];
const state = (status, extra = {}) => ({ status, requested: false, recorded: true,
  percent: 0, duration: 0, size: 0, error: '', download_url: null,
  download_expires_at: null, ...extra });
out.after = [
  afterLabel(state('processing')), afterLabel(state('processing', { percent: 40 })),
  afterLabel(state('available', { duration: 20, size: 4_200_000 })),
  afterLabel(state('failed', { error: 'ffmpeg was stopped.' })),
  afterLabel(state('deleted')), afterLabel(state('off')),
];
out.polls = ['processing', 'recording', 'available', 'failed'].map(
  (s) => pollDelay(state(s)));
out.linkPolls = [
  pollDelay(state('available', { download_expires_at: 1000 }), 400_000),
  pollDelay(state('available', { download_expires_at: 1000 }), 990_000),
];
console.log(JSON.stringify(out));
"""


@pytest.fixture(scope='module')
def outcome() -> dict:
    node = shutil.which('node')
    if node is None:
        pytest.fail('node is not installed: bin/podium install installs it (npm)')
    done = subprocess.run(
        [node, '--experimental-default-type=module', '--input-type=module', '-'],
        input=SCRIPT % {'js': JS_DIR.as_posix()},
        capture_output=True,
        text=True,
        timeout=30,
    )
    assert done.returncode == 0, done.stderr
    return json.loads(done.stdout)


def test_calls_carry_the_presenter_key_in_a_header(outcome):
    base = '/api/presentations/a%20b/recording'
    assert [(c['method'], c['url']) for c in outcome['calls']] == [
        ('PUT', base),
        ('GET', base),
        ('POST', f'{base}/composition'),
        ('DELETE', base),
    ]
    assert {c['auth'] for c in outcome['calls']} == {'Presenter KEY'}
    assert json.loads(outcome['calls'][0]['body']) == {'recording': True}
    assert outcome['set'] == {'status': 'off', 'requested': True}


def test_a_refusal_reads_as_its_description(outcome):
    assert outcome['refused'] == {
        'status': 409,
        'userMessage': 'Delete it once it is ready (or has failed).',
    }


def test_the_switch_says_what_the_stream_says(outcome):
    assert outcome['live'] == [
        'Not recording.',
        'The talk will be recorded from the moment you go live.',
        'Starting the recording…',
        'Recording. Attendees see that this talk is recorded.',
        'Stopping the recording…',
    ]
    assert outcome['banner'] == [False, False, True]


def test_sizes_durations_and_the_file_after_the_talk(outcome):
    assert outcome['sizes'] == ['1 KB', '369 KB', '12.3 MB', '1.40 GB']
    assert outcome['clocks'] == ['0:07', '12:05', '1:02:03']
    assert outcome['after'] == [
        'Making the recording…',
        'Making the recording… 40 %',
        'Recording ready: 0:20, 4.2 MB.',
        'The recording failed: ffmpeg was stopped.',
        'The recording was deleted.',
        'This talk was not recorded.',
    ]
    assert outcome['polls'] == [2000, 2000, None, None]
    # A new signed link a minute before the old one expires (at least 5 s apart).
    assert outcome['linkPolls'] == [540_000, 5000]
