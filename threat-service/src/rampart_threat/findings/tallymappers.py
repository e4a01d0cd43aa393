"""Scan findings to protobuf: the counts of a page of scans and one scan's findings (the tally)."""

from __future__ import annotations

from rampart.threat.v1 import threat_pb2
from rampart_threat.findings.notices import notice
from rampart_threat.findings.tally import Tally


def count_message(tally: Tally) -> threat_pb2.ScanFindingCount:
    return threat_pb2.ScanFindingCount(
        scan_id=tally.scan_id,
        findings=len(tally.findings),
        by_severity=tally.by_severity(),
        settled=tally.settlement is not None,
    )


def findings_message(tally: Tally) -> threat_pb2.ScanFindings:
    return threat_pb2.ScanFindings(
        count=count_message(tally),
        findings=[notice(finding) for finding in tally.ordered()],
        resolved=tally.settlement.resolved if tally.settlement else 0,
    )
