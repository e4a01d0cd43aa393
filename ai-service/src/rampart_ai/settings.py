"""ai-service settings."""

from pydantic import Field

from rampart.lib.settings import ServiceSettings


class AiSettings(ServiceSettings):
    """PORT defaults to 50054; SCAN_ADDR and THREAT_ADDR are the services the assistant reads from."""

    port: int = Field(default=50054, ge=0, le=65535)
    scan_addr: str = "127.0.0.1:50052"
    threat_addr: str = "127.0.0.1:50053"
