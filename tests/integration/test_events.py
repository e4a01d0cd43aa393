"""The scan event path: scan-service publishes, threat- and report-service consume.

Every consumer must be durable (nothing lost while it is down) and idempotent (an event
delivered twice is applied once), and an event accepted while the broker is down must be
delivered once it is back.
"""

from __future__ import annotations

import json
from collections.abc import Callable

import grpc
import nats
import pytest

from rampart.common.v1 import common_pb2
from rampart.lib.errors import error_from_metadata
from rampart.lib.ids import new_id, to_timestamp, utcnow
from rampart.report.v1 import report_pb2, report_pb2_grpc
from rampart.scan.v1 import scan_pb2, scan_pb2_grpc
from rampart.threat.v1 import threat_pb2, threat_pb2_grpc
from rampart_devtools.devstack import DevStack
from tests.integration.conftest import eventually, new_owner

Channels = Callable[[str], grpc.aio.Channel]


async def create_scan(channel_to: Channels, owner: common_pb2.Owner) -> scan_pb2.Scan:
    stub = scan_pb2_grpc.ScanServiceStub(channel_to("scan"))
    request = scan_pb2.CreateScanRequest(owner=owner, targets=["127.0.0.1"], ports="1-20")
    return await stub.CreateScan(request, timeout=10)


def timeline(channel_to: Channels, owner: common_pb2.Owner, scan_id: str):  # type: ignore[no-untyped-def]
    stub = report_pb2_grpc.ReportServiceStub(channel_to("report"))
    return lambda: stub.GetScanTimeline(
        report_pb2.GetScanTimelineRequest(owner=owner, scan_id=scan_id), timeout=5
    )


def activity(channel_to: Channels, owner: common_pb2.Owner, scan_id: str):  # type: ignore[no-untyped-def]
    stub = threat_pb2_grpc.ThreatServiceStub(channel_to("threat"))
    return lambda: stub.GetScanActivity(
        threat_pb2.GetScanActivityRequest(owner=owner, scan_id=scan_id), timeout=5
    )


def finished(kinds: list[str]) -> bool:
    return "completed" in kinds


async def test_scan_lifecycle_events_reach_both_consumers(channel_to: Channels) -> None:
    owner = new_owner("life")
    scan = await create_scan(channel_to, owner)
    assert scan.status == scan_pb2.SCAN_STATUS_QUEUED
    seen = await eventually(
        activity(channel_to, owner, scan.scan_id), lambda a: finished(list(a.event_types))
    )
    assert list(seen.event_types)[:2] == ["queued", "started"]
    assert seen.last_status == "completed"
    assert seen.events_applied == len(seen.event_types) == len(set(seen.event_types))
    entries = await eventually(
        timeline(channel_to, owner, scan.scan_id), lambda t: finished([e.type for e in t.entries])
    )
    kinds = [e.type for e in entries.entries]
    assert kinds[0] == "queued"
    assert kinds[-1] == "completed"
    assert [e.sequence for e in entries.entries] == sorted(e.sequence for e in entries.entries)


async def test_another_tenant_sees_nothing(channel_to: Channels) -> None:
    owner, stranger = new_owner("own"), new_owner("other")
    scan = await create_scan(channel_to, owner)
    await eventually(timeline(channel_to, owner, scan.scan_id), lambda t: len(t.entries) >= 1)
    stub = scan_pb2_grpc.ScanServiceStub(channel_to("scan"))
    with pytest.raises(grpc.aio.AioRpcError) as refused:
        await stub.GetScan(scan_pb2.GetScanRequest(owner=stranger, scan_id=scan.scan_id))
    assert refused.value.code() == grpc.StatusCode.NOT_FOUND
    assert error_from_metadata(tuple(refused.value.trailing_metadata()))[0] == "SCAN_NOT_FOUND"
    theirs = await timeline(channel_to, stranger, scan.scan_id)()
    assert list(theirs.entries) == []


async def test_event_published_while_consumer_is_down_is_processed_after_restart(
    healthy: DevStack, channel_to: Channels
) -> None:
    owner = new_owner("down")
    healthy.stop("report")
    scan = await create_scan(channel_to, owner)
    # threat-service saw the whole scan, so it was all published while report-service was away.
    seen = await eventually(
        activity(channel_to, owner, scan.scan_id), lambda a: finished(list(a.event_types))
    )
    healthy.start("report")
    entries = await eventually(
        timeline(channel_to, owner, scan.scan_id), lambda t: finished([e.type for e in t.entries])
    )
    assert sorted(e.type for e in entries.entries) == sorted(seen.event_types)
    assert entries.entries[0].event_id == f"{scan.scan_id}.queued"


async def test_event_accepted_while_broker_is_down_is_delivered_when_it_returns(
    healthy: DevStack, channel_to: Channels
) -> None:
    owner = new_owner("broker")
    healthy.stop("nats")
    scan = await create_scan(channel_to, owner)  # accepted: stored with its event and its job
    assert scan.status == scan_pb2.SCAN_STATUS_QUEUED
    healthy.start("nats")
    entries = await eventually(
        timeline(channel_to, owner, scan.scan_id),
        lambda t: finished([e.type for e in t.entries]),
        deadline=40,
    )
    assert entries.entries[0].type == "queued"
    seen = await eventually(
        activity(channel_to, owner, scan.scan_id), lambda a: finished(list(a.event_types))
    )
    assert seen.last_status == "completed"


