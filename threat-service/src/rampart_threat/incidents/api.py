"""The incident RPCs of ThreatService: decode, call the incident service, encode."""

from __future__ import annotations

from rampart.lib.grpcserver import Context
from rampart.threat.v1 import threat_pb2
from rampart_threat.incidents import mappers
from rampart_threat.incidents.service import IncidentService


class IncidentRpcs:
    """Mixed into ThreatServicer; ``_incidents`` is set by its constructor."""

    _incidents: IncidentService

    async def CreateIncident(
        self, request: threat_pb2.CreateIncidentRequest, context: Context
    ) -> threat_pb2.Incident:
        created = await self._incidents.create(mappers.actor(request.owner), mappers.draft(request))
        return mappers.incident_message(created)

    async def GetIncident(
        self, request: threat_pb2.GetIncidentRequest, context: Context
    ) -> threat_pb2.Incident:
        found = await self._incidents.get(mappers.actor(request.owner), request.incident_id)
        return mappers.incident_message(found)

    async def UpdateIncident(
        self, request: threat_pb2.UpdateIncidentRequest, context: Context
    ) -> threat_pb2.Incident:
        changed = await self._incidents.update(
            mappers.actor(request.owner), request.incident_id, mappers.update(request)
        )
        return mappers.incident_message(changed)

    async def AddIncidentComment(
        self, request: threat_pb2.AddIncidentCommentRequest, context: Context
    ) -> threat_pb2.Incident:
        changed = await self._incidents.comment(
            mappers.actor(request.owner), request.incident_id, request.body
        )
        return mappers.incident_message(changed)

    async def ListIncidents(
        self, request: threat_pb2.ListIncidentsRequest, context: Context
    ) -> threat_pb2.ListIncidentsResponse:
        page = await self._incidents.list(mappers.actor(request.owner), mappers.listing(request))
        return threat_pb2.ListIncidentsResponse(
            incidents=[mappers.incident_message(incident) for incident in page.incidents],
            next_page_token=page.next_page_token,
            total=page.total,
        )
