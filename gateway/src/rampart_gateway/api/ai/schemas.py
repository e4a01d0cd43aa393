"""Request and response bodies of the assistant's operations; the OpenAPI schemas come from these."""

from __future__ import annotations

from typing import Literal

from pydantic import BaseModel, Field, model_validator

from rampart_gateway.inputs import Body, Params, Whole

MAX_QUESTION = 2_000  # ai-service refuses longer ones too
Level = Literal["beginner", "intermediate", "expert"]
ReportType = Literal["executive", "technical", "remediation"]
SectionName = Literal["summary", "vulnerabilities", "recommendations"]
Ref = Field(default="", max_length=128, pattern=r"^[A-Za-z0-9_.:-]*$")


class AskContext(Body):
    """The object the question is about: at most one of these."""

    scan_id: str = Ref
    vulnerability_id: str = Ref
    asset: str = Field(default="", max_length=255, description="a host (address or name) of your scans")
    incident_id: str = Ref

    @model_validator(mode="after")
    def at_most_one(self) -> AskContext:
        given = [
            name for name in ("scan_id", "vulnerability_id", "asset", "incident_id") if getattr(self, name)
        ]
        if len(given) > 1:
            raise ValueError(
                f"give at most one of scan_id, vulnerability_id, asset, incident_id (got {given})"
            )
        return self


class AskRequest(Body):
    question: str = Field(
        min_length=1,
        max_length=MAX_QUESTION,
        examples=["What does an open SSH port on 22 mean for security?"],
    )
    context: AskContext = Field(default_factory=AskContext)


class ExplainRequest(Body):
    concept: str = Field(min_length=1, max_length=200, examples=["port scanning"])
    level: Level = "intermediate"
    scan_id: str = Field(
        default="", max_length=128, pattern=r"^[A-Za-z0-9_.:-]*$", description="where to find an example"
    )


class ReportRequest(Body):
    scan_id: str = Field(min_length=1, max_length=128, pattern=r"^[A-Za-z0-9_.:-]+$")
    report_type: ReportType = "technical"
    include_sections: list[SectionName] = Field(
        default_factory=list, max_length=3, description="none: all three"
    )


class Citation(BaseModel):
    label: str
    kind: str
    ref: str
    excerpt: str
    scan_id: str | None
    host: str | None
    port: int | None
    protocol: str | None


class AskAnswer(BaseModel):
    answer: str
    intent: str
    confidence: int
    provider: str
    citations: list[Citation]
    gaps: list[str]
    history_id: str | None = Field(description="GET /api/v1/ai/history/{history_id} reads it back")
    provider_tokens: int = Field(description="tokens the LLM provider spent (its usage, else estimated)")


class RelatedId(BaseModel):
    id: str
    kind: str
    name: str


class ExplainAnswer(BaseModel):
    concept: str
    level: Level
    found: bool
    explanation: str
    related: list[RelatedId]
    example: str | None
    provider: str
    citations: list[Citation]


class ReportSection(BaseModel):
    name: str
    title: str
    body: str
    citations: list[Citation]


class ReportAnswer(BaseModel):
    scan_id: str
    report_type: ReportType
    provider: str
    sections: list[ReportSection]
    gaps: list[str]


class HistoryQuery(Params):
    per_page: Whole = Field(default=20, ge=1, le=100, description="items per page")
    cursor: str = Field(
        default="", max_length=64, pattern=r"^[0-9]*$", description="next_cursor from the previous page"
    )


class AssistantHistoryEntry(BaseModel):
    history_id: str
    kind: Literal["ask", "explain", "report"]
    question: str
    answer: str
    citations: list[Citation]
    provider: str
    provider_tokens: int
    scan_id: str | None
    key_id: str | None = Field(description="the API key it was asked with; null for a signed-in session")
    created_at: str | None
    expires_at: str | None = Field(description="deleted after this (the operator's retention)")


class AssistantHistoryPage(BaseModel):
    items: list[AssistantHistoryEntry]
    total: int
    per_page: int
    next_cursor: str | None
