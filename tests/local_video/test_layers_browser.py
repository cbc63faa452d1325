"""Simulcast on the local backend: the presenter sends layers, each attendee its own.

Real Janus and Chromium (fixtures of test_media_browser). The presenter's camera goes
out as three rids and the screen as two; an attendee who picks Data saver is switched
by local_video (subscriber `configure`) to the smallest camera layer and keeps decoding,
while an attendee on Auto with a clean link stays on the top layer.
"""

from __future__ import annotations

import pytest

from .helpers import make_token
from .test_media_browser import (  # noqa: F401  (fixtures)
    JOIN,
    open_page,
    wait_until,
)
from .test_media_browser import browser as browser  # noqa: F401  (fixture)
from .test_media_browser import janus_service as janus_service  # noqa: F401
from .test_media_browser import static_site as static_site  # noqa: F401

# The presenter page opens the camera at 720p (media-devices.js); Chromium sends all
# three simulcast layers only from 960x540 up.
PUBLISH = """async () => {
  const md = navigator.mediaDevices;
  const cam = await md.getUserMedia({ video: { width: 1280, height: 720 } });
  const screen = await md.getDisplayMedia({ video: true });
  const lp = window.room.localParticipant;
  await Promise.all([
    lp.publishTrack(cam.getVideoTracks()[0], { name: 'camera' }),
    lp.publishTrack(screen.getVideoTracks()[0], { name: 'screen' }),
  ]);
}"""

pytestmark = [pytest.mark.browser, pytest.mark.slow]

# What the presenter's encoders send, by track name: rid -> frameHeight.
OUTBOUND = """async () => {
  const pc = window.room.localParticipant._pc;
  const names = {};
  for (const p of window.room.localParticipant._publications) {
    names[p._transceiver.mid] = p.trackName;
  }
  const out = {};
  (await pc.getStats()).forEach((s) => {
    if (s.type === 'outbound-rtp' && s.kind === 'video' && s.framesEncoded > 0) {
      const name = names[s.mid];
      out[name] = out[name] || {};
      out[name][s.rid || '-'] = s.frameHeight || 0;
    }
  });
  return out;
}"""

# The attendee's received video, by track name: frameHeight and frames decoded.
INBOUND = """async () => {
  const pc = window.room._subPc;
  if (!pc) return {};
  const out = {};
  (await pc.getStats()).forEach((s) => {
    if (s.type === 'inbound-rtp' && s.kind === 'video') {
      const stream = window.room._subStreams.get(String(s.mid));
      const layer = window.room.receivedLayers.get(String(s.mid)) || {};
      if (stream) out[stream.name] = { height: s.frameHeight || 0,
                                       frames: s.framesDecoded || 0,
                                       substream: layer.substream };
    }
  });
  return out;
}"""


def inbound_when(page, condition: str):
    return wait_until(
        page,
        f"""async () => {{
          const v = await ({INBOUND})();
          return ({condition}) ? v : null;
        }}""",
        timeout=30,
    )


def test_presenter_sends_layers_and_data_saver_gets_the_smallest(
    browser, static_site, janus_service, lv_config, sink
):
    service, url, client = janus_service
    signal = url.replace('http://', 'ws://') + '/video/signal'
    room = client.video.v1.rooms.create(
        unique_name='podium-layers', status_callback=sink.url
    )
    quiet = {'audio': False, 'video': False}
    presenter = open_page(browser, static_site)
    presenter.evaluate(
        JOIN, [make_token(lv_config, 'presenter', 'podium-layers'), signal, quiet]
    )
    presenter.evaluate(PUBLISH)

    sent = wait_until(
        presenter,
        f"""async () => {{
          const o = await ({OUTBOUND})();
          return o.camera && Object.keys(o.camera).length === 3 &&
                 o.screen && Object.keys(o.screen).length === 2 ? o : null;
        }}""",
        timeout=30,
    )
    assert sorted(sent['camera']) == ['f', 'h', 'q']
    assert sorted(sent['screen']) == ['f', 'l']
    # The screen's layers both keep the capture's size; the camera's differ.
    assert sent['screen']['l'] == sent['screen']['f']
    assert sent['camera']['q'] < sent['camera']['h'] < sent['camera']['f']

    viewers = []
    for name in ('attendee-auto', 'attendee-saver'):
        page = open_page(browser, static_site)
        page.evaluate(
            JOIN, [make_token(lv_config, name, 'podium-layers'), signal, quiet]
        )
        client.video.v1.rooms(room.sid).participants(name).subscribe_rules.update(
            rules=[{'type': 'include', 'publisher': 'presenter'}]
        )
        viewers.append(page)
    auto, saver = viewers
    for page in viewers:
        inbound_when(
            page, 'v.camera && v.camera.frames > 0 && v.screen && v.screen.frames > 0'
        )

    saver.evaluate("window.room.setQuality('data-saver')")
    # Janus reports relaying the lowest substream, and the picture is the 1/4 layer.
    small = inbound_when(
        saver,
        'v.camera && v.camera.substream === 0 && v.camera.height > 0 && '
        'v.camera.height <= 200 && v.screen.substream === 0',
    )
    # Still decoding after the switch: frames keep coming.
    inbound_when(saver, f'v.camera.frames > {small["camera"]["frames"] + 10}')

    top = max(sent['camera'].values())
    inbound_when(
        auto, f'v.camera && v.camera.substream === 2 && v.camera.height >= {top}'
    )

    for page in (presenter, *viewers):
        page.evaluate('window.room.disconnect()')
        page.context.close()
