"""A/V sync bench: how far apart sound and picture are in a composed recording.

A Chromium presenter (Debian's chromium, headless, through local_video and Janus)
publishes a canvas as the screen and a WebAudio tone as the microphone. Every
FLASH_EVERY seconds one JavaScript task paints the canvas white and starts a beep,
so picture and sound change together at the source (the canvas shows up in the
next captured frame: the source itself has 0-1 frame, 0-33 ms, of video lag).
The room records, a Composition makes the MP4 exactly as for a talk (1280x720
picture-in-picture, H.264 + AAC), and the MP4's flashes (frame brightness) are
paired with its beeps (sound onsets): offset = beep time - flash time, so a
positive offset means the sound comes late.

    .venv/bin/python -m bench.av_sync [--seconds 30]
"""

from __future__ import annotations

import argparse
import array
import contextlib
import functools
import json
import shutil
import statistics
import subprocess
import tempfile
import threading
import time
from http.server import SimpleHTTPRequestHandler, ThreadingHTTPServer
from pathlib import Path
from urllib.parse import parse_qsl

import httpx
import uvicorn
from twilio.jwt.access_token import AccessToken
from twilio.jwt.access_token.grants import VideoGrant
from twilio.rest import Client

from local_video.app import build_service
from local_video.config import from_env

ROOT = Path(__file__).resolve().parents[1]
JS_DIR = ROOT / 'web_service' / 'static' / 'js'
CHROMIUM = '/usr/bin/chromium'
FLASH_EVERY = 1.7  # seconds; not a multiple of the frame or audio period
FLASH_MS = 200
LAYOUT = {
    'screen': {'z_pos': 1, 'video_sources': ['screen']},
    'camera': {'z_pos': 2, 'x_pos': 1000, 'y_pos': 520, 'width': 240,
               'height': 180, 'video_sources': ['camera']},
}  # fmt: skip
ENV = {
    'TWILIO_ACCOUNT_SID': 'AC' + '0' * 32,
    'TWILIO_API_KEY_SID': 'SK' + '0' * 32,
    'TWILIO_API_KEY_SECRET': 'bench-secret-bench-secret-bench!',
    'TWILIO_AUTH_TOKEN': 'bench-auth-token-bench-auth-token',
    'PODIUM_PUBLIC_URL': 'http://127.0.0.1:8080',
    'PODIUM_SECRET_KEY': 'bench-secret-key-bench-secret-key-0123',
}

PAGE = """<!doctype html><meta charset="utf-8"><title>A/V sync bench</title>
<script type="module">
import { connect } from '/js/local-video.js';
window.lv = { connect };
window.lvReady = true;
</script>"""

# Screen: a grey canvas that turns white for FLASH_MS; microphone: silence with a
# 1 kHz beep of FLASH_MS, started in the same task as the white paint.
PUBLISH = """async ([token, signalUrl, every, flashMs, muteAt, muteFor]) => {
  const room = await window.lv.connect(token,
    { signalUrl, audio: false, video: false });
  window.room = room;
  const canvas = document.createElement('canvas');
  canvas.width = 1280; canvas.height = 720;
  const ctx = canvas.getContext('2d');
  let white = false;
  const paint = () => {
    ctx.fillStyle = white ? 'rgb(250,250,250)' : 'rgb(40,40,40)';
    ctx.fillRect(0, 0, 1280, 720);
  };
  paint();
  setInterval(paint, 10);  // captureStream takes a frame when the canvas changes
  const audio = new AudioContext({ sampleRate: 48000 });
  await audio.resume();
  const out = audio.createMediaStreamDestination();
  // A quiet hum under the beeps: a track of pure silence may send nothing.
  const hum = audio.createOscillator();
  const humLevel = audio.createGain();
  hum.frequency.value = 200;
  humLevel.gain.value = 0.01;
  hum.connect(humLevel).connect(out);
  hum.start();
  const camera = await navigator.mediaDevices.getUserMedia({ video: true });
  const lp = room.localParticipant;
  const [, microphone] = await Promise.all([
    lp.publishTrack(canvas.captureStream(30).getVideoTracks()[0], { name: 'screen' }),
    lp.publishTrack(out.stream.getAudioTracks()[0], { name: 'microphone' }),
    lp.publishTrack(camera.getVideoTracks()[0], { name: 'camera' }),
  ]);
  if (muteFor > 0) {
    // As the presenter's Mute button does: the sender stops sending packets.
    setTimeout(() => microphone.track.disable(), muteAt * 1000);
    setTimeout(() => microphone.track.enable(), (muteAt + muteFor) * 1000);
  }
  window.flashes = [];
  window.flasher = setInterval(() => {
    const beep = audio.createOscillator();
    beep.frequency.value = 1000;
    beep.connect(out);
    beep.start();
    beep.stop(audio.currentTime + flashMs / 1000);
    white = true;
    paint();
    window.flashes.push(performance.now());
    setTimeout(() => { white = false; paint(); }, flashMs);
  }, every * 1000);
  return audio.state;
}"""


