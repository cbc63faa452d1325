"""The options Podium's pages pass to the video library, run by node.

video-client.js and link-report.js touch no DOM, so node runs them as the browser
does, with a stand-in twilio-video / local library that records what connect() got.
"""

from __future__ import annotations

import json
import shutil
import subprocess
from pathlib import Path

import pytest

JS_DIR = Path(__file__).resolve().parents[2] / 'web_service' / 'static' / 'js'

SCRIPT = """
import { connectVideo } from '%(js)s/video-client.js';
import { connectionQuality, qualityFromNetworkLevel, qualityLabel }
  from '%(js)s/link-report.js';
import { CAMERA_RIDS, SCREEN_RIDS, sendEncodings } from '%(js)s/send-layers.js';

const seen = [];
const library = {
  connect: async (token, options) => { seen.push(options); return {}; },
};
globalThis.Twilio = { Video: library };
globalThis.PodiumLocalVideo = library;
const response = (backend) => ({ backend, token: 't', room: 'podium-x',
  signal_url: 'wss://podium.test/video/signal', ice_servers: [] });
await connectVideo(response('twilio'), { tracks: [], automaticSubscription: false });
await connectVideo(response('local'), { automaticSubscription: false });

const stats = (lost, received, frames) => ({ type: 'linkStats', streams: [
  { mid: '0', kind: 'video', packetsLost: lost, packetsReceived: received,
    framesPerSecond: frames, frameHeight: 720, freezeCount: 0 }],
  availableIncomingBitrate: null });
const before = stats(0, 100, 20);
const quality = [
  connectionQuality(null, before),
  connectionQuality(before, stats(1, 300, 20)),
  connectionQuality(before, stats(10, 300, 20)),
  connectionQuality(before, stats(60, 300, 20)),
  connectionQuality(before, stats(0, 100, 0)),
];
const levels = [5, 4, 3, 2, 1, 0, null].map(qualityFromNetworkLevel);
const labels = [qualityLabel('fair', 'auto'), qualityLabel('poor', 'high')];
const encodings = {
  camera: sendEncodings('camera', 'video'), screen: sendEncodings('screen', 'video'),
  audio: sendEncodings('microphone', 'audio') ?? null,
  rids: { camera: CAMERA_RIDS, screen: SCREEN_RIDS },
};
console.log(JSON.stringify({ seen, quality, levels, labels, encodings }));
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
        check=False,
    )
    assert done.returncode == 0, done.stderr
    return json.loads(done.stdout)


def test_twilio_gets_vp8_simulcast_and_the_presentation_bandwidth_profile(outcome):
    twilio = outcome['seen'][0]
    assert twilio['preferredVideoCodecs'] == [{'codec': 'VP8', 'simulcast': True}]
    video = twilio['bandwidthProfile']['video']
    assert video['mode'] == 'presentation'
    assert video['trackSwitchOffMode'] == 'predicted'
    assert twilio['networkQuality'] == {'local': 1, 'remote': 0}
    # The caller's own options still win, and the room name is the token's.
    assert twilio['tracks'] == [] and twilio['automaticSubscription'] is False
    assert twilio['name'] == 'podium-x'


def test_the_local_backend_gets_none_of_twilios_options(outcome):
    local = outcome['seen'][1]
    assert 'bandwidthProfile' not in local and 'preferredVideoCodecs' not in local
    assert local['signalUrl'] == 'wss://podium.test/video/signal'


def test_connection_quality_from_two_reports(outcome):
    # unknown first; 0.5 % lost good; 4.8 % fair; 23 % poor; video stalled poor.
    assert outcome['quality'] == ['unknown', 'good', 'fair', 'poor', 'poor']


def test_twilio_network_levels_and_labels(outcome):
    assert outcome['levels'] == [
        'good',
        'good',
        'fair',
        'fair',
        'poor',
        'poor',
        'unknown',
    ]
    assert outcome['labels'] == [
        'Connection fair: lighter picture',
        'Connection poor: try Auto or Data saver',
    ]


def test_simulcast_encodings_go_lowest_first(outcome):
    """Chromium's simulcast allocator goes by the encodings' order: given highest
    first, the camera's 1/4-size layer sent ~700 kbit/s (bench/RESULTS.md). Janus is
    told `rid_order: lmh` for the same order."""
    layers = outcome['encodings']
    for name in ('camera', 'screen'):
        encodings = layers[name]
        assert [e['rid'] for e in encodings] == layers['rids'][name]
        caps = [e['maxBitrate'] for e in encodings]
        assert caps == sorted(caps) and len(set(caps)) == len(caps)
        scales = [e['scaleResolutionDownBy'] for e in encodings]
        assert scales == sorted(scales, reverse=True)
    assert [e['rid'] for e in layers['camera']] == ['q', 'h', 'f']
    assert layers['audio'] is None
