"""report-service settings."""

from pydantic import Field

from rampart.lib.settings import ServiceSettings


class ReportSettings(ServiceSettings):
    """PORT defaults to 50055."""

    port: int = Field(default=50055, ge=0, le=65535)
    # Exports read the scan and its findings on behalf of the caller (mutual TLS as the gateway).
    scan_addr: str = "127.0.0.1:50052"
    threat_addr: str = "127.0.0.1:50053"