class Quiet(SimpleHTTPRequestHandler):
    def log_message(self, *args):
        pass


@contextlib.contextmanager
def static_site(folder: Path):
    (folder / 'index.html').write_text(PAGE)
    (folder / 'js').symlink_to(JS_DIR)
    server = ThreadingHTTPServer(
        ('127.0.0.1', 0), functools.partial(Quiet, directory=str(folder))
    )
    threading.Thread(target=server.serve_forever, daemon=True).start()
    try:
        yield f'http://127.0.0.1:{server.server_address[1]}/index.html'
    finally:
        server.shutdown()


class Sink:
    """Receives the composition's callbacks (a StatusCallback on loopback)."""

    def __init__(self):
        self.events: list[dict] = []
        sink = self

        class Handler(SimpleHTTPRequestHandler):
            def do_POST(self):  # noqa: N802
                body = self.rfile.read(int(self.headers.get('Content-Length') or 0))
                sink.events.append(dict(parse_qsl(body.decode())))
                self.send_response(204)
                self.end_headers()

            def log_message(self, *args):
                pass

        self.server = ThreadingHTTPServer(('127.0.0.1', 0), Handler)
        self.url = f'http://127.0.0.1:{self.server.server_address[1]}/callbacks'
        threading.Thread(target=self.server.serve_forever, daemon=True).start()

    def wait(self, event: str, timeout: float) -> dict:
        deadline = time.monotonic() + timeout
        while time.monotonic() < deadline:
            for params in self.events:
                if params.get('StatusCallbackEvent') == event:
                    return params
            time.sleep(0.1)
        raise TimeoutError(f'no {event} within {timeout} s: {self.events[-3:]}')


@contextlib.contextmanager
def serve(app, port: int):
    server = uvicorn.Server(
        uvicorn.Config(app, host='127.0.0.1', port=port, log_level='warning',
                       ws='websockets-sansio')
    )  # fmt: skip
    thread = threading.Thread(target=server.run, daemon=True)
    thread.start()
    while not server.started:
        if not thread.is_alive():
            raise RuntimeError('local_video did not start')
        time.sleep(0.05)
    try:
        yield f'http://127.0.0.1:{port}'
    finally:
        server.should_exit = True
        thread.join(timeout=20)


def free_port() -> int:
    with contextlib.closing(__import__('socket').socket()) as s:
        s.bind(('127.0.0.1', 0))
        return s.getsockname()[1]


def record(seconds: float, work: Path, mute: tuple[float, float] = (0, 0)) -> Path:
    """Record a flash-and-beep talk, compose it; return the MP4."""
    from playwright.sync_api import sync_playwright

    config = from_env(
        {**ENV, 'PODIUM_LOCAL_VIDEO_PORT': str(free_port()),
         'PODIUM_RECORDINGS_DIR': str(work / 'recordings')}
    )  # fmt: skip
    service = build_service(config)
    sink = Sink()
    site_dir = work / 'site'
    site_dir.mkdir()
    with serve(service.app, config.port) as url, static_site(site_dir) as site:
        client = Client(config.api_key_sid, config.api_key_secret, config.account_sid)
        client.video.base_url = url
        room = client.video.v1.rooms.create(
            unique_name='podium-av-sync', record_participants_on_connect=True
        )
        token = AccessToken(
            config.account_sid, config.api_key_sid, config.api_key_secret,
            identity='presenter', ttl=600,
        )  # fmt: skip
        token.add_grant(VideoGrant(room='podium-av-sync'))
        with sync_playwright() as playwright:
            browser = playwright.chromium.launch(
                executable_path=CHROMIUM,
                args=['--use-fake-device-for-media-stream',
                      '--use-fake-ui-for-media-stream', '--no-sandbox',
                      '--autoplay-policy=no-user-gesture-required',
                      '--disable-background-timer-throttling'],
            )  # fmt: skip
            page = browser.new_page()
            page.goto(site)
            page.wait_for_function('window.lvReady === true')
            signal = url.replace('http://', 'ws://') + '/video/signal'
            state = page.evaluate(
                PUBLISH, [token.to_jwt(), signal, FLASH_EVERY, FLASH_MS, *mute]
            )
            print(f'audio context {state}')
            page.wait_for_timeout(seconds * 1000)
            flashes = page.evaluate('window.flashes.length')
            browser.close()
        client.video.v1.rooms(room.sid).update(status='completed')
        deadline = time.monotonic() + 60
        while True:
            recordings = client.video.v1.rooms(room.sid).recordings.list()
            if len(recordings) == 3 and all(
                r.status == 'completed' for r in recordings
            ):
                break
            if time.monotonic() > deadline:
                raise TimeoutError('the recordings did not complete')
            time.sleep(0.5)
        composition = client.video.v1.compositions.create(
            room_sid=room.sid, video_layout=LAYOUT, audio_sources=['microphone'],
            resolution='1280x720', format='mp4', status_callback=sink.url,
        )  # fmt: skip
        sink.wait('composition-available', timeout=300)
        auth = (config.api_key_sid, config.api_key_secret)
        answer = httpx.get(f'{url}/v1/Compositions/{composition.sid}/Media', auth=auth)
        output = work / 'av-sync.mp4'
        output.write_bytes(httpx.get(answer.headers['location'], timeout=60).content)
    sink.server.shutdown()
    print(f'{flashes} flashes in the page, MP4 {output.stat().st_size} bytes')
    return output


