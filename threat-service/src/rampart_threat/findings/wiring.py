"""The finding pipeline as threat-service runs it: the real source and ledger, the Mongo tally, the outbox."""

from __future__ import annotations

from rampart_threat.findings.pipeline import EventOutbox, FindingPipeline
from rampart_threat.findings.ports import FindingLedger, FindingSource
from rampart_threat.findings.tally import ScanTally


def finding_pipeline(
    tally: ScanTally,
    outbox: EventOutbox,
    source: FindingSource | None,
    ledger: FindingLedger | None,
) -> FindingPipeline | None:
    """None (no findings, no finding events; the gateway's streams end after their grace) until both
    the source (rules and knowledge matcher) and the ledger (vulnerability records) are given."""
    if source is None or ledger is None:
        return None
    return FindingPipeline(source, ledger, tally, outbox)
