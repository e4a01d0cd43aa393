"""Between the feed RPCs' protobuf messages and the feed domain types."""

from __future__ import annotations

from datetime import datetime

from google.protobuf.timestamp_pb2 import Timestamp

from rampart.lib.errors import InvalidArgument
from rampart.threat.v1 import threat_pb2
from rampart_threat.feeds.domain import FeedKind, ImportReport, SourceStatus

KIND_TO_PROTO = {kind: threat_pb2.FeedKind.Value(f"FEED_KIND_{kind.name}") for kind in FeedKind}
PROTO_TO_KIND: dict[int, FeedKind] = {int(value): kind for kind, value in KIND_TO_PROTO.items()}


def stamp(value: datetime) -> Timestamp:
    message = Timestamp()
    message.FromDatetime(value)
    return message


def feed_kind(value: int) -> FeedKind:
    if value not in PROTO_TO_KIND:
        raise InvalidArgument("kind must be one of nvd, cve5, kev, epss, starter", field="kind")
    return PROTO_TO_KIND[value]


def import_message(report: ImportReport) -> threat_pb2.FeedImport:
    message = threat_pb2.FeedImport(
        import_id=report.import_id,
        kind=KIND_TO_PROTO[report.kind],
        path=report.path,
        sha256=report.sha256,
        added=report.counts.added,
        updated=report.counts.updated,
        unchanged=report.counts.unchanged,
        skipped=report.counts.skipped,
        removed=report.counts.removed,
        seconds=report.seconds,
        generation=report.generation,
        started_at=stamp(report.started_at),
        details=report.details,
    )
    if report.snapshot is not None:
        message.snapshot.CopyFrom(stamp(report.snapshot))
    return message


def status_message(sources: list[SourceStatus], stale_after_days: float) -> threat_pb2.FeedStatus:
    reply = threat_pb2.FeedStatus(stale_after_days=stale_after_days)
    for source in sources:
        item = reply.sources.add(
            kind=KIND_TO_PROTO[source.kind],
            records=source.records,
            last_import_id=source.last_import_id,
            stale=source.stale,
        )
        if source.snapshot is not None:
            item.snapshot.CopyFrom(stamp(source.snapshot))
        if source.imported_at is not None:
            item.imported_at.CopyFrom(stamp(source.imported_at))
    return reply
