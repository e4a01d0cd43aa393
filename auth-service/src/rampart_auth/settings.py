"""auth-service settings."""

from pydantic import Field

from rampart.lib.settings import ServiceSettings


class AuthSettings(ServiceSettings):
    """PORT defaults to 50051."""

    port: int = Field(default=50051, ge=0, le=65535)
