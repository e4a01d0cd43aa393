"""Request and response bodies of the public API; the OpenAPI schemas come from these."""

from __future__ import annotations

from datetime import datetime
from typing import Any, Literal

from pydantic import BaseModel, ConfigDict, Field, model_validator


class Body(BaseModel):
    model_config = ConfigDict(extra="forbid", str_strip_whitespace=False)


class RegisterRequest(Body):
    email: str = Field(max_length=254, examples=["user@example.com"])
    password: str = Field(min_length=1, max_length=256, examples=["correct-horse-battery-9"])
    organization_name: str = Field(default="", max_length=200)


class CreateApiKeyRequest(Body):
    name: str = Field(default="", max_length=100)
    mode: Literal["live", "test"] = "live"
    scopes: list[str] = Field(default_factory=lambda: ["*"], max_length=16)
    expires_at: datetime | None = None


class StreamTicketRequest(Body):
    scope: str = Field(
        default="",
        pattern=r"^(scan_[a-z0-9]{1,64})?$",
        description="a scan id: the ticket then opens only that scan's streams",
    )


class ApiKey(BaseModel):
    key_id: str
    name: str
    mode: Literal["live", "test"]
    prefix: str
    scopes: list[str]
    created_at: str | None
    last_used_at: str | None
    expires_at: str | None
    revoked_at: str | None


class CreatedApiKey(ApiKey):
    api_key: str = Field(description="the full key; shown only in this response")


class ApiKeyList(BaseModel):
    items: list[ApiKey]
    total: int


class RegisterResponse(BaseModel):
    user_id: str
    org_id: str
    key_id: str
    api_key: str
    expires_at: str | None


class TokenResponse(BaseModel):
    access_token: str
    token_type: Literal["bearer"]
    expires_in: int


class StreamTicket(BaseModel):
    ticket: str
    expires_in: int


class PlanLimits(BaseModel):
    name: str
    requests_per_hour: int = Field(description="0 means unlimited (enterprise only)")
    scans_per_day: int = Field(description="0 means unlimited")
    concurrent_scans: int = Field(description="0 means unlimited")
    concurrent_streams: int = Field(description="open SSE + WebSocket streams; 0: unlimited (enterprise)")


class Counter(BaseModel):
    used: int
    limit: int
    remaining: int | None = None
    reset: int | None = None


class Profile(BaseModel):
    user_id: str
    email: str
    organization: dict[str, str]
    plan: PlanLimits
    credential: dict[str, str]
    usage: dict[str, Counter]


class Stats(BaseModel):
    scans: dict[str, Any]
    api_keys: dict[str, int]


class HealthStatus(BaseModel):
    status: Literal["healthy", "degraded", "unhealthy"]


class Health(BaseModel):
    status: Literal["healthy", "degraded", "unhealthy"]
    version: str
    timestamp: str
    dependencies: dict[str, dict[str, Any]]


class ScanOptionsBody(Body):
    os_detection: bool = False
    service_detection: bool = False
    ssl_check: bool = False
    fast_mode: bool = False


class ScanCreateRequest(Body):
    """Seed 000 form (``target``) or seed 003 form (``targets`` + ``profile`` + ``max_duration``)."""

    target: str | None = Field(default=None, max_length=255, examples=["127.0.0.1"])
    targets: list[str] | None = Field(default=None, max_length=256)
    scan_type: str = Field(default="tcp", max_length=16)
    ports: str | None = Field(default=None, max_length=4096, examples=["1-1000", "22,80,443", "top-100", "-"])
    options: ScanOptionsBody = Field(default_factory=ScanOptionsBody)
    profile: Literal["standard", "compliance", "pentest"] | None = None
    max_duration: float | None = Field(default=None, gt=0, le=1440, description="minutes (fractions allowed)")

    @model_validator(mode="after")
    def one_target_form(self) -> ScanCreateRequest:
        if (self.target is None) == (self.targets is None):
            raise ValueError("give either target or targets")
        return self


class ScanCreated(BaseModel):
    scan_id: str
    status: str
    target: str
    targets: list[str]
    created_at: str | None
    estimated_duration: int
    websocket_url: str
    sse_url: str
    sandbox: bool


class ScanSummary(BaseModel):
    scan_id: str
    status: str
    target: str
    targets: list[str]
    scan_type: str
    ports: str
    profile: str
    options: dict[str, bool]
    max_duration: float
    progress: int
    created_at: str | None
    started_at: str | None
    completed_at: str | None
    estimated_duration: int
    estimated_completion: str | None
    results: dict[str, int]
    error: dict[str, str] | None
    sandbox: bool
    excluded_endpoints: list[str]


class ScanList(BaseModel):
    items: list[ScanSummary]
    total: int
    page: int
    per_page: int
    pages: int
    next_cursor: str | None


class ScanResults(BaseModel):
    scan_id: str
    target: str
    targets: list[str]
    scan_type: str
    status: str
    started_at: str | None
    completed_at: str | None
    duration: float
    summary: dict[str, int]
    error: dict[str, str] | None
    sandbox: bool
    excluded_endpoints: list[str]
    ports: list[dict[str, Any]]
    hosts: list[dict[str, Any]]


class DeletedResults(BaseModel):
    scan_id: str
    deleted_ports: int
