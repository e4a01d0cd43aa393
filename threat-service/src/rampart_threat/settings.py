"""threat-service settings."""

from pydantic import Field

from rampart.lib.settings import ServiceSettings


class ThreatSettings(ServiceSettings):
    """PORT defaults to 50053. The analysis settings are optional (docs/threat-analysis.md)."""

    port: int = Field(default=50053, ge=0, le=65535)
    # label:domain,domain;label:domain: brands whose look-alikes the analysis flags
    threat_analysis_brands: str = ""
    threat_analysis_rules_dir: str = ""  # extra YARA rules (*.yar) the operator adds
    threat_maxmind_asn_db: str = ""  # a MaxMind-format ASN database file
    threat_maxmind_city_db: str = ""  # a MaxMind-format City or Country database file
    threat_sandbox_seconds: float = Field(default=20.0, gt=0, le=300)
    threat_sandbox_memory_mb: int = Field(default=1024, ge=256, le=16384)
