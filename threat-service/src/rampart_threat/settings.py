"""threat-service settings."""

from pathlib import Path

from pydantic import Field

from rampart.lib.settings import ServiceSettings


class ThreatSettings(ServiceSettings):
    """PORT defaults to 50053."""

    port: int = Field(default=50053, ge=0, le=65535)
    # Vulnerability feeds: the admin RPC imports only from under FEEDS_DIR (unset: refused);
    # a source whose snapshot is older than FEED_STALE_DAYS shows as stale.
    feeds_dir: Path | None = None
    feed_stale_days: float = Field(default=8.0, gt=0)
    # Load the shipped starter set at start when the knowledge base is empty.
    feeds_load_starter: bool = True
