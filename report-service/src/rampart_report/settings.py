"""report-service settings; the webhook secret key comes from the environment or a mounted file."""

from __future__ import annotations

import ipaddress
from pathlib import Path
from typing import Literal

from pydantic import Field, SecretStr, model_validator

from rampart.lib.settings import ServiceSettings
from rampart_report.webhooks.secretbox import SecretKeyError, parse_key
from rampart_report.webhooks.urlguard import Network

# Used only in development when no key is given, so `make run` works; refused elsewhere.
DEVELOPMENT_KEY = "cmFtcGFydC1kZXZlbG9wbWVudC13ZWJob29rLWtleSE="


def _networks(text: str) -> tuple[Network, ...]:
    return tuple(ipaddress.ip_network(part.strip(), strict=False) for part in text.split(",") if part.strip())


class ReportSettings(ServiceSettings):
    """PORT defaults to 50055. WEBHOOK_SECRET_KEY (or _FILE) is required outside development."""

    port: int = Field(default=50055, ge=0, le=65535)
    # Exports and compliance posture read scans and findings on behalf of the caller (mutual TLS).
    scan_addr: str = "127.0.0.1:50052"
    threat_addr: str = "127.0.0.1:50053"
    # 32 bytes (64 hex digits or base64) sealing webhook signing secrets at rest.
    webhook_secret_key: SecretStr = SecretStr("")
    webhook_secret_key_file: Path | None = None
    # Networks webhooks may reach although not public (comma-separated CIDRs; off by default).
    # Tests and development: 127.0.0.0/8,::1/128. Also admits http and any port on them.
    webhook_allow_networks: str = ""
    # Networks webhooks never reach, whatever else says (e.g. the platform's public addresses).
    webhook_deny_networks: str = ""
    # How names are resolved: "system" (getaddrinfo), or "hosts" (the hosts file only: tests).
    webhook_resolver: Literal["system", "hosts"] = "system"
    webhook_allow_ports: str = "443"  # comma-separated ports besides those on allowed networks
    webhook_connect_timeout_seconds: float = Field(default=5.0, gt=0, le=60)
    webhook_timeout_seconds: float = Field(default=10.0, gt=0, le=120)
    webhook_response_cap_bytes: int = Field(default=2048, ge=0, le=65536)
    webhook_max_attempts: int = Field(default=30, ge=1, le=100)
    webhook_retry_base_seconds: float = Field(default=30.0, gt=0)
    webhook_retry_cap_seconds: float = Field(default=4 * 3600.0, gt=0)
    webhook_retry_window_seconds: float = Field(default=24 * 3600.0, gt=0, le=7 * 24 * 3600)
    # an endpoint whose every attempt failed this long (and at least this many times) is switched off
    webhook_disable_after_seconds: float = Field(default=24 * 3600.0, gt=0)
    webhook_disable_min_failures: int = Field(default=10, ge=1)
    webhook_concurrency: int = Field(default=16, ge=1, le=1024)
    webhook_per_endpoint_concurrency: int = Field(default=2, ge=1, le=64)
    webhook_poll_seconds: float = Field(default=1.0, gt=0, le=60)
    webhook_rotation_grace_seconds: float = Field(default=24 * 3600.0, ge=0, le=7 * 24 * 3600)

    @model_validator(mode="after")
    def readable(self) -> ReportSettings:
        self.secret_key()
        self.allow_networks()
        self.deny_networks()
        self.allow_ports()
        self.report_retention()
        return self

    def secret_key(self) -> bytes:
        text = self.webhook_secret_key.get_secret_value()
        if self.webhook_secret_key_file is not None:
            text = self.webhook_secret_key_file.read_text()
        if not text.strip() or text.strip() == DEVELOPMENT_KEY:
            if self.rampart_env != "development":
                raise ValueError("WEBHOOK_SECRET_KEY (or WEBHOOK_SECRET_KEY_FILE) is required")
            text = DEVELOPMENT_KEY
        try:
            return parse_key(text)
        except SecretKeyError as error:
            raise ValueError(f"WEBHOOK_SECRET_KEY: {error}") from error

    def allow_networks(self) -> tuple[Network, ...]:
        return _networks(self.webhook_allow_networks)

    def deny_networks(self) -> tuple[Network, ...]:
        return _networks(self.webhook_deny_networks)

    def allow_ports(self) -> frozenset[int]:
        return frozenset(int(p) for p in self.webhook_allow_ports.split(",") if p.strip())

    # threat-service's finding rule files, which the compliance mapping is checked against;
    # unset: found in this repository (the container image sets it)
    compliance_rules_dir: Path | None = None
    # after a scan's findings settle, its organisation's posture is recomputed this much later
    # (scans settling meanwhile share the computation): compliance.changed without a read
    compliance_refresh_seconds: float = Field(default=30.0, ge=0, le=3600)
    # reports (docs/reports.md): retention per plan in days ("plan=days,..."; others: the default)
    report_retention_days: str = "free=7,pro=30,enterprise=90"
    report_retention_default_days: float = Field(default=7.0, gt=0)
    report_concurrency: int = Field(default=2, ge=1, le=64)  # report jobs at once per process
    report_job_ack_wait_seconds: float = Field(default=60.0, gt=0)
    report_lease_seconds: float = Field(default=90.0, gt=0)
    report_sweep_seconds: float = Field(default=300.0, gt=0)
    ai_addr: str = "127.0.0.1:50054"  # the executive narrative (ai-service GenerateReport)
    report_narrative_timeout_seconds: float = Field(default=10.0, gt=0, le=120)

    def report_retention(self) -> dict[str, float]:
        pairs = (part.split("=", 1) for part in self.report_retention_days.split(",") if part.strip())
        return {plan.strip(): float(days) for plan, days in pairs}
