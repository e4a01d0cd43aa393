"""Gateway settings, read from the environment."""

from __future__ import annotations

from pathlib import Path

from pydantic import Field, SecretStr, field_validator
from pydantic_settings import BaseSettings, SettingsConfigDict

from rampart.lib.settings import Environment
from rampart_gateway.proxies import Network, parse_networks


class GatewaySettings(BaseSettings):
    """Where the gateway listens and where it finds each service, the broker and the store."""

    model_config = SettingsConfigDict(env_prefix="", case_sensitive=False, extra="ignore")

    rampart_env: Environment = "development"
    host: str = "127.0.0.1"
    port: int = Field(default=8000, ge=0, le=65535)
    auth_addr: str = "127.0.0.1:50051"
    scan_addr: str = "127.0.0.1:50052"
    threat_addr: str = "127.0.0.1:50053"
    ai_addr: str = "127.0.0.1:50054"
    report_addr: str = "127.0.0.1:50055"
    mongodb_url: str
    nats_url: str
    log_level: str = "info"
    # Mutual TLS to the services and NATS (rampart.lib.tls): TLS_DIR or the three files.
    tls_dir: Path | None = None
    tls_ca_file: Path | None = None
    tls_cert_file: Path | None = None
    tls_key_file: Path | None = None
    tls_insecure: bool = False  # plaintext; refused with RAMPART_ENV=production
    health_timeout_seconds: float = Field(default=1.0, gt=0)
    # How long a verified API key is trusted without asking auth-service (at most 30 s;
    # revocations also arrive as events and evict at once).
    api_key_cache_seconds: float = Field(default=30.0, ge=0, le=30)
    jwt_leeway_seconds: int = Field(default=5, ge=0, le=60)
    # limits storage: async+memory:// for one gateway, async+redis://host:6379 when replicated.
    rate_limit_storage_uri: str = "async+memory://"
    anonymous_rate_limit: str = "120/minute"
    register_rate_limit: str = "10/hour"
    token_rate_limit: str = "20/minute"  # noqa: S105 - a rate, not a secret
    cors_origins: str = ""  # comma-separated origins allowed to call the API from browsers
    # Comma-separated CIDRs of proxies whose X-Forwarded-For is believed; empty trusts nobody.
    trusted_proxies: str = ""
    # A stream that carried no event for this long is closed (STREAM_IDLE_TIMEOUT).
    stream_idle_timeout: float = Field(default=300.0, gt=0)
    # After a scan's final event a stream waits for threat-service's findings_settled (the scan's
    # last findings): it ends when no finding came for stream_findings_grace seconds (0: end at the
    # final event), or stream_findings_max_wait seconds after the final event whatever still comes.
    stream_findings_grace: float = Field(default=10.0, ge=0, le=300)
    stream_findings_max_wait: float = Field(default=600.0, ge=0, le=3600)
    health_cache_seconds: float = Field(default=1.0, ge=0, le=30)
    # Bearer token for GET /api/v1/health/details (the per-dependency report); empty: disabled.
    health_token: SecretStr = SecretStr("")
    # Bearer token for the operators' admin routes (GET /api/v1/admin/feeds); empty: disabled.
    admin_token: SecretStr = SecretStr("")

    @field_validator("trusted_proxies")
    @classmethod
    def _valid_proxies(cls, value: str) -> str:
        parse_networks(value)
        return value

    def trusted_proxy_networks(self) -> tuple[Network, ...]:
        return parse_networks(self.trusted_proxies)

    def cors_origin_list(self) -> list[str]:
        return [origin.strip() for origin in self.cors_origins.split(",") if origin.strip()]

    def service_addresses(self) -> dict[str, str]:
        return {
            "auth": self.auth_addr,
            "scan": self.scan_addr,
            "threat": self.threat_addr,
            "ai": self.ai_addr,
            "report": self.report_addr,
        }
