"""report-service settings."""

from pydantic import Field

from rampart.lib.settings import ServiceSettings


class ReportSettings(ServiceSettings):
    """PORT defaults to 50055."""

    port: int = Field(default=50055, ge=0, le=65535)
