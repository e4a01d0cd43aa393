"""threat-service settings."""

from pathlib import Path

from pydantic import Field

from rampart.lib.settings import ServiceSettings


class ThreatSettings(ServiceSettings):
    """PORT defaults to 50053."""

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
