"""NATS entry point of the incident side: finished analyses reach the incident rules."""

from __future__ import annotations

from google.protobuf.message import DecodeError
from nats.aio.msg import Msg

from rampart.lib.catalogue import subjects
from rampart.lib.events import THREAT_EVENTS, ConsumerSpec, Outcome, PoisonMessage
from rampart.threat.v1 import threat_pb2
from rampart_threat.incidents.mappers import verdict
from rampart_threat.incidents.rules import IncidentRules

# Durable on THREAT_EVENTS; its NATS permissions are rampart.lib.callers.DURABLES["threat"].
ANALYSES_CONSUMER = ConsumerSpec(THREAT_EVENTS, subjects.THREAT_ANALYSES_DURABLE, subjects.ANALYSIS_COMPLETED)


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
