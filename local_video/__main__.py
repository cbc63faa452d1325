"""`python -m local_video`: run the local video service on 127.0.0.1."""

from __future__ import annotations

import logging

import uvicorn

from podium.config import MetricsConfig

from .app import create_app
from .config import from_env


def main() -> None:
    logging.basicConfig(
        level=logging.INFO, format='%(asctime)s %(levelname)s %(name)s: %(message)s'
    )
    # httpx logs every request URL at INFO, and Janus long polls carry the API
    # secret in their query string: keep those lines out of the logs.
    logging.getLogger('httpx').setLevel(logging.WARNING)
    config = from_env()
    app = create_app(config, metrics_config=MetricsConfig.from_env('local_video'))
    uvicorn.run(
        app,
        host=config.host,
        port=config.port,
        lifespan='on',
        ws='websockets-sansio',
        proxy_headers=False,
        log_level='info',
        ws_max_size=1024 * 1024,
    )


if __name__ == '__main__':
    main()
