"""NATS entry points of the incident side: scan events feed the asset inventory; finished
analyses reach the incident rules."""

from __future__ import annotations

from google.protobuf.message import DecodeError
from nats.aio.msg import Msg

from rampart.lib.catalogue import subjects
from rampart.lib.events import THREAT_EVENTS, ConsumerSpec, Outcome, PoisonMessage
from rampart.lib.ids import from_timestamp, utcnow
from rampart.scan.v1 import scan_pb2
from rampart.threat.v1 import threat_pb2
from rampart_threat.incidents.mappers import verdict
from rampart_threat.incidents.repository import AssetRepository
from rampart_threat.incidents.rules import IncidentRules
from rampart_threat.incidents.triage import normalise_host

# Durable on THREAT_EVENTS; its NATS permissions are rampart.lib.callers.DURABLES["threat"].
ANALYSES_CONSUMER = ConsumerSpec(THREAT_EVENTS, subjects.THREAT_ANALYSES_DURABLE, subjects.ANALYSIS_COMPLETED)


class AssetRecorder:
    """Keeps the asset inventory from port events: a port seen open is set, one seen closed cleared."""

    def __init__(self, assets: AssetRepository) -> None:
        self._assets = assets

    async def __call__(self, event: scan_pb2.ScanEvent) -> None:
        if event.WhichOneof("payload") != "port" or not event.port.host or not event.owner.org_id:
            return
        port = event.port
        await self._assets.record_port(
            event.owner.org_id,
            normalise_host(port.host),
            port.port,
            port.state == scan_pb2.PORT_STATE_OPEN,
            event.scan_id,
            from_timestamp(event.occurred_at) or utcnow(),
        )


def decode_analysis(message: Msg) -> threat_pb2.AnalysisCompleted:
    event = threat_pb2.AnalysisCompleted()
    try:
        event.ParseFromString(message.data)
    except DecodeError as error:
        raise PoisonMessage(f"not an AnalysisCompleted: {error}") from error
    if not event.event_id or not event.owner.org_id:
        raise PoisonMessage("AnalysisCompleted without event id or organisation")
    return event


class AnalysisEventHandler:
    """Hands each finished analysis to the incident rules."""

    def __init__(self, rules: IncidentRules) -> None:
        self._rules = rules

    async def __call__(self, message: Msg) -> Outcome:
        return await self._rules.on_analysis(verdict(decode_analysis(message)))
