"""report-service settings."""

from pathlib import Path

from pydantic import Field

from rampart.lib.settings import ServiceSettings


class ReportSettings(ServiceSettings):
    """PORT defaults to 50055."""

    port: int = Field(default=50055, ge=0, le=65535)
    # compliance posture reads threat-service's vulnerability records and scan-service's scans
    threat_addr: str = "127.0.0.1:50053"
    scan_addr: str = "127.0.0.1:50052"
    # threat-service's finding rule files, which the compliance mapping is checked against;
    # unset: found in this repository (the container image sets it)
    compliance_rules_dir: Path | None = None
