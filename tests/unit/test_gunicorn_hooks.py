"""The hooks every gunicorn config shares (podium/gunicorn_hooks.py)."""

from __future__ import annotations

import logging

import pytest

from podium.gunicorn_hooks import DropQueryString, env_int


def _access_line(path: str) -> logging.LogRecord:
    return logging.LogRecord(
        'uvicorn.access',
        logging.INFO,
        __file__,
        1,
        '%s - "%s %s HTTP/%s" %d',
        ('127.0.0.1:5000', 'GET', path, '1.1', 200),
        None,
    )


def test_access_lines_keep_the_path_and_drop_the_query_string():
    record = _access_line('/api/presentations/abc/recording/media?signature=s3cret')
    assert DropQueryString().filter(record)
    assert (
        record.getMessage()
        == '127.0.0.1:5000 - "GET /api/presentations/abc/recording/media HTTP/1.1" 200'
    )
    assert 's3cret' not in record.getMessage()


def test_other_log_lines_pass_unchanged():
    record = logging.LogRecord(
        'uvicorn.access', logging.INFO, __file__, 1, 'ready', None, None
    )
    assert DropQueryString().filter(record)
    assert record.getMessage() == 'ready'


@pytest.mark.parametrize(('raw', 'expected'), [(None, 7), ('', 7), (' 3 ', 3)])
def test_env_int_reads_the_setting_or_the_default(monkeypatch, raw, expected):
    if raw is None:
        monkeypatch.delenv('PODIUM_TEST_WORKERS', raising=False)
    else:
        monkeypatch.setenv('PODIUM_TEST_WORKERS', raw)
    assert env_int('PODIUM_TEST_WORKERS', 7) == expected
