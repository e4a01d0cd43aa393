"""Request and response bodies of the schedule operations; the OpenAPI schemas come from these."""

from __future__ import annotations

from typing import Literal

from pydantic import BaseModel, Field, model_validator

from rampart_gateway.api.scans.schemas import ScanOptionsBody
from rampart_gateway.inputs import Body

CRON = "five fields (minute hour day-of-month month day-of-week), read in time_zone"


class ScheduleCreateRequest(Body):
    """Exactly one of ``cron`` and ``interval_seconds``."""

    name: str = Field(default="", max_length=200)
    targets: list[str] = Field(min_length=1, max_length=256, examples=[["127.0.0.1"]])
    scan_type: Literal["tcp", "udp"] = "tcp"
    ports: str | None = Field(default=None, max_length=4096, examples=["top-100", "22,80,443"])
    profile: Literal["standard", "compliance", "pentest"] | None = None
    options: ScanOptionsBody = Field(default_factory=ScanOptionsBody)
    cron: str | None = Field(default=None, max_length=128, description=CRON, examples=["0 3 * * 1-5"])
    interval_seconds: int | None = Field(default=None, ge=60, le=366 * 86_400, description="every N seconds")
    time_zone: str = Field(default="UTC", max_length=64, description="IANA name", examples=["Europe/Paris"])
    enabled: bool = True

    @model_validator(mode="after")
    def one_timing(self) -> ScheduleCreateRequest:
        if (self.cron is None) == (self.interval_seconds is None):
            raise ValueError("give either cron or interval_seconds")
        return self


class ScheduleUpdateRequest(Body):
    """The fields to change; giving ``cron`` drops ``interval_seconds`` and the other way round."""

    name: str | None = Field(default=None, max_length=200)
    targets: list[str] | None = Field(default=None, min_length=1, max_length=256)
    scan_type: Literal["tcp", "udp"] | None = None
    ports: str | None = Field(default=None, max_length=4096)
    profile: Literal["standard", "compliance", "pentest"] | None = None
    options: ScanOptionsBody | None = None
    cron: str | None = Field(default=None, max_length=128, description=CRON)
    interval_seconds: int | None = Field(default=None, ge=60, le=366 * 86_400)
    time_zone: str | None = Field(default=None, max_length=64)
    enabled: bool | None = None


class ScheduleView(BaseModel):
    schedule_id: str
    name: str
    targets: list[str]
    scan_type: str
    ports: str
    profile: str
    options: dict[str, bool]
    cron: str | None
    interval_seconds: int | None
    time_zone: str
    enabled: bool
    next_run_at: str | None
    last_run_at: str | None
    last_scan_id: str | None
    runs: int
    skipped_runs: int
    missed_runs: int
    last_error: str | None
    sandbox: bool
    created_at: str | None
    updated_at: str | None


class ScheduleList(BaseModel):
    items: list[ScheduleView]
    total: int
    page: int
    per_page: int
    pages: int
