"""A missing reference file fails the tests that need it, saying what to do."""

from __future__ import annotations

import pytest

from .reference import TWILIO_VIDEO_OPENAPI, reference_file


def test_a_missing_reference_file_fails_with_its_name(tmp_path):
    with pytest.raises(pytest.fail.Exception) as caught:
        reference_file(TWILIO_VIDEO_OPENAPI, folder=tmp_path)
    message = str(caught.value)
    assert message.startswith(f'{tmp_path / TWILIO_VIDEO_OPENAPI} is missing: ')
    assert 'twilio/twilio-oai' in message


def test_the_shared_reference_file_is_there():
    assert reference_file(TWILIO_VIDEO_OPENAPI).stat().st_size > 100_000
