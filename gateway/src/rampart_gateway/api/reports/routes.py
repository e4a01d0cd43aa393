"""Reports: decode, call report-service, encode. Scopes are checked before a handler runs."""

from __future__ import annotations

from starlette.requests import Request
from starlette.responses import Response

from rampart.lib.enums import enum_of
from rampart.report.v1 import report_pb2
from rampart_gateway.api.reports import views
from rampart_gateway.api.reports.schemas import ReportCreateRequest, ReportListQuery
from rampart_gateway.envelope import ok, request_id_of
from rampart_gateway.inputs import read_json, read_query
from rampart_gateway.operations import caller

TIMEOUT = 15.0


def scope(body: ReportCreateRequest) -> report_pb2.ReportScope | None:
    """The asset filter and the period, when given (report-service checks and resolves them)."""
    if not body.assets and body.period is None:
        return None
    message = report_pb2.ReportScope(assets=body.assets)
    period = body.period
    if period is not None:
        message.last_days = period.last_days or 0
        if period.from_ is not None:
            message.period_from.FromDatetime(period.from_)
        if period.to is not None:
            message.period_to.FromDatetime(period.to)
    return message


async def create_report(request: Request) -> Response:
    body = await read_json(request, ReportCreateRequest)
    principal = caller(request)
    message = report_pb2.CreateReportRequest(
        owner=principal.owner,
        title=body.title,
        report_type=enum_of(report_pb2.ReportType, body.type),
        scan_ids=body.scan_ids,
        format=enum_of(report_pb2.Format, body.format),
        include_sections=body.include_sections,
        frameworks=body.frameworks,
        plan=principal.plan.name,
        request_id=request_id_of(request),
    )
    asked = scope(body)
    if asked is not None:
        message.scope.CopyFrom(asked)
    reply = await request.state.clients.report.CreateReport(message, timeout=TIMEOUT)
    return ok(request, views.report(reply), status_code=202)


async def list_reports(request: Request) -> Response:
    query = read_query(request, ReportListQuery)
    message = report_pb2.ListReportsRequest(
        owner=caller(request).owner,
        page_size=query.per_page,
        page_token=query.cursor,
        scan_id=query.scan_id or "",
    )
    if query.type:
        message.report_type = enum_of(report_pb2.ReportType, query.type)
    if query.status:
        message.status = enum_of(report_pb2.ReportStatus, query.status)
    reply = await request.state.clients.report.ListReports(message, timeout=TIMEOUT)
    items = [views.report(report) for report in reply.reports]
    return ok(
        request, {"items": items, "per_page": query.per_page, "next_cursor": reply.next_page_token or None}
    )


async def fetch_report(request: Request) -> report_pb2.Report:
    reply: report_pb2.Report = await request.state.clients.report.GetReport(
        report_pb2.GetReportRequest(owner=caller(request).owner, report_id=request.path_params["report_id"]),
        timeout=TIMEOUT,
    )
    return reply


async def get_report(request: Request) -> Response:
    return ok(request, views.report(await fetch_report(request)))


async def delete_report(request: Request) -> Response:
    report_id = request.path_params["report_id"]
    await request.state.clients.report.DeleteReport(
        report_pb2.DeleteReportRequest(owner=caller(request).owner, report_id=report_id), timeout=TIMEOUT
    )
    return ok(request, {"report_id": report_id, "deleted": True})
