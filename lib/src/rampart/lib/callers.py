"""Who may call whom: the gRPC allow-list and the NATS permissions of each identity.

An identity is the common name of a process's certificate (``IDENTITIES`` below).
Every RPC of the five services acts on behalf of an organisation (it carries an ``owner``),
so the gateway may call them. A service calls another only for named read-only methods
(``GRPC_METHOD_CALLERS``), passing on the owner it was called with: ai-service reads the
caller's scans, findings, incidents and catalogue entries; report-service reads a scan, its
history and its findings for an export or a report, findings and scans for compliance posture,
asks the assistant for a report's narrative, and runs the payload analysis on evidence files.
Health and reflection answer any peer holding a certificate from the platform's CA.
"""

from __future__ import annotations

import re
from collections.abc import Mapping

from rampart.lib.catalogue import subjects

ANY_PEER = "*"
GATEWAY = "gateway"
# Every identity that holds a certificate. The gateway and the scan workers only call out;
# the five services also serve gRPC.
IDENTITIES = ("gateway", "auth", "scan", "threat", "ai", "report", "scan-worker")

GRPC_CALLERS: Mapping[str, frozenset[str]] = {
    "rampart.auth.v1.AuthService": frozenset({GATEWAY}),
    "rampart.scan.v1.ScanService": frozenset({GATEWAY}),
    "rampart.threat.v1.ThreatService": frozenset({GATEWAY}),
    "rampart.ai.v1.AiService": frozenset({GATEWAY}),
    "rampart.report.v1.ReportService": frozenset({GATEWAY}),
    "grpc.health.v1.Health": frozenset({ANY_PEER}),
    "grpc.reflection.v1alpha.ServerReflection": frozenset({ANY_PEER}),
    "grpc.reflection.v1.ServerReflection": frozenset({ANY_PEER}),
}


AI, REPORT = "ai", "report"
# Service-to-service calls, method by method (least privilege: reads only, never a change).
GRPC_METHOD_CALLERS: Mapping[str, frozenset[str]] = {
    "/rampart.scan.v1.ScanService/GetScan": frozenset({AI}),
    "/rampart.scan.v1.ScanService/GetScanResults": frozenset({AI, REPORT}),
    "/rampart.scan.v1.ScanService/ListScans": frozenset({AI, REPORT}),
    "/rampart.threat.v1.ThreatService/ListVulnerabilities": frozenset({AI, REPORT}),
    "/rampart.threat.v1.ThreatService/AnalyzeThreat": frozenset({REPORT}),  # evidence files
    "/rampart.threat.v1.ThreatService/GetVulnerability": frozenset({AI}),
    "/rampart.threat.v1.ThreatService/GetIncident": frozenset({AI}),
    "/rampart.threat.v1.ThreatService/GetCatalogEntry": frozenset({AI}),
    "/rampart.threat.v1.ThreatService/MatchCatalog": frozenset({AI}),
    "/rampart.ai.v1.AiService/GenerateReport": frozenset({REPORT}),  # executive narratives
    # change monitoring and diff reports (issue 13): a scan's diff, the findings of two scans,
    # the hosts of an asset for reports over assets and a period
    "/rampart.scan.v1.ScanService/DiffScans": frozenset({REPORT}),
    "/rampart.threat.v1.ThreatService/ListScanFindings": frozenset({REPORT}),
    "/rampart.threat.v1.ThreatService/GetAsset": frozenset({REPORT}),
}


def may_call(identity: str, method: str) -> bool:
    """Whether ``identity`` may call ``/package.Service/Method``; unknown services: nobody."""
    full = "/" + method.lstrip("/")
    service = full[1:].split("/", 1)[0]
    allowed = GRPC_CALLERS.get(service, frozenset()) | GRPC_METHOD_CALLERS.get(full, frozenset())
    return ANY_PEER in allowed or identity in allowed


