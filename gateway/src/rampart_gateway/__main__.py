"""Gateway entry point: uvicorn with uvloop and httptools."""

import uvicorn

from rampart.lib.logging import configure_logging
from rampart.lib.settings import load_settings
from rampart.lib.tls import tls_files
from rampart_gateway.app import create_app
from rampart_gateway.settings import GatewaySettings
from rampart_gateway.wsprotocol import WebSocketProtocol


def main() -> None:
    settings = load_settings(GatewaySettings)
    configure_logging("gateway", settings.log_level)
    uvicorn.run(
        create_app(settings, tls_files(settings)),
        host=settings.host,
        port=settings.port,
        loop="uvloop",
        http="httptools",
        ws=WebSocketProtocol,
        log_config=None,
        access_log=False,
        timeout_graceful_shutdown=5,
        # Only TRUSTED_PROXIES decides whether X-Forwarded-For is believed (proxies.py);
        # uvicorn's own handling would believe it from 127.0.0.1 (FORWARDED_ALLOW_IPS).
        proxy_headers=False,
        forwarded_allow_ips="",
    )


if __name__ == "__main__":
    main()
