"""threat-service's incident RPCs in memory, enough to check the gateway's side of them."""

from __future__ import annotations

import itertools

import grpc

from gateway.tests.stub_assets import StubAssets
from gateway.tests.stub_catalog import StubCatalog
from gateway.tests.stub_findings import StubScanFindings
from gateway.tests.stub_services import Call, StubAnalyses, StubService, rpc_error
from gateway.tests.stub_vulnerabilities import StubVulnerabilities
from rampart.threat.v1 import threat_pb2


class StubIncidents(StubService):
    """Incidents by id per organisation; closing an open incident is refused like the real one."""

    def __init__(self) -> None:
        super().__init__()
        self.incidents: dict[str, threat_pb2.Incident] = {}
        self.next_page_token = ""
        self._ids = itertools.count(1)

    def _own(self, owner_org: str, incident_id: str) -> threat_pb2.Incident:
        found = self.incidents.get(incident_id)
        if found is None or found.owner.org_id != owner_org:
            raise rpc_error(grpc.StatusCode.NOT_FOUND, "incident not found", "INCIDENT_NOT_FOUND")
        return found

    def CreateIncident(self, request: threat_pb2.CreateIncidentRequest, timeout: float) -> Call:
        def create() -> threat_pb2.Incident:
            incident = threat_pb2.Incident(
                incident_id=f"inc_{next(self._ids):04d}",
                owner=request.owner,
                title=request.title,
                severity=request.severity,
                description=request.description,
                affected_systems=request.affected_systems,
                status=threat_pb2.INCIDENT_STATUS_OPEN,
            )
            incident.triage.priority = "P2"
            self.incidents[incident.incident_id] = incident
            return incident

        return self._call("CreateIncident", request, create)

    def GetIncident(self, request: threat_pb2.GetIncidentRequest, timeout: float) -> Call:
        return self._call(
            "GetIncident", request, lambda: self._own(request.owner.org_id, request.incident_id)
        )

    def UpdateIncident(self, request: threat_pb2.UpdateIncidentRequest, timeout: float) -> Call:
        def update() -> threat_pb2.Incident:
            incident = self._own(request.owner.org_id, request.incident_id)
            if request.status == threat_pb2.INCIDENT_STATUS_CLOSED:
                raise rpc_error(
                    grpc.StatusCode.FAILED_PRECONDITION,
                    "an incident that is open cannot become closed",
                    "INCIDENT_TRANSITION_NOT_ALLOWED",
                    allowed=["triaged"],
                )
            if request.status:
                incident.status = request.status
            return incident

        return self._call("UpdateIncident", request, update)

    def AddIncidentComment(self, request: threat_pb2.AddIncidentCommentRequest, timeout: float) -> Call:
        def comment() -> threat_pb2.Incident:
            incident = self._own(request.owner.org_id, request.incident_id)
            incident.comments.add(comment_id="cmt_1", author=request.owner.user_id, body=request.body)
            return incident

        return self._call("AddIncidentComment", request, comment)

    def ListIncidents(self, request: threat_pb2.ListIncidentsRequest, timeout: float) -> Call:
        def listing() -> threat_pb2.ListIncidentsResponse:
            mine = [i for i in self.incidents.values() if i.owner.org_id == request.owner.org_id]
            return threat_pb2.ListIncidentsResponse(
                incidents=mine, total=len(mine), next_page_token=self.next_page_token
            )

        return self._call("ListIncidents", request, listing)


class StubIndicatorLists(StubService):
    """The organisations' allow/deny lists in memory, by entry id; another organisation's is not found."""

    def __init__(self) -> None:
        super().__init__()
        self.list_entries: dict[str, tuple[str, threat_pb2.IndicatorListEntry]] = {}
        self._entry_ids = itertools.count(1)

    def add_list_entry(self, org_id: str, entry: threat_pb2.IndicatorListEntry) -> None:
        self.list_entries[entry.entry_id] = (org_id, entry)

    def AddIndicatorListEntry(self, request: threat_pb2.AddIndicatorListEntryRequest, timeout: float) -> Call:
        def add() -> threat_pb2.IndicatorListEntry:
            if " " in request.value:
                raise rpc_error(
                    grpc.StatusCode.INVALID_ARGUMENT, "not a domain", "VALIDATION_ERROR", field="value"
                )
            entry = threat_pb2.IndicatorListEntry(
                entry_id=f"ile_{next(self._entry_ids):04d}",
                list=request.list,
                kind="domain",
                value=request.value.lower(),
                note=request.note,
            )
            self.add_list_entry(request.owner.org_id, entry)
            return entry

        return self._call("AddIndicatorListEntry", request, add)

    def ListIndicatorListEntries(
        self, request: threat_pb2.ListIndicatorListEntriesRequest, timeout: float
    ) -> Call:
        def listing() -> threat_pb2.ListIndicatorListEntriesResponse:
            own = [
                e
                for org, e in self.list_entries.values()
                if org == request.owner.org_id and request.list in ("", e.list)
            ]
            return threat_pb2.ListIndicatorListEntriesResponse(entries=own)

        return self._call("ListIndicatorListEntries", request, listing)

    def RemoveIndicatorListEntry(
        self, request: threat_pb2.RemoveIndicatorListEntryRequest, timeout: float
    ) -> Call:
        def remove() -> threat_pb2.IndicatorListEntry:
            org, entry = self.list_entries.get(request.entry_id, ("", threat_pb2.IndicatorListEntry()))
            if org != request.owner.org_id:
                raise rpc_error(grpc.StatusCode.NOT_FOUND, "no such list entry", "NOT_FOUND")
            del self.list_entries[request.entry_id]
            return entry

        return self._call("RemoveIndicatorListEntry", request, remove)


class StubThreat(
    StubIncidents,
    StubAnalyses,
    StubIndicatorLists,
    StubCatalog,
    StubVulnerabilities,
    StubScanFindings,
    StubAssets,
):
    """threat-service in memory: incidents, analyses, allow/deny lists, the vulnerability catalog,
    the vulnerability records, the scans' findings and the assets."""
