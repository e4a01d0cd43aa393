"""Scan results as a download: the JSON object, or CSV with one row per port (no formulas)."""

from __future__ import annotations

import csv
import io
import json
from typing import Any

from starlette.requests import Request
from starlette.responses import Response

from rampart_gateway.api.scans import views
from rampart_gateway.api.scans.findings import findings_of
from rampart_gateway.api.scans.queries import ExportQuery
from rampart_gateway.api.scans.routes import fetch_results
from rampart_gateway.inputs import read_query
from rampart_gateway.operations import caller

CSV_COLUMNS = (
    "host",
    "port",
    "protocol",
    "state",
    "service",
    "product",
    "version",
    "cpe",
    "confidence",
    "tls_protocols",
    "tls_weaknesses",
    "rtt_ms",
)
FORMULA_STARTS = ("=", "+", "-", "@", "\t", "\r")  # a spreadsheet would run such a cell


def csv_cell(value: object) -> str:
    """The cell's text, quoted with ``'`` when a spreadsheet would read it as a formula."""
    text = "" if value is None else str(value)
    return "'" + text if text[:1] in FORMULA_STARTS else text


def csv_row(item: dict[str, Any]) -> list[str]:
    service, tls = item["service"] or {}, item["tls"] or {}
    row = (
        item["host"],
        item["port"],
        item["protocol"],
        item["state"],
        service.get("name"),
        service.get("product"),
        service.get("version"),
        service.get("cpe"),
        service.get("confidence"),
        " ".join(tls.get("protocols_accepted", [])),
        " ".join(tls.get("weaknesses", [])),
        item["rtt_ms"],
    )
    return [csv_cell(value) for value in row]


def results_csv(data: dict[str, Any]) -> str:
    out = io.StringIO()
    writer = csv.writer(out)
    writer.writerow(CSV_COLUMNS)
    writer.writerows(csv_row(item) for item in data["ports"])
    return out.getvalue()


async def export_scan(request: Request) -> Response:
    principal = caller(request)
    fmt = read_query(request, ExportQuery).format
    results = await fetch_results(request, principal)
    data = views.results(results)
    data.update(await findings_of(request, principal.owner, results.scan.scan_id))  # the JSON export only
    headers = {"content-disposition": f'attachment; filename="{data["scan_id"]}.{fmt}"'}
    if fmt == "json":
        return Response(json.dumps(data, indent=2), media_type="application/json", headers=headers)
    return Response(results_csv(data), media_type="text/csv; charset=utf-8", headers=headers)
