"""What attendees see, as one picture: the layout the recording and the broadcast share.

It is a Twilio Composition `VideoLayout` (regions on a 1280x720 canvas, sources by
track name): the shared screen fills the canvas and the presenter's camera sits in a
small region above it, bottom right. The token service sends it to Twilio or
local_video for the recording; local_video's live broadcast draws the same regions.
"""

from __future__ import annotations

RESOLUTION = '1280x720'
LAYOUT = {
    'screen': {'z_pos': 1, 'video_sources': ['screen']},
    'camera': {
        'z_pos': 2,
        'x_pos': 1000,
        'y_pos': 520,
        'width': 240,
        'height': 180,
        'video_sources': ['camera'],
    },
}
# Without a shared screen the camera is the picture (the attendee page does the same).
CAMERA_ONLY_LAYOUT = {'camera': {'z_pos': 1, 'video_sources': ['camera']}}
AUDIO_SOURCES = ['microphone', 'screen-audio']
