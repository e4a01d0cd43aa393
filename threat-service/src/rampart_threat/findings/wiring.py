"""The finding pipeline as threat-service runs it: the source (rules + knowledge matcher) and the
ledger (the vulnerability records) it is given, the Mongo tally, the outbox. Without a source and a
ledger (unit tests of other parts) it finds nothing and says so: every scan still gets its
``findings_settled`` (0 findings)."""

from __future__ import annotations

from collections.abc import Sequence

from rampart.scan.v1 import scan_pb2
from rampart_threat.findings.model import Finding
from rampart_threat.findings.pipeline import EventOutbox, FindingPipeline, KevFindings, OpenFindingCounts
from rampart_threat.findings.ports import (
    Coverage,
    FindingLedger,
    FindingSource,
    ScanContext,
    Settlement,
    Sighting,
)
from rampart_threat.findings.tally import ScanTally


class NoFindingSource:
    """No source wired: no port yields a finding."""

    async def findings_for(self, context: ScanContext, port: scan_pb2.PortResult) -> Sequence[Finding]:
        return ()


class NoLedger:
    """No ledger wired: nothing can be recorded (no source yields anything), nothing is resolved."""

    async def record(self, finding: Finding) -> Sighting:
        raise RuntimeError("a finding without a ledger to record it in")

    async def record_many(self, findings: Sequence[Finding]) -> list[Sighting]:
        return [await self.record(finding) for finding in findings]

    async def settle(self, coverage: Coverage) -> Settlement:
        return Settlement(findings=len(coverage.seen), by_severity={}, resolved=0)


def finding_pipeline(
    tally: ScanTally,
    outbox: EventOutbox,
    source: FindingSource | None = None,
    ledger: FindingLedger | None = None,
    counts: OpenFindingCounts | None = None,
    kev: KevFindings | None = None,
) -> FindingPipeline:
    """``counts``: the asset inventory's open findings per host, recounted when a scan settles;
    ``kev``: told of each first sighting of a KEV-listed CVE (the incident rules)."""
    if (source is None) != (ledger is None):
        raise ValueError("a finding source needs a ledger, and a ledger a source")
    return FindingPipeline(
        source or NoFindingSource(), ledger or NoLedger(), tally, outbox, counts=counts, kev=kev
    )
