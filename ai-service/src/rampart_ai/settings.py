"""ai-service settings."""

from pathlib import Path

from pydantic import Field

from rampart.lib.settings import ServiceSettings


class AiSettings(ServiceSettings):
    """PORT defaults to 50054; SCAN_ADDR and THREAT_ADDR are the services the assistant reads from."""

    port: int = Field(default=50054, ge=0, le=65535)
    scan_addr: str = "127.0.0.1:50052"
    threat_addr: str = "127.0.0.1:50053"
    # The optional LLM provider (OpenAI-compatible chat completions); empty URL = offline only.
    ai_provider_url: str = ""  # e.g. http://127.0.0.1:8080/v1 (llama.cpp), https://api.openai.com/v1
    ai_provider_model: str = ""
    ai_provider_key_file: Path | None = None  # a file holding the API key (mount a Secret)
    ai_provider_timeout_seconds: float = Field(default=20.0, gt=0, le=120)
    # The callers' questions and answers are kept this long, then swept (every sweep seconds).
    ai_history_retention_days: int = Field(default=90, ge=1, le=3650)
    ai_history_sweep_seconds: float = Field(default=3600.0, gt=0)
