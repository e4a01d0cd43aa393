"""Between the report messages of report.proto and the report domain."""

from __future__ import annotations

from rampart.common.v1 import common_pb2
from rampart.lib.enums import enum_of, enum_word
from rampart.lib.errors import InvalidArgument
from rampart.lib.ids import from_timestamp, to_timestamp
from rampart.report.v1 import report_pb2
from rampart_report.reports.model import (
    Report,
    ReportFormat,
    ReportRequest,
    ReportStatus,
    ReportType,
    Tenant,
)
from rampart_report.reports.ports import Filters
from rampart_report.reports.scope import Scope


def tenant(owner: common_pb2.Owner) -> Tenant:
    return Tenant(owner.org_id, owner.user_id, sandbox=owner.mode == common_pb2.KEY_MODE_TEST)


def owner(who: Tenant) -> common_pb2.Owner:
    mode = common_pb2.KEY_MODE_TEST if who.sandbox else common_pb2.KEY_MODE_LIVE
    return common_pb2.Owner(user_id=who.user_id, org_id=who.org_id, mode=mode)


def _type(value: int) -> ReportType:
    try:
        return ReportType(enum_word(report_pb2.ReportType, value))
    except ValueError:
        raise InvalidArgument("type is required: one of " + ", ".join(ReportType), field="type") from None


def _format(value: int) -> ReportFormat:
    try:
        return ReportFormat(enum_word(report_pb2.Format, value))
    except ValueError:
        raise InvalidArgument(
            "format is required: one of " + ", ".join(ReportFormat), field="format"
        ) from None


def scope(message: report_pb2.CreateReportRequest) -> Scope | None:
    if not message.HasField("scope"):
        return None
    given = message.scope
    return Scope(
        assets=tuple(given.assets),
        period_from=from_timestamp(given.period_from) if given.HasField("period_from") else None,
        period_to=from_timestamp(given.period_to) if given.HasField("period_to") else None,
        last_days=given.last_days,
    )


def scope_message(given: Scope) -> report_pb2.ReportScope:
    message = report_pb2.ReportScope(assets=given.assets, last_days=given.last_days)
    for field, moment in (("period_from", given.period_from), ("period_to", given.period_to)):
        stamp = to_timestamp(moment)
        if stamp is not None:
            getattr(message, field).CopyFrom(stamp)
    return message


def request(message: report_pb2.CreateReportRequest) -> ReportRequest:
    return ReportRequest(
        report_type=_type(message.report_type),
        format=_format(message.format),
        scan_ids=tuple(message.scan_ids),
        sections=tuple(message.include_sections),
        title=message.title,
        frameworks=tuple(message.frameworks),
        scope=scope(message),
    )


def filters(message: report_pb2.ListReportsRequest) -> Filters:
    try:
        status = ReportStatus(enum_word(report_pb2.ReportStatus, message.status)) if message.status else None
    except ValueError:
        raise InvalidArgument("unknown status", field="status") from None
    return Filters(
        report_type=_type(message.report_type) if message.report_type else None,
        status=status,
        scan_id=message.scan_id,
    )


def report_message(report: Report) -> report_pb2.Report:
    request = report.request
    message = report_pb2.Report(
        report_id=report.report_id,
        owner=owner(report.tenant),
        title=request.title,
        report_type=enum_of(report_pb2.ReportType, request.report_type.value),
        scan_ids=request.scan_ids,
        format=enum_of(report_pb2.Format, request.format.value),
        status=enum_of(report_pb2.ReportStatus, report.status.value),
        created_at=to_timestamp(report.created_at),
        expires_at=to_timestamp(report.expires_at),
        progress=report.progress,
        error=report.error,
        sandbox=report.tenant.sandbox,
        frameworks=request.frameworks,
        sections=[
            report_pb2.ReportSection(
                name=s.name, status="included" if s.included else "unavailable", note=s.note, source=s.source
            )
            for s in report.sections
        ]
        or [report_pb2.ReportSection(name=name, status="pending") for name in request.sections],
    )
    if request.scope is not None:
        message.scope.CopyFrom(scope_message(request.scope))
    ready_at = to_timestamp(report.ready_at)
    if ready_at is not None:
        message.ready_at.CopyFrom(ready_at)
    if report.file is not None:
        message.size_bytes = report.file.size
        message.sha256 = report.file.sha256
        message.filename = report.file.filename
        message.content_type = report.file.content_type
    return message
