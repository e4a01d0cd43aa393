"""Request and response bodies of the incident operations; the OpenAPI schemas come from these."""

from __future__ import annotations

from typing import Annotated, Literal

from pydantic import BaseModel, Field, model_validator

from rampart_gateway.inputs import Body

SeverityWord = Literal["low", "medium", "high", "critical"]
StatusWord = Literal["open", "triaged", "investigating", "contained", "resolved", "closed"]
Entry = Annotated[str, Field(min_length=1, max_length=255)]


class IncidentCreateRequest(Body):
    title: str = Field(min_length=1, max_length=200, examples=["Beaconing from the web server"])
    severity: SeverityWord
    description: str = Field(default="", max_length=10_000)
    affected_systems: list[Entry] = Field(
        default_factory=list, max_length=100, description="asset ids (asset_…), addresses or CIDR networks"
    )
    related_findings: list[Entry] = Field(default_factory=list, max_length=100)
    related_analyses: list[Entry] = Field(default_factory=list, max_length=100)
    assignee: str = Field(default="", max_length=128)


class IncidentUpdateRequest(Body):
    """Only the fields given change; a severity change needs a ``reason``."""

    status: StatusWord | None = None
    severity: SeverityWord | None = None
    description: str | None = Field(default=None, min_length=1, max_length=10_000)
    assignee: str | None = Field(default=None, max_length=128, description='"" unassigns')
    reason: str = Field(default="", max_length=1_000)
    comment: str = Field(default="", max_length=10_000)

    @model_validator(mode="after")
    def something_to_change(self) -> IncidentUpdateRequest:
        if (
            self.status is None
            and self.severity is None
            and self.description is None
            and self.assignee is None
        ) and not self.comment:
            raise ValueError("give at least one of status, severity, description, assignee, comment")
        return self


class CommentRequest(Body):
    body: str = Field(min_length=1, max_length=10_000)


class LinkedAsset(BaseModel):
    asset_id: str
    host: str
    open_ports: list[int]
    last_scan_id: str
    last_seen: str | None
    matched: str


class Triage(BaseModel):
    linked_assets: list[LinkedAsset]
    unresolved_systems: list[str]
    priority: str
    due_at: str | None
    next_steps: list[str]
    notes: list[str]


class TimelineEntry(BaseModel):
    kind: str
    actor: str
    from_value: str
    to_value: str
    reason: str
    at: str | None


class CommentView(BaseModel):
    comment_id: str
    author: str
    body: str
    created_at: str | None


class IncidentView(BaseModel):
    incident_id: str
    title: str
    severity: str
    status: str
    description: str
    affected_systems: list[str]
    related_findings: list[str]
    related_analyses: list[str]
    assignee: str
    rule_id: str
    created_by: str
    created_at: str | None
    updated_at: str | None
    triage: Triage
    comments: list[CommentView]
    timeline: list[TimelineEntry]


class IncidentList(BaseModel):
    items: list[IncidentView]
    total: int
    per_page: int
    next_cursor: str | None
