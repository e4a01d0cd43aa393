"""Typed, environment-driven settings shared by every Rampart process."""

from __future__ import annotations

import sys
from pathlib import Path
from typing import Literal, TypeVar

from pydantic import Field, ValidationError
from pydantic_settings import BaseSettings, SettingsConfigDict

Environment = Literal["development", "test", "production"]


class ServiceSettings(BaseSettings):
    """Settings every gRPC service reads; MONGODB_URL and NATS_URL have no default."""

    model_config = SettingsConfigDict(env_prefix="", case_sensitive=False, extra="ignore")

    rampart_env: Environment = "development"
    host: str = "127.0.0.1"
    port: int = Field(ge=0, le=65535)
    metrics_port: int = Field(default=0, ge=0, le=65535)
    mongodb_url: str
    nats_url: str
    log_level: str = "info"
    shutdown_grace_seconds: float = Field(default=5.0, gt=0)
    # The database this service owns; every service keeps its own.
    mongodb_database: str = ""
    # Mutual TLS for gRPC and NATS (rampart.lib.tls): TLS_DIR or the three files.
    tls_dir: Path | None = None
    tls_ca_file: Path | None = None
    tls_cert_file: Path | None = None
    tls_key_file: Path | None = None
    tls_insecure: bool = False  # plaintext; refused with RAMPART_ENV=production
    # A plaintext gRPC port serving only grpc.health.v1 (for kubelet probes); 0 = none.
    health_port: int = Field(default=0, ge=0, le=65535)


S = TypeVar("S", bound=BaseSettings)


class SettingsError(SystemExit):
    """Raised when the environment cannot produce valid settings; names each variable."""


def describe_errors(error: ValidationError) -> str:
    lines = []
    for item in error.errors():
        name = str(item["loc"][0]).upper() if item["loc"] else "?"
        if item["type"] == "missing":
            lines.append(f"missing required environment variable {name}")
        else:
            lines.append(f"invalid environment variable {name}: {item['msg']}")
    return "; ".join(lines)


def load_settings(cls: type[S]) -> S:
    """Build settings from the environment or exit with a message naming what is wrong."""
    try:
        return cls()
    except ValidationError as error:
        message = f"{cls.__name__}: {describe_errors(error)}"
        print(message, file=sys.stderr)
        raise SettingsError(2) from error
