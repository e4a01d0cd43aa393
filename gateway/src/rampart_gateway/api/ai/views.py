"""Assistant replies as public JSON, and as server-sent events (chunks, then the citations)."""

from __future__ import annotations

from collections.abc import Iterator
from typing import Any

from rampart.ai.v1 import ai_pb2
from rampart.lib.enums import enum_word
from rampart_gateway.envelope import when

DEFAULT_LEVEL, DEFAULT_REPORT_TYPE = "intermediate", "technical"  # ai-service's defaults


def citation(source: ai_pb2.Source) -> dict[str, Any]:
    return {
        "label": source.label,
        "kind": source.kind,
        "ref": source.ref,
        "excerpt": source.excerpt,
        "scan_id": source.scan_id or None,
        "host": source.host or None,
        "port": source.port or None,
        "protocol": source.protocol or None,
    }


def ask(reply: ai_pb2.AskResponse) -> dict[str, Any]:
    return {
        "answer": reply.answer,
        "intent": enum_word(ai_pb2.Intent, reply.intent),
        "confidence": reply.confidence,
        "provider": reply.provider,
        "citations": [citation(s) for s in reply.sources],
        "gaps": list(reply.gaps),
        "history_id": reply.history_id or None,
        "provider_tokens": reply.provider_tokens,
    }


def history_entry(entry: ai_pb2.HistoryEntry) -> dict[str, Any]:
    return {
        "history_id": entry.history_id,
        "kind": entry.kind,
        "question": entry.question,
        "answer": entry.answer,
        "citations": [citation(s) for s in entry.sources],
        "provider": entry.provider,
        "provider_tokens": entry.provider_tokens,
        "scan_id": entry.scan_id or None,
        "key_id": entry.key_id or None,
        "created_at": when(entry.created_at),
        "expires_at": when(entry.expires_at),
    }


def history_page(reply: ai_pb2.ListHistoryResponse, per_page: int) -> dict[str, Any]:
    return {
        "items": [history_entry(e) for e in reply.entries],
        "total": reply.page.total,
        "per_page": per_page,
        "next_cursor": reply.page.next_cursor or None,
    }


def explain(reply: ai_pb2.ExplainResponse) -> dict[str, Any]:
    return {
        "concept": reply.concept,
        "level": enum_word(ai_pb2.ExplainLevel, reply.level) or DEFAULT_LEVEL,
        "found": reply.found,
        "explanation": reply.explanation,
        "related": [{"id": r.id, "kind": r.kind, "name": r.name} for r in reply.related_ids],
        "example": reply.example or None,
        "provider": reply.provider,
        "citations": [citation(s) for s in reply.sources],
    }


def report(reply: ai_pb2.GenerateReportResponse) -> dict[str, Any]:
    return {
        "scan_id": reply.scan_id,
        "report_type": enum_word(ai_pb2.ReportType, reply.report_type) or DEFAULT_REPORT_TYPE,
        "provider": reply.provider,
        "sections": [
            {"name": s.name, "title": s.title, "body": s.body, "citations": [citation(c) for c in s.sources]}
            for s in reply.sections
        ],
        "gaps": list(reply.gaps),
    }


def chunks(view: dict[str, Any]) -> Iterator[dict[str, Any]]:
    """The text of a view, a line at a time (a report: section by section), as SSE ``chunk`` data."""
    if "sections" in view:
        for section in view["sections"]:
            yield {"section": section["name"], "title": section["title"], "text": ""}
            for line in section["body"].splitlines(keepends=True):
                yield {"section": section["name"], "text": line}
        return
    text = view.get("answer", view.get("explanation", ""))
    for line in str(text).splitlines(keepends=True):
        yield {"text": line}


def final(view: dict[str, Any]) -> dict[str, Any]:
    """The ``done`` event: the whole view without its text (already streamed)."""
    return {k: v for k, v in view.items() if k not in {"answer", "explanation"}}
