"""Request and response bodies of the webhook operations; the OpenAPI schemas come from these."""

from __future__ import annotations

from typing import Annotated, Literal

from pydantic import AfterValidator, BaseModel, Field, model_validator

from rampart.lib.catalogue.webhooks import NOT_PUBLISHED, WEBHOOK_EVENTS
from rampart_gateway.inputs import Body, Params, Whole


def _known_event(name: str) -> str:
    if name not in WEBHOOK_EVENTS and name not in NOT_PUBLISHED:
        raise ValueError(f"unknown event; known: {', '.join(WEBHOOK_EVENTS)}")
    return name


# The events report-service delivers (rampart.lib.catalogue.webhooks, the one list); an event
# outside it is refused here, one named but not published yet by report-service with the reason.
EventName = Annotated[
    str,
    Field(min_length=3, max_length=64, json_schema_extra={"enum": list(WEBHOOK_EVENTS)}),
    AfterValidator(_known_event),
]
Url = Field(min_length=8, max_length=2048, examples=["https://hooks.example.com/rampart"])


class WebhookCreateRequest(Body):
    url: str = Url
    events: list[EventName] = Field(min_length=1, max_length=16)
    secret: str = Field(
        default="",
        max_length=256,
        description="HMAC-SHA256 signing secret (16 to 256 characters); generated and shown once when absent",
    )
    description: str = Field(default="", max_length=500)
    enabled: bool = True


class WebhookUpdateRequest(Body):
    """Only the fields given change."""

    url: str | None = Field(default=None, min_length=8, max_length=2048)
    events: list[EventName] | None = Field(default=None, min_length=1, max_length=16)
    description: str | None = Field(default=None, max_length=500)
    enabled: bool | None = None

    @model_validator(mode="after")
    def something_to_change(self) -> WebhookUpdateRequest:
        if self.url is None and self.events is None and self.description is None and self.enabled is None:
            raise ValueError("give at least one of url, events, description, enabled")
        return self


class RotateSecretRequest(Body):
    secret: str = Field(default="", max_length=256, description="the new secret; generated when absent")
    grace_seconds: int = Field(
        default=0, ge=0, le=7 * 24 * 3600, description="how long the old secret still signs; 0: 24 hours"
    )


class PageQuery(Params):
    per_page: Whole = Field(default=20, ge=1, le=100, description="items per page")
    cursor: str = Field(
        default="", max_length=32, pattern=r"^[0-9]*$", description="next_cursor from the previous page"
    )


class WebhookView(BaseModel):
    webhook_id: str
    url: str
    events: list[str]
    description: str
    enabled: bool
    created_at: str | None
    updated_at: str | None
    previous_secret_expires_at: str | None = Field(
        description="while set, deliveries also carry a signature with the previous secret"
    )
    disabled_reason: str | None = Field(
        default=None,
        description="why deliveries were switched off (failing for 24 h); cleared by enabling it",
    )
    disabled_at: str | None = Field(default=None, description="when it was switched off")
    secret: str | None = Field(default=None, description="only in the create and rotate answers")


class WebhookList(BaseModel):
    items: list[WebhookView]
    per_page: int
    next_cursor: str | None


class AttemptView(BaseModel):
    attempt: int
    at: str | None
    status_code: int | None
    latency_ms: int
    error: str


class DeliveryView(BaseModel):
    delivery_id: str
    event_id: str
    event: str
    status: Literal["pending", "delivered", "failed"]
    attempts: int
    response_code: int | None
    latency_ms: int
    response_body: str = Field(description="the start of the last answer's body (truncated)")
    error: str
    created_at: str | None
    last_attempt_at: str | None
    next_attempt_at: str | None
    history: list[AttemptView]


class DeliveryList(BaseModel):
    items: list[DeliveryView]
    per_page: int
    next_cursor: str | None


class Deleted(BaseModel):
    webhook_id: str
    deleted: bool
