"""A report's file: Content-Type, Content-Disposition, Content-Length, an ETag (the file's SHA-256),
If-None-Match (304) and single byte ranges (206, e.g. a PDF viewer reading pages as it goes).

The file is read from report-service in parts of at most ``PART`` bytes, streamed to the client as
they come, so a large report is never held whole in the gateway.
"""

from __future__ import annotations

import re
from collections.abc import AsyncIterator
from dataclasses import dataclass
from urllib.parse import quote

from starlette.requests import Request
from starlette.responses import Response, StreamingResponse

from rampart.report.v1 import report_pb2
from rampart_gateway.api.reports.routes import TIMEOUT, fetch_report
from rampart_gateway.api.reports.schemas import DownloadHeaders
from rampart_gateway.errors import ApiError
from rampart_gateway.inputs import read_headers
from rampart_gateway.operations import caller

PART = 1024 * 1024
RANGE = re.compile(r"^bytes=(\d*)-(\d*)$")


@dataclass(frozen=True)
class Span:
    first: int
    last: int  # inclusive

    @property
    def length(self) -> int:
        return self.last - self.first + 1


class Unsatisfiable(Exception):
    pass


def byte_range(header: str | None, size: int) -> Span | None:
    """The one range asked for, or None for the whole file (no header, several ranges, or a
    header we do not read: a server may always answer 200 with the whole)."""
    if not header:
        return None
    match = RANGE.match(header.strip())
    if match is None:
        return None
    first, last = match.group(1), match.group(2)
    if not first and not last:
        return None
    if not first:  # the last N bytes
        suffix = int(last)
        if suffix == 0 or size == 0:
            raise Unsatisfiable
        return Span(max(size - suffix, 0), size - 1)
    start = int(first)
    if start >= size:
        raise Unsatisfiable
    end = min(int(last), size - 1) if last else size - 1
    if end < start:
        return None
    return Span(start, end)


def _matches(header: str | None, etag: str) -> bool:
    if not header:
        return False
    tags = {tag.strip().removeprefix("W/") for tag in header.split(",")}
    return "*" in tags or etag in tags


def disposition(filename: str) -> str:
    ascii_name = re.sub(r"[^A-Za-z0-9._-]", "_", filename) or "report"
    return f"attachment; filename=\"{ascii_name}\"; filename*=UTF-8''{quote(filename)}"


async def download_report(request: Request) -> Response:
    headers = read_headers(request, DownloadHeaders)
    report = await fetch_report(request)
    if report.status != report_pb2.REPORT_STATUS_READY:
        raise ApiError("REPORT_NOT_READY", "the report is not ready", {"report_id": report.report_id})
    etag = f'"{report.sha256}"'
    common = {
        "ETag": etag,
        "Accept-Ranges": "bytes",
        "Cache-Control": "private, max-age=0, must-revalidate",
        "Content-Disposition": disposition(report.filename),
    }
    if _matches(headers.if_none_match, etag):
        return Response(status_code=304, headers=common)
    size = report.size_bytes
    span: Span | None = None
    if headers.if_range is None or headers.if_range.strip() == etag:
        try:
            span = byte_range(headers.range, size)
        except Unsatisfiable:
            return Response(status_code=416, headers={**common, "Content-Range": f"bytes */{size}"})
    first, length = (span.first, span.length) if span else (0, size)
    common["Content-Length"] = str(length)
    status = 200
    if span is not None:
        status = 206
        common["Content-Range"] = f"bytes {span.first}-{span.last}/{size}"
    owner, client = caller(request).owner, request.state.clients.report

    async def read(offset: int, left: int) -> bytes:
        request = report_pb2.DownloadReportRequest(
            owner=owner, report_id=report.report_id, offset=offset, length=min(left, PART)
        )
        reply: report_pb2.ReportFile = await client.DownloadReport(request, timeout=TIMEOUT)
        return reply.content

    # The first part before the headers go out: a failure still answers with the error envelope.
    opening = await read(first, length) if length else b""

    async def parts() -> AsyncIterator[bytes]:
        content, offset, left = opening, first, length
        while content:
            yield content
            offset, left = offset + len(content), left - len(content)
            content = await read(offset, left) if left > 0 else b""

    return StreamingResponse(parts(), status_code=status, headers=common, media_type=report.content_type)
