"""threat-service's vulnerability RPCs in memory, enough to check the gateway's side of them."""

from __future__ import annotations

import grpc

from gateway.tests.stub_catalog import regresshion
from gateway.tests.stub_services import Call, StubService, rpc_error
from rampart.common.v1 import common_pb2
from rampart.threat.v1 import threat_pb2

RECORD_ID = "vuln_" + "a" * 32


def sample(record_id: str = RECORD_ID, org: str = "org_1", test: bool = False) -> threat_pb2.Vulnerability:
    """An OpenSSH record as threat-service answers GetVulnerability: evidence, sightings, history, CVE."""
    mode = common_pb2.KEY_MODE_TEST if test else common_pb2.KEY_MODE_LIVE
    record = threat_pb2.Vulnerability(
        vulnerability_id=record_id,
        owner=common_pb2.Owner(org_id=org, mode=mode),
        fingerprint=record_id.removeprefix("vuln_"),
        type=threat_pb2.VULNERABILITY_TYPE_VULNERABLE_SERVICE,
        host="10.0.0.5",
        port=22,
        protocol="tcp",
        cve="CVE-2024-6387",
        title="regreSSHion",
        remediation="upgrade OpenSSH",
        severity=common_pb2.SEVERITY_HIGH,
        cvss_score=8.1,
        cwe=["CWE-362"],
        references=["https://www.qualys.com/regresshion.txt"],
        evidence={"service.version": "9.2p1"},
        confidence="tentative",
        epss=0.99506,
        priority="attend",
        status=threat_pb2.VULNERABILITY_STATUS_OPEN,
        first_scan_id="scan_1",
        last_scan_id="scan_2",
        sightings_total=2,
        sightings=[
            threat_pb2.VulnerabilitySighting(scan_id="scan_2"),
            threat_pb2.VulnerabilitySighting(scan_id="scan_1"),
        ],
        history=[
            threat_pb2.VulnerabilityChange(
                kind=threat_pb2.VULNERABILITY_CHANGE_KIND_CREATED,
                actor="rampart",
                to_value="open",
                scan_id="scan_1",
            )
        ],
        cve_details=regresshion(),
    )
    record.first_seen.FromSeconds(1_772_355_600)
    record.last_seen.FromSeconds(1_772_442_000)
    return record


class StubVulnerabilities(StubService):
    """Records by id; another organisation's or the other world's is not found; a false positive
    can only go back to open, like the real lifecycle."""

    def __init__(self) -> None:
        super().__init__()
        self.vulnerabilities: dict[str, threat_pb2.Vulnerability] = {}
        self.vulnerability_page = common_pb2.PageInfo()

    def _record(self, owner: common_pb2.Owner, record_id: str) -> threat_pb2.Vulnerability:
        found = self.vulnerabilities.get(record_id)
        if found is None or found.owner.org_id != owner.org_id or found.owner.mode != owner.mode:
            raise rpc_error(
                grpc.StatusCode.NOT_FOUND,
                "vulnerability not found",
                "VULNERABILITY_NOT_FOUND",
                vulnerability_id=record_id,
            )
        return found

    def ListVulnerabilities(self, request: threat_pb2.ListVulnerabilitiesRequest, timeout: float) -> Call:
        def listing() -> threat_pb2.ListVulnerabilitiesResponse:
            own = [
                v
                for v in self.vulnerabilities.values()
                if v.owner.org_id == request.owner.org_id and v.owner.mode == request.owner.mode
            ]
            summaries = []
            for v in own:
                summary = threat_pb2.Vulnerability()
                summary.CopyFrom(v)
                for name in ("sightings", "history", "cve_details"):
                    summary.ClearField(name)
                summaries.append(summary)
            return threat_pb2.ListVulnerabilitiesResponse(
                vulnerabilities=summaries, page=self.vulnerability_page
            )

        return self._call("ListVulnerabilities", request, listing)

    def GetVulnerability(self, request: threat_pb2.GetVulnerabilityRequest, timeout: float) -> Call:
        return self._call(
            "GetVulnerability", request, lambda: self._record(request.owner, request.vulnerability_id)
        )

    def UpdateVulnerability(self, request: threat_pb2.UpdateVulnerabilityRequest, timeout: float) -> Call:
        def update() -> threat_pb2.Vulnerability:
            record = self._record(request.owner, request.vulnerability_id)
            if (
                record.status == threat_pb2.VULNERABILITY_STATUS_FALSE_POSITIVE
                and request.status != threat_pb2.VULNERABILITY_STATUS_OPEN
            ):
                raise rpc_error(
                    grpc.StatusCode.FAILED_PRECONDITION,
                    "a vulnerability that is false_positive cannot become that",
                    "VULNERABILITY_TRANSITION_NOT_ALLOWED",
                    allowed=["open"],
                )
            if request.status:
                record.status = request.status
            if request.HasField("assignee"):
                record.assignee = request.assignee
            return record

        return self._call("UpdateVulnerability", request, update)
