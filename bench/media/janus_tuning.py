"""Start Janus with extra `general` settings: for trying Janus tuning in the benchmark.

local_video writes janus.jcfg itself; the benchmark points PODIUM_JANUS_BINARY at a
script that runs this module, which adds `key = value` lines to the `general`
section of the file named by --config= and then exec()s the real janus (same pid,
so the benchmark still finds and measures it as local_video's child).

    python -m bench.media.janus_tuning '{"event_loops": 2}' --configs-folder=... ...
"""

from __future__ import annotations

import json
import os
import shutil
import sys
from pathlib import Path


def tune(config: Path, options: dict) -> None:
    text = config.read_text()
    lines = ''.join(
        f'    {key} = {json.dumps(value)}\n' for key, value in options.items()
    )
    if 'general: {\n' not in text:
        raise SystemExit(f'{config}: no general section to tune')
    config.write_text(text.replace('general: {\n', 'general: {\n' + lines, 1))


def wrapper_script(folder: Path, options: dict) -> Path:
    """Write an executable that local_video can start as its Janus binary."""
    script = folder / 'janus-tuned'
    script.write_text(
        '#!/bin/sh\n'
        f'exec {sys.executable} -m bench.media.janus_tuning '
        f'\'{json.dumps(options)}\' "$@"\n'
    )
    script.chmod(0o700)
    return script


def main() -> None:
    options = json.loads(sys.argv[1])
    args = sys.argv[2:]
    for arg in args:
        if arg.startswith('--config='):
            tune(Path(arg.split('=', 1)[1]), options)
    janus = shutil.which('janus') or '/usr/bin/janus'
    os.execv(janus, [janus, *args])  # noqa: S606 (argv as local_video passed it)


if __name__ == '__main__':
    main()