# ---- NATS -------------------------------------------------------------------------------
# Streams each identity creates and updates at start (rampart.lib.events.STREAMS by name).
STREAM_OWNERS: Mapping[str, tuple[str, ...]] = {
    "auth": (subjects.AUTH_EVENTS_STREAM,),
    "scan": (subjects.SCAN_EVENTS_STREAM, subjects.SCAN_JOBS_STREAM),
    "threat": (subjects.INCIDENT_EVENTS_STREAM, subjects.THREAT_EVENTS_STREAM),
    "report": (
        subjects.COMPLIANCE_EVENTS_STREAM,
        subjects.WEBHOOK_EVENTS_STREAM,
        subjects.REPORT_JOBS_STREAM,
        subjects.REPORT_EVENTS_STREAM,
        subjects.CHANGE_EVENTS_STREAM,
    ),
}
# Durable consumers each identity pulls from: (stream, durable name).
DURABLES: Mapping[str, tuple[tuple[str, str], ...]] = {
    "scan-worker": ((subjects.SCAN_JOBS_STREAM, subjects.SCAN_WORKERS_DURABLE),),
    "threat": (
        (subjects.SCAN_EVENTS_STREAM, subjects.THREAT_SCAN_EVENTS_DURABLE),
        (subjects.SCAN_EVENTS_STREAM, subjects.THREAT_ASSET_EVENTS_DURABLE),
        (subjects.THREAT_EVENTS_STREAM, subjects.THREAT_ANALYSES_DURABLE),
    ),
    "report": (
        (subjects.SCAN_EVENTS_STREAM, subjects.REPORT_SCAN_EVENTS_DURABLE),
        (subjects.SCAN_EVENTS_STREAM, subjects.REPORT_WEBHOOK_SCAN_EVENTS_DURABLE),  # webhooks
        (subjects.INCIDENT_EVENTS_STREAM, subjects.REPORT_INCIDENT_EVENTS_DURABLE),  # webhooks
        (subjects.COMPLIANCE_EVENTS_STREAM, subjects.REPORT_WEBHOOK_COMPLIANCE_DURABLE),  # webhooks
        (subjects.SCAN_EVENTS_STREAM, subjects.REPORT_POSTURE_SCAN_EVENTS_DURABLE),  # compliance posture
        (subjects.REPORT_JOBS_STREAM, subjects.REPORT_WORKERS_DURABLE),  # report generation
        (subjects.SCAN_EVENTS_STREAM, subjects.REPORT_CHANGE_SCAN_EVENTS_DURABLE),  # scan.changed
        (subjects.CHANGE_EVENTS_STREAM, subjects.REPORT_WEBHOOK_CHANGE_DURABLE),  # webhooks
        (subjects.REPORT_EVENTS_STREAM, subjects.REPORT_WEBHOOK_REPORT_DURABLE),  # webhooks
    ),
}
# Plain subjects each identity publishes to and subscribes to.
PUBLISH: Mapping[str, tuple[str, ...]] = {
    "auth": (subjects.AUTH_EVENTS,),
    "scan": (subjects.SCAN_JOBS, subjects.SCAN_EVENTS, subjects.SCAN_CANCEL),
    "scan-worker": (subjects.SCAN_EVENTS, subjects.WORKER_HEARTBEAT),
    "threat": (
        subjects.INCIDENT_EVENTS,
        subjects.THREAT_EVENTS,
        subjects.SCAN_FINDINGS,  # the finding pipeline writes onto the scan's stream
        subjects.SCAN_FINDINGS_SETTLED,
    ),
    "report": (
        subjects.COMPLIANCE_EVENTS,
        subjects.WEBHOOK_EVENTS,
        subjects.REPORT_JOBS,
        subjects.REPORT_EVENTS,
        subjects.CHANGE_EVENTS,
    ),
}
SUBSCRIBE: Mapping[str, tuple[str, ...]] = {
    "gateway": (subjects.KEY_REVOKED_ANY, subjects.WORKER_HEARTBEAT),
    "scan-worker": (subjects.SCAN_CANCEL,),
}
JS = "$JS.API"


def publish_regex(identity: str) -> str:
    """A regex matching the plain subjects ``identity`` may publish (NATS wildcards)."""
    parts = []
    for pattern in PUBLISH.get(identity, ()):
        tokens = ["[^.]+" if t == "*" else ".+" if t == ">" else re.escape(t) for t in pattern.split(".")]
        parts.append(r"\.".join(tokens))
    return "^(" + "|".join(parts) + ")$" if parts else "^$"


def inbox_prefix(identity: str) -> str:
    """Each identity gets its own reply subjects, so no one reads another's replies.

    (rampart.lib.tls.TlsFiles.nats_options sets the same prefix on the client.)
    """
    return f"_INBOX.{identity}"


def nats_permissions(identity: str) -> dict[str, list[str]]:
    """The publish and subscribe allow-lists of one identity (anything else is denied)."""
    publish = [f"{JS}.INFO", *PUBLISH.get(identity, ())]
    for stream in STREAM_OWNERS.get(identity, ()):
        publish += [f"{JS}.STREAM.{verb}.{stream}" for verb in ("INFO", "CREATE", "UPDATE")]
    for stream, durable in DURABLES.get(identity, ()):
        publish += [
            f"{JS}.CONSUMER.INFO.{stream}.{durable}",
            f"{JS}.CONSUMER.CREATE.{stream}.{durable}.>",
            f"{JS}.CONSUMER.CREATE.{stream}.{durable}",
            f"{JS}.CONSUMER.DURABLE.CREATE.{stream}.{durable}",
            f"{JS}.CONSUMER.MSG.NEXT.{stream}.{durable}",
            f"$JS.ACK.{stream}.{durable}.>",
        ]
    if identity == GATEWAY:
        # Ordered (ephemeral) consumers on the scan and report events, one per live stream.
        for events in (subjects.SCAN_EVENTS_STREAM, subjects.REPORT_EVENTS_STREAM):
            publish += [f"{JS}.CONSUMER.CREATE.{events}", f"{JS}.CONSUMER.CREATE.{events}.>"]
            publish += [f"{JS}.CONSUMER.DELETE.{events}.>", f"$JS.FC.{events}.>"]
    subscribe = [f"{inbox_prefix(identity)}.>", *SUBSCRIBE.get(identity, ())]
    return {"publish": publish, "subscribe": subscribe}
