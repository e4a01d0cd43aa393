"""A scan's export as a download, made by report-service (JSON, CSV, SARIF, HTML or PDF)."""

from __future__ import annotations

import re

from starlette.requests import Request
from starlette.responses import Response

from rampart.report.v1 import report_pb2
from rampart_gateway.api.scans.queries import ExportQuery
from rampart_gateway.inputs import read_query
from rampart_gateway.operations import caller

EXPORT_TIMEOUT = 60.0  # a PDF of a large scan takes seconds to lay out
FORMATS = {
    "json": report_pb2.FORMAT_JSON,
    "csv": report_pb2.FORMAT_CSV,
    "sarif": report_pb2.FORMAT_SARIF,
    "html": report_pb2.FORMAT_HTML,
    "pdf": report_pb2.FORMAT_PDF,
}
CSV_KINDS = {"ports": report_pb2.CSV_KIND_PORTS, "findings": report_pb2.CSV_KIND_FINDINGS}
MEDIA_TYPES = ("application/json", "text/csv", "application/sarif+json", "text/html", "application/pdf")
UNSAFE_IN_FILENAME = re.compile(r"[^A-Za-z0-9._-]")


async def export_scan(request: Request) -> Response:
    principal = caller(request)
    query = read_query(request, ExportQuery)
    reply: report_pb2.FileContent = await request.state.clients.report.ExportScan(
        report_pb2.ExportScanRequest(
            owner=principal.owner,
            scan_id=request.path_params["scan_id"],
            format=FORMATS[query.format],
            csv_kind=CSV_KINDS[query.kind],
        ),
        timeout=EXPORT_TIMEOUT,
    )
    return download(reply)


def download(reply: report_pb2.FileContent) -> Response:
    """report-service's file as an attachment (its name kept to safe characters)."""
    filename = UNSAFE_IN_FILENAME.sub("_", reply.filename)
    headers = {"content-disposition": f'attachment; filename="{filename}"'}
    return Response(reply.content, media_type=reply.content_type, headers=headers)
