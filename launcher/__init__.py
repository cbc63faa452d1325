"""Run all of Podium on one machine: `python -m launcher up`.

The supervisor behind `bin/podium up` and the integration tests' fixture (the same
code, so the tests exercise what developers run): a private redis-server, the
three services under gunicorn with `deploy/gunicorn/`, the local video backend
when no Twilio account is configured, and nginx with
`deploy/nginx/podium.conf.template` rendered into the run directory.

- `settings`   ports, backend choice, .env; every check that can stop a start
- `nginx`      rendering the nginx template and the private nginx.conf
- `processes`  one supervised child: process group, health check, log forwarding
- `supervisor` `Stack`: the children in order, start, watch, stop
- `__main__`   the command line (`up`, `render-nginx`, `nginx`, `local-credentials`)
"""

from launcher.processes import Child, TerminalOutput
from launcher.settings import (
    EXIT_CONFIG,
    EXIT_FAILED,
    OWN_PREFIXES,
    ROOT,
    TWILIO_VARS,
    Ports,
    StackError,
    resolve_backend,
)
from launcher.supervisor import Stack
from podium.config import gather_settings

__all__ = [
    'EXIT_CONFIG',
    'EXIT_FAILED',
    'OWN_PREFIXES',
    'ROOT',
    'TWILIO_VARS',
    'Child',
    'Ports',
    'Stack',
    'StackError',
    'TerminalOutput',
    'gather_settings',
    'resolve_backend',
]
