"""A scan's stream with threat-service's findings on it: rendered, followed past the scan's end, resumed."""

from __future__ import annotations

import asyncio
from types import SimpleNamespace
from typing import Any

from nats.js.api import ConsumerConfig

from gateway.tests.fake_stream import DONE, Subscription, event, finding, stream_broker
from rampart.scan.v1 import scan_pb2
from rampart_gateway.api.scans.events import StreamEvent, scan_events

SERVICE = event(
    scan_pb2.SCAN_EVENT_TYPE_SERVICE_DETECTED,
    port=scan_pb2.PortResult(host="127.0.0.1", port=22, protocol="tcp", state=scan_pb2.PORT_STATE_OPEN),
)
COMPLETE = event(scan_pb2.SCAN_EVENT_TYPE_COMPLETED, status=DONE)
SETTLED = event(
    scan_pb2.SCAN_EVENT_TYPE_FINDINGS_SETTLED,
    status=DONE,
    settled=scan_pb2.FindingsSettled(findings=2, by_severity={"high": 1, "medium": 1}, resolved=1),
)
# A finding may reach the stream before or after the scan's own final event.
HISTORY = [
    SERVICE,
    finding(22, "high", cve="CVE-2024-6387"),
    COMPLETE,
    finding(80, "medium", rule="RMP-HTTP-003"),
    SETTLED,
]


async def read(
    history: list[scan_pb2.ScanEvent], after: int | None = None, grace: float = 5.0
) -> list[StreamEvent]:
    scan = scan_pb2.Scan(scan_id="scn_1", status=DONE)
    async with asyncio.timeout(10):
        return [
            e async for e in scan_events(stream_broker({"scn_1": history}), scan, after, findings_grace=grace)
        ]


async def test_findings_are_streamed_as_finding_events_and_the_stream_ends_when_they_settle() -> None:
    events = await read(HISTORY)
    assert [(e.id, e.name) for e in events] == [
        (41, "service_detected"),
        (42, "finding"),
        (43, "complete"),
        (44, "finding"),
        (45, "findings_settled"),
    ]
    assert events[1].data["finding"] == {
        "vulnerability_id": "vuln_22",
        "fingerprint": "fp22-CVE-2024-6387",
        "type": "vulnerable_service",
        "severity": "high",
        "title": "t",
        "host": "127.0.0.1",
        "port": 22,
        "protocol": "tcp",
        "cve": "CVE-2024-6387",
        "rule_id": None,
        "status": "open",
        "first_sighting": True,
        "confidence": "confirmed",
        "priority": "attend",
    }
    assert events[3].data["finding"]["rule_id"] == "RMP-HTTP-003"
    assert events[4].data == {
        "scan_id": "scn_1",
        "at": None,
        "findings": 2,
        "by_severity": {"high": 1, "medium": 1},
        "resolved": 1,
    }


async def test_a_resume_after_a_finding_gets_exactly_what_followed_it() -> None:
    events = await read(HISTORY, after=42)
    assert [(e.id, e.name) for e in events] == [(43, "complete"), (44, "finding"), (45, "findings_settled")]


async def test_without_threat_service_the_stream_ends_a_grace_after_the_scans_end() -> None:
    """Nothing settles the findings: the stream still ends, with the scan's own final event last."""
    events = await read([SERVICE, COMPLETE], grace=0.05)
    assert [e.name for e in events] == ["service_detected", "complete"]


async def test_no_grace_ends_the_stream_at_the_scans_final_event() -> None:
    events = await read(HISTORY, grace=0)
    assert [e.name for e in events] == ["service_detected", "finding", "complete"]


def trickle_broker(at_once: list[scan_pb2.ScanEvent], then: list[scan_pb2.ScanEvent], gap: float) -> Any:
    """The scan's events up to its end at once, then ``then`` one every ``gap`` seconds (threat-service
    still working through a large scan's findings after its ``complete``)."""

    async def subscribe(subject: str, cb: Any, config: ConsumerConfig, **_: Any) -> Subscription:
        async def deliver() -> None:
            for sequence, item in enumerate([*at_once, *then], start=1):
                if sequence > len(at_once):
                    await asyncio.sleep(gap)
                meta = SimpleNamespace(sequence=SimpleNamespace(stream=sequence))
                await cb(SimpleNamespace(data=item.SerializeToString(), metadata=meta))

        asyncio.get_running_loop().create_task(deliver())
        return Subscription()

    nc = SimpleNamespace(is_connected=True, jetstream=lambda: SimpleNamespace(subscribe=subscribe))
    return SimpleNamespace(nc=nc, live_workers=list)


async def test_findings_still_coming_after_the_scans_end_keep_the_stream_open_until_they_settle() -> None:
    """40 findings after ``complete``, one every 0.05 s: together longer than the grace (0.5 s), each
    well within it; the client sees every one, then findings_settled."""
    late = [finding(1000 + n, "medium", rule="RMP-HTTP-004") for n in range(40)]
    broker = trickle_broker([SERVICE, COMPLETE], [*late, SETTLED], gap=0.05)
    scan = scan_pb2.Scan(scan_id="scn_1", status=DONE)
    async with asyncio.timeout(30):
        events = [e async for e in scan_events(broker, scan, None, findings_grace=0.5, findings_max_wait=60)]
    assert [e.name for e in events] == ["service_detected", "complete", *["finding"] * 40, "findings_settled"]
    assert [e.data["finding"]["port"] for e in events[2:-1]] == [1000 + n for n in range(40)]


async def test_findings_that_never_settle_end_the_stream_at_the_longest_wait() -> None:
    """threat-service far behind: findings keep coming, but the stream ends findings_max_wait after the
    scan's end (the client resumes with Last-Event-ID for the rest); the final event is still there."""
    endless = [finding(2000 + n, "low", rule="RMP-HTTP-004") for n in range(300)]  # 3 s of them
    broker = trickle_broker([SERVICE, COMPLETE], endless, gap=0.01)
    scan = scan_pb2.Scan(scan_id="scn_1", status=DONE)
    async with asyncio.timeout(30):
        events = [e async for e in scan_events(broker, scan, None, findings_grace=0.5, findings_max_wait=1.0)]
    assert [e.name for e in events[:2]] == ["service_detected", "complete"]
    assert {e.name for e in events[2:]} == {"finding"}
    assert len(events) < 2 + len(endless)
