"""The inventory's NATS entry point: each port event of a scan updates the host's asset."""

from __future__ import annotations

from rampart.scan.v1 import scan_pb2
from rampart_threat.assets.mappers import is_live, observation
from rampart_threat.assets.service import AssetService


class AssetRecorder:
    """Keeps the asset inventory from port_found / service_detected events (other events pass by).

    Runs inside threat-service's scan-events consumer; idempotent by itself (the record's methods
    change nothing for an observation they already hold), so a redelivery writes nothing.
    """

    def __init__(self, assets: AssetService) -> None:
        self._assets = assets

    async def __call__(self, event: scan_pb2.ScanEvent) -> None:
        seen = observation(event)
        if seen is None or not event.owner.org_id:
            return
        await self._assets.observe(event.owner.org_id, is_live(event.owner), seen)
