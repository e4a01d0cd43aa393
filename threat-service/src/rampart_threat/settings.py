"""threat-service settings."""

from pydantic import Field

from rampart.lib.settings import ServiceSettings


class ThreatSettings(ServiceSettings):
    """PORT defaults to 50053."""

    port: int = Field(default=50053, ge=0, le=65535)
