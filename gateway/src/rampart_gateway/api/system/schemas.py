"""Response bodies of the system operations."""

from __future__ import annotations

from typing import Any, Literal

from pydantic import BaseModel


class HealthStatus(BaseModel):
    status: Literal["healthy", "degraded", "unhealthy"]


class Health(BaseModel):
    status: Literal["healthy", "degraded", "unhealthy"]
    version: str
    timestamp: str
    dependencies: dict[str, dict[str, Any]]
