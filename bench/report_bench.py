"""Attendance report and metrics overhead: `python -m bench.report_bench`.

1. podium.attendance.attendance_report over N attendees, each connecting three
   times (reloads), shuffled records: CPU time per report.
2. podium.metrics.RequestMetrics: CPU per request added to a minimal Falcon
   WSGI app (a route that answers 204), measured in-process without a server.
"""

from __future__ import annotations

import random
import statistics
import time
from wsgiref.util import setup_testing_defaults

import falcon

from podium import attendance
from podium.metrics import RequestMetrics


def records(attendees: int) -> list[dict]:
    rng = random.Random(7)
    rows = [
        {
            'sid': 'PA0',
            'identity': 'presenter',
            'connected_at': 0,
            'disconnected_at': None,
            'duration': None,
            'room_sid': 'RM',
        }
    ]
    for i in range(attendees):
        at = rng.randrange(0, 600_000)
        for j in range(3):
            length = rng.randrange(1000, 1_800_000)
            rows.append(
                {
                    'sid': f'PA{i}-{j}',
                    'identity': f'attendee-{i:x}',
                    'connected_at': at,
                    'disconnected_at': at + length,
                    'duration': length // 1000,
                    'room_sid': 'RM',
                }
            )
            at += length + rng.randrange(0, 5000)
    rng.shuffle(rows)
    return rows


def time_report(attendees: int, runs: int = 5) -> float:
    rows = records(attendees)
    times = []
    for _ in range(runs):
        start = time.process_time()
        attendance.attendance_report(rows, ended_at=4_000_000, now_ms=4_000_000)
        times.append(time.process_time() - start)
    return statistics.median(times)


class NoContent:
    def on_get(self, req, resp, item):
        resp.status = falcon.HTTP_204


def per_request(with_metrics: bool, requests: int = 20000) -> float:
    app = falcon.App(middleware=[RequestMetrics('bench')] if with_metrics else [])
    app.add_route('/items/{item}', NoContent())
    environ = {'PATH_INFO': '/items/42', 'REQUEST_METHOD': 'GET'}
    setup_testing_defaults(environ)

    def start_response(status, headers):
        pass

    start = time.process_time()
    for _ in range(requests):
        for _chunk in app(dict(environ), start_response):
            pass
    return (time.process_time() - start) / requests


def main() -> None:
    for n in (100, 1000, 5000):
        print(
            f'report, {n} attendees x 3 connections: {1000 * time_report(n):.1f} ms CPU'
        )
    base = statistics.median(per_request(False) for _ in range(3))
    metered = statistics.median(per_request(True) for _ in range(3))
    print(f'falcon request without metrics: {1e6 * base:.1f} us CPU')
    print(
        f'falcon request with RequestMetrics: {1e6 * metered:.1f} us CPU '
        f'(+{1e6 * (metered - base):.1f} us)'
    )


if __name__ == '__main__':
    main()
