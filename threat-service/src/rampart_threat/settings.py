"""threat-service settings."""

from pathlib import Path

from pydantic import Field

from rampart.lib.settings import ServiceSettings


class ThreatSettings(ServiceSettings):
    """PORT defaults to 50053. The analysis settings are optional (docs/threat-analysis.md)."""

    port: int = Field(default=50053, ge=0, le=65535)
    # Incidents: the SLA table and the rules (data files; defaults ship with the service, and
    # the shipped rules enable nothing); email notification when SMTP_URL and
    # INCIDENT_EMAIL_TO (comma-separated) are set. SMTP_URL: smtp://[user:pass@]host:port
    # (add ?starttls=1 for STARTTLS) or smtps://host:port.
    incident_sla_file: Path | None = None
    incident_rules_file: Path | None = None
    smtp_url: str = ""
    smtp_from: str = "rampart@localhost"
    incident_email_to: str = ""
    # label:domain,domain;label:domain: brands whose look-alikes the analysis flags
    threat_analysis_brands: str = ""
    threat_analysis_rules_dir: str = ""  # extra YARA rules (*.yar) the operator adds
    threat_maxmind_asn_db: str = ""  # a MaxMind-format ASN database file
    threat_maxmind_city_db: str = ""  # a MaxMind-format City or Country database file
    threat_sandbox_seconds: float = Field(default=20.0, gt=0, le=300)
    threat_sandbox_memory_mb: int = Field(default=1024, ge=256, le=16384)
    # Vulnerability feeds: the admin RPC imports only from under FEEDS_DIR (unset: refused);
    # a source whose snapshot is older than FEED_STALE_DAYS shows as stale.
    feeds_dir: Path | None = None
    feed_stale_days: float = Field(default=8.0, gt=0)
    # Load the shipped starter set at start when the knowledge base is empty.
    feeds_load_starter: bool = True
