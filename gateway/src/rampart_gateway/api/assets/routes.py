"""Assets: decode, call threat-service, encode. Scopes are checked before a handler runs."""

from __future__ import annotations

from starlette.requests import Request
from starlette.responses import Response

from rampart.common.v1 import common_pb2
from rampart.threat.v1 import threat_pb2
from rampart_gateway.api.assets import views
from rampart_gateway.api.assets.queries import ListAssetsQuery
from rampart_gateway.envelope import ok
from rampart_gateway.inputs import read_query
from rampart_gateway.operations import caller

TIMEOUT = 30.0


def severity_value(word: str | None) -> common_pb2.Severity.ValueType:
    return common_pb2.Severity.Value(f"SEVERITY_{word.upper()}") if word else common_pb2.SEVERITY_UNSPECIFIED


async def list_assets(request: Request) -> Response:
    query = read_query(request, ListAssetsQuery)
    message = threat_pb2.ListAssetsRequest(
        owner=caller(request).owner,
        text=query.host,
        port=query.port or 0,
        service=query.service,
        os=query.os,
        min_severity=severity_value(query.severity),
        sort=threat_pb2.AssetSort.Value(f"ASSET_SORT_{query.sort.upper()}"),
        ascending=query.order == "asc",
        page=query.page,
        page_size=query.per_page,
        page_token=query.cursor,
    )
    if query.has_findings is not None:
        message.has_findings = query.has_findings
    if query.seen_after:
        message.seen.after.FromDatetime(query.seen_after)
    if query.seen_before:
        message.seen.before.FromDatetime(query.seen_before)
    reply = await request.state.clients.threat.ListAssets(message, timeout=TIMEOUT)
    return ok(request, views.page(reply))


async def get_asset(request: Request) -> Response:
    reply = await request.state.clients.threat.GetAsset(
        threat_pb2.GetAssetRequest(owner=caller(request).owner, asset_id=request.path_params["asset_id"]),
        timeout=TIMEOUT,
    )
    return ok(request, views.detail(reply))
