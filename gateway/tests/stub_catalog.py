"""threat-service's catalog RPCs in memory: entries by CVE id, matches by CPE or product."""

from __future__ import annotations

import grpc

from gateway.tests.stub_services import Call, StubService, rpc_error
from rampart.threat.v1 import threat_pb2

SSH_CPE = "cpe:2.3:a:openbsd:openssh:9.2:p1:*:*:*:*:*:*"


def regresshion() -> threat_pb2.CatalogEntry:
    score = threat_pb2.CvssScore(
        version="3.1",
        vector="CVSS:3.1/AV:N/AC:H/PR:N/UI:N/S:U/C:H/I:H/A:H",
        base_score=8.1,
        base_severity="HIGH",
        source="nvd@nist.gov",
        type="Primary",
        origin="nvd",
    )
    return threat_pb2.CatalogEntry(
        cve_id="CVE-2024-6387",
        description="A signal handler race condition was found in OpenSSH's server (sshd)",
        chosen=score,
        scores=[score],
        weaknesses=[threat_pb2.CatalogWeakness(cwe_id="CWE-362", name="Race Condition", origin="nvd")],
        epss=threat_pb2.EpssInfo(score=0.99506, percentile=0.99944, date="2026-09-29"),
        affected=[
            threat_pb2.AffectedRange(
                origin="nvd",
                criteria="cpe:2.3:a:openbsd:openssh:*:*:*:*:*:*:*:*",
                vulnerable=True,
                start_including="8.6",
                end_excluding="9.8",
            )
        ],
        provenance=[
            threat_pb2.CatalogProvenance(
                source="nvd", import_id="imp_1", modified="2024-07-01", feed=threat_pb2.FEED_KIND_STARTER
            )
        ],
        priority=threat_pb2.CatalogPriority(priority="attend", exploitation="poc"),
    )


class StubCatalog(StubService):
    """One entry (CVE-2024-6387) answering OpenSSH 9.2p1; anything else is unknown."""

    def __init__(self) -> None:
        super().__init__()
        self.entries = {"CVE-2024-6387": regresshion()}

    def GetCatalogEntry(self, request: threat_pb2.GetCatalogEntryRequest, timeout: float) -> Call:
        def get() -> threat_pb2.CatalogEntry:
            if request.cve_id not in self.entries:
                raise rpc_error(grpc.StatusCode.NOT_FOUND, "not in the knowledge base", "VULN_NOT_FOUND")
            return self.entries[request.cve_id]

        return self._call("GetCatalogEntry", request, get)

    def MatchCatalog(self, request: threat_pb2.MatchCatalogRequest, timeout: float) -> Call:
        def match() -> threat_pb2.CatalogMatches:
            reply = threat_pb2.CatalogMatches(stale_after_days=8.0)
            reply.sources.add(kind=threat_pb2.FEED_KIND_STARTER, records=22, stale=True)
            ssh = request.cpe == SSH_CPE or (
                request.product.lower() == "openssh" and request.version == "9.2p1"
            )
            if ssh:
                entry = self.entries["CVE-2024-6387"]
                reply.product_key = "openbsd:openssh"
                reply.matches.add(
                    cve_id=entry.cve_id,
                    verdict="affected",
                    basis="nvd_configurations",
                    reason="9.2 in >=8.6 <9.8",
                    confidence="high",
                    confirmed=True,
                    matched_range=entry.affected[0],
                    severity=entry.chosen,
                    priority=entry.priority,
                    epss=entry.epss,
                )
            return reply

        return self._call("MatchCatalog", request, match)

    def GetFeedStatus(self, request: threat_pb2.GetFeedStatusRequest, timeout: float) -> Call:
        def status() -> threat_pb2.FeedStatus:
            reply = threat_pb2.FeedStatus(stale_after_days=8.0)
            reply.sources.add(
                kind=threat_pb2.FEED_KIND_STARTER, records=22, last_import_id="imp_1", stale=True
            )
            return reply

        return self._call("GetFeedStatus", request, status)
