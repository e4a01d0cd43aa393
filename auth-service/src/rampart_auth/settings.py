"""auth-service settings; its secrets come from the environment or mounted files."""

from __future__ import annotations

from pathlib import Path

from pydantic import Field, SecretStr, model_validator

from rampart.lib.settings import ServiceSettings

PLACEHOLDERS = {"", "changeme", "change-me", "secret", "placeholder", "dev", "development", "test"}
MIN_PEPPER_LENGTH = 32


class AuthSettings(ServiceSettings):
    """PORT defaults to 50051. JWT_KEYS_DIR and API_KEY_PEPPER have no default."""

    port: int = Field(default=50051, ge=0, le=65535)
    # A directory of Ed25519 private keys in PEM, one file per key id (<kid>.pem). The
    # active one signs; every one present verifies (JWKS). Deleting a file retires it.
    jwt_keys_dir: Path
    jwt_active_kid: str = ""
    jwt_issuer: str = "rampart"
    jwt_audience: str = "rampart-api"
    jwt_ttl_seconds: int = Field(default=3600, ge=60, le=86400)
    # The key of the HMAC that API keys are stored under.
    api_key_pepper: SecretStr
    initial_key_ttl_days: int = Field(default=365, ge=1)
    stream_ticket_ttl_seconds: int = Field(default=60, ge=5, le=600)
    plans_file: Path | None = None
    # The password hashing pool (see docs/security/keys.md). 0 = derive from the memory limit.
    password_hash_concurrency: int = Field(default=0, ge=0, le=64)
    password_hash_queue: int = Field(default=32, ge=0, le=10_000)
    password_hash_retry_after_seconds: int = Field(default=1, ge=1, le=60)

    @model_validator(mode="after")
    def refuse_placeholder_secrets(self) -> AuthSettings:
        pepper = self.api_key_pepper.get_secret_value()
        weak = pepper.lower() in PLACEHOLDERS or len(pepper) < MIN_PEPPER_LENGTH
        if weak and self.rampart_env != "development":
            raise ValueError(
                f"API_KEY_PEPPER is a placeholder or shorter than {MIN_PEPPER_LENGTH} characters;"
                " refused outside development"
            )
        if not self.jwt_keys_dir.is_dir():
            raise ValueError(f"JWT_KEYS_DIR {self.jwt_keys_dir} is not a directory")
        return self
