"""Run all of Podium on one machine: `python -m podium.stack up`.

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

from podium.stack.processes import Child, TerminalOutput
from podium.stack.settings import (
    EXIT_CONFIG,
    EXIT_FAILED,
    OWN_PREFIXES,
    ROOT,
    TWILIO_VARS,
    Ports,
    StackError,
    gather_settings,
    resolve_backend,
)
from podium.stack.supervisor import Stack

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