def _probe(path: Path, *args: str) -> dict:
    out = subprocess.run(
        ['ffprobe', '-v', 'error', *args, '-of', 'json', str(path)],
        check=True, capture_output=True, text=True,
    ).stdout  # fmt: skip
    return json.loads(out)


def flash_times(path: Path) -> list[float]:
    """Times of the frames where the screen region turns bright."""
    frames = _probe(path, '-select_streams', 'v:0', '-show_entries', 'frame=pts_time')[
        'frames'
    ]
    times = [float(f['pts_time']) for f in frames]
    # The screen's top left (away from the camera's PiP), averaged to one pixel.
    luma = subprocess.run(
        ['ffmpeg', '-v', 'error', '-i', str(path), '-map', '0:v:0',
         '-vf', 'crop=640:360:0:0,scale=1:1,format=gray', '-fps_mode', 'passthrough',
         '-f', 'rawvideo', '-'],
        check=True, capture_output=True,
    ).stdout  # fmt: skip
    assert len(luma) == len(times), (len(luma), len(times))
    rising, bright = [], False
    for t, value in zip(times, luma, strict=True):
        if value > 150 and not bright:
            rising.append(t)
        bright = value > 150
    return rising


def beep_times(path: Path, rate: int = 48_000, window: float = 0.002) -> list[float]:
    """Times where the sound turns on (2 ms windows, onset of each beep)."""
    streams = _probe(
        path, '-select_streams', 'a:0', '-show_entries', 'stream=start_time'
    )
    start = float(streams['streams'][0].get('start_time') or 0.0)
    raw = subprocess.run(
        ['ffmpeg', '-v', 'error', '-i', str(path), '-map', '0:a:0', '-ac', '1',
         '-ar', str(rate), '-f', 's16le', '-'],
        check=True, capture_output=True,
    ).stdout  # fmt: skip
    samples = array.array('h', raw)
    size = int(rate * window)
    onsets, loud, quiet_for = [], False, 0
    for index in range(0, len(samples) - size, size):
        chunk = samples[index : index + size]
        level = max(abs(min(chunk)), abs(max(chunk)))
        if level > 3000 and not loud and quiet_for * window >= 0.3:
            onsets.append(start + index / rate)
        loud = level > 3000
        quiet_for = 0 if loud else quiet_for + 1
    return onsets


def offsets(flashes: list[float], beeps: list[float]) -> list[float]:
    """Pair each flash with the nearest beep (within half a period)."""
    paired = []
    for flash in flashes:
        nearest = min(beeps, key=lambda b: abs(b - flash), default=None)
        if nearest is not None and abs(nearest - flash) < FLASH_EVERY / 2:
            paired.append(nearest - flash)
    return paired


def main(argv: list[str] | None = None) -> None:
    parser = argparse.ArgumentParser(description=__doc__.split('\n')[0])
    parser.add_argument('--seconds', type=float, default=30.0)
    parser.add_argument('--keep', type=Path, help='copy the MP4 here')
    parser.add_argument('--work', type=Path, help='keep recordings in this folder')
    parser.add_argument(
        '--mute',
        type=float,
        nargs=2,
        default=(0, 0),
        metavar=('AT', 'FOR'),
        help='mute the microphone AT seconds in, FOR seconds (as the Mute button)',
    )
    args = parser.parse_args(argv)
    for tool in ('janus', 'ffmpeg', 'janus-pp-rec'):
        if shutil.which(tool) is None:
            raise SystemExit(f'{tool} is not installed')
    with tempfile.TemporaryDirectory(prefix='av-sync-') as folder:
        work = args.work or Path(folder)
        work.mkdir(parents=True, exist_ok=True)
        video = record(args.seconds, work, tuple(args.mute))
        if args.keep:
            shutil.copy(video, args.keep)
        flashes, beeps = flash_times(video), beep_times(video)
    found = offsets(flashes, beeps)
    if not found:
        raise SystemExit(f'no flash/beep pairs: flashes {flashes}, beeps {beeps}')
    ms = [round(o * 1000, 1) for o in found]
    print('flashes at', [round(f, 2) for f in flashes])
    print(json.dumps({
        'flashes': len(flashes), 'beeps': len(beeps), 'pairs': len(found),
        'offset_ms': ms,
        'median_ms': round(statistics.median(found) * 1000, 1),
        'mean_ms': round(statistics.fmean(found) * 1000, 1),
        'max_abs_ms': round(max(abs(o) for o in found) * 1000, 1),
        'spread_ms': round((max(found) - min(found)) * 1000, 1),
    }, indent=2))  # fmt: skip


if __name__ == '__main__':
    main()
