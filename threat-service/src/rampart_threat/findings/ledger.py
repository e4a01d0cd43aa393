"""The ledger on the store, as bootstrap wires it and the finding pipeline calls it."""

from __future__ import annotations

from collections.abc import Callable
from datetime import datetime

from pymongo.asynchronous.database import AsyncDatabase

from rampart.lib.ids import utcnow
from rampart.lib.store import Document
from rampart_threat.findings.repository import MongoVulnerabilityRepository
from rampart_threat.findings.service import HostFindingCounts, VulnerabilityLedger


class MongoFindingLedger(VulnerabilityLedger):
    """``FindingLedger`` (findings/ports.py) on threat-service's database; ``create_indexes`` at start."""

    def __init__(
        self,
        db: AsyncDatabase[Document],
        clock: Callable[[], datetime] = utcnow,
        assets: HostFindingCounts | None = None,
    ) -> None:
        self.store = MongoVulnerabilityRepository(db)
        super().__init__(self.store, clock, assets)

    async def create_indexes(self) -> None:
        await self.store.create_indexes()
