"""Request and response bodies of the account operations; the OpenAPI schemas come from these."""

from __future__ import annotations

from datetime import datetime
from typing import Any, Literal

from pydantic import BaseModel, Field

from rampart_gateway.inputs import Body


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
    ai_requests_per_day: int = Field(description="assistant requests a day (UTC); 0: unlimited (enterprise)")
    ai_tokens_per_day: int = Field(description="LLM provider tokens a day (UTC); 0: unlimited (enterprise)")


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
    assistant: dict[str, int] | None = Field(
        description="today's assistant requests and provider tokens; null when ai-service did not answer"
    )
