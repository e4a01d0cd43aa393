"""Decoding scan events taken from JetStream, shared by every consumer of them."""

from __future__ import annotations

from google.protobuf.message import DecodeError
from nats.aio.msg import Msg

from rampart.lib.catalogue import subjects
from rampart.lib.events import SCAN_EVENTS, ConsumerSpec, PoisonMessage
from rampart.scan.v1 import scan_pb2

# threat-service's findings of a scan, on the scan's stream beside the scan's own events.
FINDING_EVENTS = frozenset({scan_pb2.SCAN_EVENT_TYPE_FINDING, scan_pb2.SCAN_EVENT_TYPE_FINDINGS_SETTLED})


def decode_scan_event(message: Msg) -> scan_pb2.ScanEvent:
    event = scan_pb2.ScanEvent()
    try:
        event.ParseFromString(message.data)
    except DecodeError as error:
        raise PoisonMessage(f"undecodable scan event: {error}") from error
    if not event.event_id or not event.scan_id or not event.owner.org_id:
        raise PoisonMessage("scan event lacks event_id, scan_id or owner")
    return event


def event_type_name(event: scan_pb2.ScanEvent) -> str:
    """``SCAN_EVENT_TYPE_PORT_FOUND`` -> ``port_found``."""
    return scan_pb2.ScanEventType.Name(event.type).removeprefix("SCAN_EVENT_TYPE_").lower()


def scan_events_consumer(durable: str) -> ConsumerSpec:
    return ConsumerSpec(SCAN_EVENTS, durable=durable, filter_subject=subjects.SCAN_EVENTS)
