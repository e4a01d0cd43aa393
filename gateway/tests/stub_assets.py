"""threat-service's asset RPCs in memory, enough to check the gateway's side of them."""

from __future__ import annotations

from datetime import UTC, datetime

import grpc

from gateway.tests.stub_services import Call, StubService, rpc_error
from rampart.common.v1 import common_pb2
from rampart.lib.ids import to_timestamp
from rampart.threat.v1 import threat_pb2

SEEN = datetime(2026, 3, 1, 9, 0, tzinfo=UTC)


def web_server(asset_id: str = "asset_web") -> threat_pb2.Asset:
    """An asset as threat-service describes one: ssh and https open, 6379 closed since."""
    ssh = threat_pb2.AssetPort(
        port=22,
        protocol="tcp",
        open=True,
        since=to_timestamp(SEEN),
        last_scan_id="scn_2",
        service=threat_pb2.AssetServiceInfo(name="ssh", product="OpenSSH", version="9.2p1"),
    )
    https = threat_pb2.AssetPort(
        port=443,
        protocol="tcp",
        open=True,
        last_scan_id="scn_2",
        service=threat_pb2.AssetServiceInfo(name="https", product="nginx", tls=True),
    )
    return threat_pb2.Asset(
        asset_id=asset_id,
        host="203.0.113.7",
        addresses=["203.0.113.7"],
        names=["www.example.org"],
        ports=[ssh, https],
        os=threat_pb2.AssetOsHint(name="Linux (Debian 12)", confidence=60, evidence=["22/tcp ssh: deb12"]),
        findings_by_severity={"high": 2, "low": 1},
        findings_total=3,
        first_seen=to_timestamp(SEEN),
        last_seen=to_timestamp(SEEN),
        scans=[threat_pb2.AssetScan(scan_id="scn_2", at=to_timestamp(SEEN))],
        closed_ports=[threat_pb2.AssetPort(port=6379, protocol="tcp", open=False, last_scan_id="scn_2")],
        history=[
            threat_pb2.AssetPortChange(
                at=to_timestamp(SEEN),
                scan_id="scn_1",
                port=6379,
                kind=threat_pb2.ASSET_PORT_CHANGE_KIND_OPENED,
            ),
            threat_pb2.AssetPortChange(
                at=to_timestamp(SEEN),
                scan_id="scn_2",
                port=6379,
                kind=threat_pb2.ASSET_PORT_CHANGE_KIND_CLOSED,
            ),
        ],
    )


class StubAssets(StubService):
    """Assets by id, each of one organisation; the list answers every asset of the caller's."""

    def __init__(self) -> None:
        super().__init__()
        self.assets: dict[str, tuple[str, threat_pb2.Asset]] = {}
        self.next_cursor = ""

    def add_asset(self, org_id: str, asset: threat_pb2.Asset) -> None:
        self.assets[asset.asset_id] = (org_id, asset)

    def ListAssets(self, request: threat_pb2.ListAssetsRequest, timeout: float) -> Call:
        def listed() -> threat_pb2.ListAssetsResponse:
            mine = [a for org, a in self.assets.values() if org == request.owner.org_id]
            summaries = []
            for found in mine:
                summary = threat_pb2.Asset()
                summary.CopyFrom(found)
                del summary.history[:]
                del summary.closed_ports[:]
                summaries.append(summary)
            size = request.page_size or 20
            return threat_pb2.ListAssetsResponse(
                assets=summaries,
                page=common_pb2.PageInfo(
                    total=len(mine),
                    page=request.page,
                    per_page=size,
                    pages=-(-len(mine) // size),
                    next_cursor=self.next_cursor,
                ),
            )

        return self._call("ListAssets", request, listed)

    def GetAsset(self, request: threat_pb2.GetAssetRequest, timeout: float) -> Call:
        def get() -> threat_pb2.Asset:
            org, found = self.assets.get(request.asset_id, ("", threat_pb2.Asset()))
            if org != request.owner.org_id or not org:
                raise rpc_error(grpc.StatusCode.NOT_FOUND, "no such asset", "ASSET_NOT_FOUND")
            return found

        return self._call("GetAsset", request, get)
