"""gRPC entry point for threat-service: decode, call the service layer, encode."""

from __future__ import annotations

from rampart.lib.grpcserver import Context
from rampart.threat.v1 import threat_pb2, threat_pb2_grpc
from rampart_threat.analysis import mappers as analysis_mappers
from rampart_threat.analysis.service import AnalysisService
from rampart_threat.assets.api import AssetRpcs
from rampart_threat.assets.service import AssetService
from rampart_threat.feeds.mappers import feed_kind, import_message, status_message
from rampart_threat.feeds.service import FeedService
from rampart_threat.findings.api import VulnerabilityRpcs
from rampart_threat.findings.memory import InMemoryVulnerabilityRepository
from rampart_threat.findings.service import VulnerabilityLedger
from rampart_threat.findings.tally import InMemoryScanTally, ScanTally, Tally
from rampart_threat.findings.tallymappers import count_message, findings_message
from rampart_threat.incidents.api import IncidentRpcs
from rampart_threat.incidents.service import IncidentService
from rampart_threat.intel import mappers as intel_mappers
from rampart_threat.intel.service import IntelService
from rampart_threat.knowledge import mappers as catalog_mappers
from rampart_threat.knowledge.service import KnowledgeService
from rampart_threat.mappers import activity_message
from rampart_threat.service import ActivityService


class ThreatServicer(IncidentRpcs, VulnerabilityRpcs, AssetRpcs, threat_pb2_grpc.ThreatServiceServicer):
    """Serves scan activity, threat analysis, incidents, assets, the vulnerability records and catalog
    and the feed admin RPCs; what is not built answers UNIMPLEMENTED.

    The threat-intel admin RPCs (imports, status) and the organisations' allow/deny lists are
    served by ``IntelService``, which is also the analysis' feed lookup."""

    def __init__(
        self,
        activity: ActivityService,
        analysis: AnalysisService,
        incidents: IncidentService,
        feeds: FeedService,
        intel: IntelService,
        catalog: KnowledgeService,
        assets: AssetService,
        *,
        vulnerabilities: VulnerabilityLedger | None = None,
        scan_findings: ScanTally | None = None,
    ) -> None:
        """``vulnerabilities`` defaults to a ledger on an empty in-memory store (tests of other RPCs)."""
        self._scan_findings = scan_findings or InMemoryScanTally()
        self._assets = assets
        self._intel = intel
        self._vulnerabilities = vulnerabilities or VulnerabilityLedger(InMemoryVulnerabilityRepository())
        self._activity = activity
        self._analysis = analysis
        self._incidents = incidents
        self._feeds = feeds
        self._catalog = catalog

    async def GetScanActivity(
        self, request: threat_pb2.GetScanActivityRequest, context: Context
    ) -> threat_pb2.ScanActivity:
        return activity_message(await self._activity.activity(request.owner.org_id, request.scan_id))

    async def CountScanFindings(
        self, request: threat_pb2.CountScanFindingsRequest, context: Context
    ) -> threat_pb2.CountScanFindingsResponse:
        tallies = await self._scan_findings.of_scans(request.owner.org_id, list(request.scan_ids))
        return threat_pb2.CountScanFindingsResponse(counts=[count_message(tally) for tally in tallies])

    async def ListScanFindings(
        self, request: threat_pb2.ListScanFindingsRequest, context: Context
    ) -> threat_pb2.ScanFindings:
        """A scan with no tally (no finding yet, or another organisation's) has no findings."""
        found = await self._scan_findings.of_scans(request.owner.org_id, [request.scan_id])
        return findings_message(found[0] if found else Tally(request.scan_id))

    async def AnalyzeThreat(
        self, request: threat_pb2.AnalyzeThreatRequest, context: Context
    ) -> threat_pb2.ThreatAnalysis:
        return analysis_mappers.analysis_message(
            await self._analysis.analyze(analysis_mappers.analyze_request(request))
        )

    async def ListAnalyses(
        self, request: threat_pb2.ListAnalysesRequest, context: Context
    ) -> threat_pb2.ListAnalysesResponse:
        verdict = analysis_mappers.verdict_filter(request.verdict)
        page = await self._analysis.list(request.owner.org_id, request.page_size, request.page_token, verdict)
        return analysis_mappers.page_message(page)

    async def GetAnalysis(
        self, request: threat_pb2.GetAnalysisRequest, context: Context
    ) -> threat_pb2.ThreatAnalysis:
        return analysis_mappers.analysis_message(
            await self._analysis.get(request.owner.org_id, request.analysis_id)
        )

    async def ImportFeed(
        self, request: threat_pb2.ImportFeedRequest, context: Context
    ) -> threat_pb2.FeedImport:
        report = await self._feeds.import_under_feeds_dir(feed_kind(request.kind), request.path)
        await self._catalog.refresh()  # the import may have switched generation
        return import_message(report)

    async def GetFeedStatus(
        self, request: threat_pb2.GetFeedStatusRequest, context: Context
    ) -> threat_pb2.FeedStatus:
        return status_message(await self._feeds.status(), self._feeds.stale_days)

    async def ImportIntel(
        self, request: threat_pb2.ImportIntelRequest, context: Context
    ) -> threat_pb2.IntelImport:
        result = await self._intel.import_under_feeds_dir(request.kind, request.path, request.source)
        return intel_mappers.import_message(result)

    async def GetIntelStatus(
        self, request: threat_pb2.GetIntelStatusRequest, context: Context
    ) -> threat_pb2.IntelStatus:
        days = self._intel.stale_after.total_seconds() / 86400
        return intel_mappers.status_message(await self._intel.status(), days)

    async def AddIndicatorListEntry(
        self, request: threat_pb2.AddIndicatorListEntryRequest, context: Context
    ) -> threat_pb2.IndicatorListEntry:
        entry = await self._intel.add_entry(request.owner.org_id, request.list, request.value, request.note)
        return intel_mappers.entry_message(entry)

    async def ListIndicatorListEntries(
        self, request: threat_pb2.ListIndicatorListEntriesRequest, context: Context
    ) -> threat_pb2.ListIndicatorListEntriesResponse:
        return intel_mappers.entries_message(await self._intel.entries(request.owner.org_id, request.list))

    async def RemoveIndicatorListEntry(
        self, request: threat_pb2.RemoveIndicatorListEntryRequest, context: Context
    ) -> threat_pb2.IndicatorListEntry:
        removed = await self._intel.remove_entry(request.owner.org_id, request.entry_id)
        return intel_mappers.entry_message(removed)

    async def GetCatalogEntry(
        self, request: threat_pb2.GetCatalogEntryRequest, context: Context
    ) -> threat_pb2.CatalogEntry:
        return catalog_mappers.entry_message(await self._catalog.entry(request.cve_id))

    async def MatchCatalog(
        self, request: threat_pb2.MatchCatalogRequest, context: Context
    ) -> threat_pb2.CatalogMatches:
        result = await self._catalog.match(catalog_mappers.match_query(request))
        return catalog_mappers.matches_message(result, self._feeds.stale_days)
