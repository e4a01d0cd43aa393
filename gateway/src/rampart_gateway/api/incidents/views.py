"""Incident messages as public JSON."""

from __future__ import annotations

from typing import Any

from rampart.common.v1 import common_pb2
from rampart.threat.v1 import threat_pb2
from rampart_gateway.envelope import when

STATUS = {
    value: name.removeprefix("INCIDENT_STATUS_").lower() for name, value in threat_pb2.IncidentStatus.items()
}
SEVERITY = {value: name.removeprefix("SEVERITY_").lower() for name, value in common_pb2.Severity.items()}
CHANGE = {
    value: name.removeprefix("INCIDENT_CHANGE_KIND_").lower()
    for name, value in threat_pb2.IncidentChangeKind.items()
}


def incident(message: threat_pb2.Incident) -> dict[str, Any]:
    triage = message.triage
    return {
        "incident_id": message.incident_id,
        "title": message.title,
        "severity": SEVERITY[message.severity],
        "status": STATUS[message.status],
        "description": message.description,
        "affected_systems": list(message.affected_systems),
        "related_findings": list(message.related_findings),
        "related_analyses": list(message.related_analyses),
        "assignee": message.assignee,
        "rule_id": message.rule_id,
        "created_by": message.owner.user_id,
        "created_at": when(message.created_at),
        "updated_at": when(message.updated_at),
        "triage": {
            "linked_assets": [
                {
                    "asset_id": a.asset_id,
                    "host": a.host,
                    "open_ports": list(a.open_ports),
                    "last_scan_id": a.last_scan_id,
                    "last_seen": when(a.last_seen),
                    "matched": a.matched,
                }
                for a in triage.assets
            ],
            "unresolved_systems": list(triage.unresolved_systems),
            "priority": triage.priority,
            "due_at": when(triage.due_at),
            "next_steps": list(triage.next_steps),
            "notes": list(triage.notes),
        },
        "comments": [
            {"comment_id": c.comment_id, "author": c.author, "body": c.body, "created_at": when(c.created_at)}
            for c in message.comments
        ],
        "timeline": [
            {
                "kind": CHANGE[e.kind],
                "actor": e.actor,
                "from_value": e.from_value,
                "to_value": e.to_value,
                "reason": e.reason,
                "at": when(e.at),
            }
            for e in message.timeline
        ],
    }


def page(reply: threat_pb2.ListIncidentsResponse, per_page: int) -> dict[str, Any]:
    return {
        "items": [incident(item) for item in reply.incidents],
        "total": reply.total,
        "per_page": per_page,
        "next_cursor": reply.next_page_token or None,
    }
