"""The asset RPCs of ThreatService: decode, call the asset service, encode."""

from __future__ import annotations

from rampart.lib.grpcserver import Context
from rampart.threat.v1 import threat_pb2
from rampart_threat.assets import mappers
from rampart_threat.assets.service import AssetService


class AssetRpcs:
    """Mixed into ThreatServicer; ``_assets`` is set by its constructor."""

    _assets: AssetService

    async def ListAssets(
        self, request: threat_pb2.ListAssetsRequest, context: Context
    ) -> threat_pb2.ListAssetsResponse:
        return mappers.page_message(await self._assets.list(mappers.listing(request)))

    async def GetAsset(self, request: threat_pb2.GetAssetRequest, context: Context) -> threat_pb2.Asset:
        found = await self._assets.get(request.owner.org_id, mappers.is_live(request.owner), request.asset_id)
        return mappers.asset_message(found, detail=True)
