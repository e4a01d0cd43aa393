"""ai-service settings."""

from pydantic import Field

from rampart.lib.settings import ServiceSettings


class AiSettings(ServiceSettings):
    """PORT defaults to 50054."""

    port: int = Field(default=50054, ge=0, le=65535)
