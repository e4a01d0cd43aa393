"""Threat-intel use cases' results as protobuf (the only place of ``intel/`` that knows the proto)."""

from __future__ import annotations

from rampart.lib.ids import to_timestamp
from rampart.threat.v1 import threat_pb2
from rampart_threat.intel.service import ImportResult, SourceStatus
from rampart_threat.intel.store import ListEntry, SourceState


def source_message(state: SourceState, stale: bool) -> threat_pb2.IntelSource:
    return threat_pb2.IntelSource(
        source=state.source,
        kind=state.format,
        generation=state.generation,
        sha256=state.sha256,
        indicators=state.indicators,
        skipped=state.skipped,
        stale=stale,
        imported_at=to_timestamp(state.imported_at),
    )


def import_message(result: ImportResult) -> threat_pb2.IntelImport:
    return threat_pb2.IntelImport(source=source_message(result.state, False), unchanged=result.unchanged)


def status_message(sources: list[SourceStatus], stale_after_days: float) -> threat_pb2.IntelStatus:
    return threat_pb2.IntelStatus(
        sources=[source_message(s.state, s.stale) for s in sources], stale_after_days=stale_after_days
    )


def entry_message(entry: ListEntry) -> threat_pb2.IndicatorListEntry:
    return threat_pb2.IndicatorListEntry(
        entry_id=entry.entry_id,
        list=entry.list,
        kind=entry.kind,
        value=entry.value,
        note=entry.note,
        created_at=to_timestamp(entry.created_at),
    )


def entries_message(entries: list[ListEntry]) -> threat_pb2.ListIndicatorListEntriesResponse:
    return threat_pb2.ListIndicatorListEntriesResponse(entries=[entry_message(e) for e in entries])