async def test_a_scan_running_while_the_broker_restarts_completes_and_its_end_is_delivered(
    healthy: DevStack, channel_to: Channels
) -> None:
    # Paced at 2 probes/s, the scan is still running when the broker goes away and comes back:
    # its live events meet the outage and the reconnect, and it must still end, once.
    owner = new_owner("midscan")
    stub = scan_pb2_grpc.ScanServiceStub(channel_to("scan"))
    request = scan_pb2.CreateScanRequest(owner=owner, targets=["127.0.0.1"], ports="1-16", rate=2)
    scan = await stub.CreateScan(request, timeout=10)
    await eventually(activity(channel_to, owner, scan.scan_id), lambda a: "started" in a.event_types)
    healthy.stop("nats")
    healthy.start("nats")
    seen = await eventually(
        activity(channel_to, owner, scan.scan_id), lambda a: finished(list(a.event_types)), deadline=60
    )
    assert seen.last_status == "completed"
    entries = await eventually(
        timeline(channel_to, owner, scan.scan_id),
        lambda t: finished([e.type for e in t.entries]),
        deadline=30,
    )
    kinds = [e.type for e in entries.entries]
    assert (kinds[0], kinds.count("started"), kinds.count("completed")) == ("queued", 1, 1)


def scan_event(owner: common_pb2.Owner, scan_id: str, sequence: int) -> scan_pb2.ScanEvent:
    return scan_pb2.ScanEvent(
        event_id=f"{scan_id}.{sequence}",
        scan_id=scan_id,
        owner=owner,
        type=scan_pb2.SCAN_EVENT_TYPE_QUEUED if sequence == 1 else scan_pb2.SCAN_EVENT_TYPE_CANCELLED,
        sequence=sequence,
        occurred_at=to_timestamp(utcnow()),
        status=scan_pb2.SCAN_STATUS_QUEUED if sequence == 1 else scan_pb2.SCAN_STATUS_CANCELLED,
    )


async def test_same_event_delivered_twice_is_applied_once(stack: DevStack, channel_to: Channels) -> None:
    owner, scan_id = new_owner("dup"), new_id("scan")
    subject = f"scan.events.{scan_id}.queued"
    first = scan_event(owner, scan_id, 1).SerializeToString()
    nc = await nats.connect(stack.nats_url, **stack.certs("scan").nats_options())
    try:
        js = nc.jetstream()
        # Different message ids get past the broker's de-duplication, as a redelivery
        # after a lost ack would: the consumers themselves must apply it once.
        await js.publish(subject, first, headers={"Nats-Msg-Id": "copy-a-" + scan_id})
        await js.publish(subject, first, headers={"Nats-Msg-Id": "copy-b-" + scan_id})
        # A third, distinct event shows the count can move: it was not simply stuck.
        second = scan_event(owner, scan_id, 2).SerializeToString()
        await js.publish(f"scan.events.{scan_id}.cancelled", second)
    finally:
        await nc.close()
    seen = await eventually(activity(channel_to, owner, scan_id), lambda a: a.events_applied >= 2)
    entries = await eventually(timeline(channel_to, owner, scan_id), lambda t: len(t.entries) >= 2)
    assert seen.events_applied == 2
    assert list(seen.event_types) == ["queued", "cancelled"]
    assert [e.sequence for e in entries.entries] == [1, 2]


async def test_broker_drops_a_republished_message_id(stack: DevStack) -> None:
    nc = await nats.connect(stack.nats_url, **stack.certs("scan").nats_options())
    try:
        js = nc.jetstream()
        msg_id = new_id("evt")
        subject = f"scan.events.{new_id('scan')}.queued"
        first = await js.publish(subject, b"x", headers={"Nats-Msg-Id": msg_id})
        again = await js.publish(subject, b"x", headers={"Nats-Msg-Id": msg_id})
    finally:
        await nc.close()
    assert first.duplicate is not True
    assert again.duplicate is True
    assert again.seq == first.seq


async def test_undecodable_event_does_not_block_the_ones_behind_it(
    stack: DevStack, channel_to: Channels
) -> None:
    owner, scan_id = new_owner("poison"), new_id("scan")
    nc = await nats.connect(stack.nats_url, **stack.certs("scan").nats_options())
    try:
        js = nc.jetstream()
        await js.publish(f"scan.events.{scan_id}.queued", b"\xff\xfe not a protobuf")
        await js.publish(f"scan.events.{scan_id}.queued", scan_event(owner, scan_id, 1).SerializeToString())
    finally:
        await nc.close()
    entries = await eventually(timeline(channel_to, owner, scan_id), lambda t: len(t.entries) == 1)
    assert entries.entries[0].sequence == 1


async def test_request_id_travels_from_the_call_to_every_consumer(
    stack: DevStack, channel_to: Channels
) -> None:
    owner, request_id = new_owner("trace"), new_id("req-trace")
    stub = scan_pb2_grpc.ScanServiceStub(channel_to("scan"))
    scan = await stub.CreateScan(
        scan_pb2.CreateScanRequest(owner=owner, targets=["127.0.0.1"]),
        metadata=[("x-request-id", request_id)],
        timeout=10,
    )
    await eventually(activity(channel_to, owner, scan.scan_id), lambda a: a.events_applied >= 1)
    await eventually(timeline(channel_to, owner, scan.scan_id), lambda t: len(t.entries) >= 1)
    for service in ("threat", "report"):
        handled = [
            json.loads(line)
            for line in stack.log_path(service).read_text().splitlines()
            if request_id in line
        ]
        assert any(
            entry["event"] == "event handled"
            and entry["request_id"] == request_id
            and scan.scan_id in entry["subject"]
            for entry in handled
        ), service
