"""scan-service settings."""

from pydantic import Field

from rampart.lib.settings import ServiceSettings


class ScanSettings(ServiceSettings):
    """PORT defaults to 50052."""

    port: int = Field(default=50052, ge=0, le=65535)
