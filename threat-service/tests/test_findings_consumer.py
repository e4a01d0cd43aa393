"""threat-service's scan-event consumer, a fetch at a time: the port events between final events
applied together, each message acknowledged only once its writes are done; a failing batch falls
back to one message at a time, so only the failing one is retried."""

from __future__ import annotations

from collections.abc import Sequence
from dataclasses import dataclass, field
from types import SimpleNamespace
from typing import Any, cast

from pipeline_fakes import AT, Ledger, Outbox, RuleSource
from test_activity_service import FakeActivityRepository
from test_findings_pipeline import final_event, port_event

from rampart.scan.v1 import scan_pb2
from rampart_threat.consumers import SCAN_EVENTS_CONSUMER, ScanEventBatches, ScanEventHandler
from rampart_threat.findings.model import Finding
from rampart_threat.findings.pipeline import FindingPipeline
from rampart_threat.findings.ports import Sighting
from rampart_threat.findings.tally import InMemoryScanTally
from rampart_threat.service import ActivityService


@dataclass
class Message:
    """A fetched JetStream message: what the consumer did with it is kept."""

    data: bytes
    subject: str = "scan.events.x"
    headers: dict[str, str] = field(default_factory=dict)
    done: list[str] = field(default_factory=list)
    metadata: Any = field(default_factory=lambda: SimpleNamespace(num_delivered=1))

    async def ack(self) -> None:
        self.done.append("ack")

    async def nak(self, delay: float = 0) -> None:
        self.done.append("nak")

    async def term(self) -> None:
        self.done.append("term")


def message(event: scan_pb2.ScanEvent) -> Message:
    return Message(event.SerializeToString())


@dataclass
class CountingLedger(Ledger):
    """Counts the ledger's batches; fails every batch holding a finding on ``failing_port``."""

    batches: list[int] = field(default_factory=list)
    failing_port: int = 0

    async def record_many(self, findings: Sequence[Finding]) -> list[Sighting]:
        if any(f.port == self.failing_port for f in findings):
            raise ConnectionError("the store went away")
        self.batches.append(len(findings))
        return await super().record_many(findings)


def consumer(ledger: Ledger) -> tuple[ScanEventBatches, Outbox, InMemoryScanTally]:
    outbox, tally = Outbox(), InMemoryScanTally()
    pipeline = FindingPipeline(RuleSource(), ledger, tally, outbox, clock=lambda: AT)
    handler = ScanEventHandler(ActivityService(FakeActivityRepository()), findings=pipeline)
    return ScanEventBatches(cast(Any, None), SCAN_EVENTS_CONSUMER, handler), outbox, tally


async def test_a_fetch_is_applied_together_and_every_message_acknowledged_after_it() -> None:
    ledger = CountingLedger()
    batches, outbox, tally = consumer(ledger)
    ports = [port_event("scan_1", "10.0.0.5", p, "ssh" if p == 22 else "http") for p in (22, 80, 8080)]
    fetched = [*map(message, ports), message(final_event("scan_1", ports="1-9000"))]
    await batches.handle(cast(Any, fetched))
    assert [m.done for m in fetched] == [["ack"]] * 4
    assert ledger.batches == [4]  # the three port events' findings in one ledger batch
    kinds = [event.type for _, event in outbox.sent]
    assert kinds == [scan_pb2.SCAN_EVENT_TYPE_FINDING] * 4 + [scan_pb2.SCAN_EVENT_TYPE_FINDINGS_SETTLED]
    assert outbox.sent[-1][1].settled.findings == 4
    settled = await tally.tally("scan_1")
    assert (len(settled.findings), dict(settled.pending)) == (4, {})

    await batches.handle(cast(Any, [message(e) for _, e in outbox.sent]))  # its own events come back
    assert len(outbox.sent) == 5


async def test_a_failing_batch_is_retried_one_message_at_a_time_and_only_the_failing_one_waits() -> None:
    ledger = CountingLedger(failing_port=6379)
    batches, outbox, _ = consumer(ledger)
    events = [port_event("scan_1", "10.0.0.5", p, s) for p, s in ((22, "ssh"), (6379, "redis"), (80, "http"))]
    fetched = list(map(message, events))
    await batches.handle(cast(Any, fetched))
    assert [m.done for m in fetched] == [["ack"], ["nak"], ["ack"]]
    assert {event.finding.port for _, event in outbox.sent} == {22, 80}


async def test_an_undecodable_message_is_dropped_and_the_others_applied() -> None:
    batches, outbox, _ = consumer(CountingLedger())
    fetched = [
        message(port_event("scan_1", "10.0.0.5", 22, "ssh")),
        Message(b"\xff\xff"),
        message(port_event("scan_1", "10.0.0.5", 80, "http")),
    ]
    await batches.handle(cast(Any, fetched))
    assert [m.done for m in fetched] == [["ack"], ["term"], ["ack"]]
    assert len(outbox.sent) == 3
