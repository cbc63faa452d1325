"""Files from the shared reference folder, beside the project, never copied into it.

A test that needs one fails, naming the file and where to get it: a skip would
count a contract nobody checked as passed.
"""

from __future__ import annotations

from pathlib import Path

import pytest

REFERENCE = Path('/work/shared/reference')
TWILIO_VIDEO_OPENAPI = 'twilio-video-v1.openapi.json'
WHERE_FROM = {
    TWILIO_VIDEO_OPENAPI: "Twilio's OpenAPI description of Video v1, "
    'spec/json/twilio_video_v1.json in github.com/twilio/twilio-oai (Apache-2.0)',
}


def reference_file(name: str, folder: Path = REFERENCE) -> Path:
    """Return the path of a reference file; fail the test if it is missing."""
    path = folder / name
    if not path.is_file():
        pytest.fail(
            f'{path} is missing: these tests check against '
            f'{WHERE_FROM.get(name, name)}. Put it at {path} (read-only, not in '
            'the repository) and run them again.',
            pytrace=False,
        )
    return path
