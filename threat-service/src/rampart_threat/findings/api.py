"""The vulnerability RPCs of ThreatService: decode, call the ledger, encode."""

from __future__ import annotations

from rampart.lib.grpcserver import Context
from rampart.threat.v1 import threat_pb2
from rampart_threat.findings import mappers
from rampart_threat.findings.service import VulnerabilityLedger
from rampart_threat.knowledge import mappers as catalog_mappers
from rampart_threat.knowledge.service import CatalogEntryNotFound, KnowledgeService


class VulnerabilityRpcs:
    """Mixed into ThreatServicer; ``_vulnerabilities`` and ``_catalog`` are set by its constructor."""

    _vulnerabilities: VulnerabilityLedger
    _catalog: KnowledgeService

    async def ListVulnerabilities(
        self, request: threat_pb2.ListVulnerabilitiesRequest, context: Context
    ) -> threat_pb2.ListVulnerabilitiesResponse:
        page = await self._vulnerabilities.list(mappers.viewer(request.owner), mappers.listing(request))
        return mappers.page_message(page)

    async def GetVulnerability(
        self, request: threat_pb2.GetVulnerabilityRequest, context: Context
    ) -> threat_pb2.Vulnerability:
        found = await self._vulnerabilities.get(mappers.viewer(request.owner), request.vulnerability_id)
        return mappers.vulnerability_message(
            found, full=True, details=await self._details(found.observation.cve)
        )

    async def UpdateVulnerability(
        self, request: threat_pb2.UpdateVulnerabilityRequest, context: Context
    ) -> threat_pb2.Vulnerability:
        changed = await self._vulnerabilities.update(
            mappers.viewer(request.owner), request.vulnerability_id, mappers.triage(request)
        )
        return mappers.vulnerability_message(
            changed, full=True, details=await self._details(changed.observation.cve)
        )

    async def _details(self, cve: str) -> threat_pb2.CatalogEntry | None:
        """The knowledge base's entry for the record's CVE (None for rule findings, or a CVE it lacks now)."""
        if not cve:
            return None
        try:
            return catalog_mappers.entry_message(await self._catalog.entry(cve))
        except CatalogEntryNotFound:
            return None
