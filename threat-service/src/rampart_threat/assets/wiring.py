"""The inventory's parts around any asset repository (tests pass a fake)."""

from __future__ import annotations

from dataclasses import dataclass

from rampart_threat.assets.consumers import AssetRecorder
from rampart_threat.assets.repository import AssetRepository
from rampart_threat.assets.service import AssetService


@dataclass(frozen=True)
class AssetParts:
    service: AssetService  # the RPCs, and the findings ledger's set_finding_counts
    recorder: AssetRecorder  # the scan events


def asset_parts(repository: AssetRepository) -> AssetParts:
    service = AssetService(repository)
    return AssetParts(service, AssetRecorder(service))
