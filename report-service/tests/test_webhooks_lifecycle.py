"""The delivery policy over a day, on a fake clock, against a real receiver on 127.0.0.1 that always
fails: retried with back-off for 24 hours, then the endpoint is switched off, the organisation hears
``webhook.disabled`` (broker and its other webhooks), and re-enabling clears it. Also the events
the broker now carries into webhooks: compliance.changed, scan.started, vulnerability.reopened /
resolved."""

from __future__ import annotations

import itertools
import json
from typing import Any, cast

import pytest
from nats.aio.msg import Msg
from timeline_fakes import FakeTimelineRepository
from webhook_fakes import FakeWebhookRepository, settings

from rampart.common.v1 import common_pb2
from rampart.lib.catalogue import subjects
from rampart.lib.errors import InvalidArgument
from rampart.lib.events import PoisonMessage
from rampart.report.v1 import report_pb2
from rampart.scan.v1 import scan_pb2
from rampart_report.bootstrap import assemble, webhook_parts
from rampart_report.webhooks.dispatcher import Dispatcher, RetrySchedule
from rampart_report.webhooks.domain import EVENT_TYPES, DeliveryStatus, WebhookEvent
from rampart_report.webhooks.service import Changes, WebhookService
from tests.webhook_receiver import Receiver, Reply, receiving

pytestmark = pytest.mark.timeout(60)
DAY = 24 * 3600.0
START = 1_800_000_000.0


class Clock:
    def __init__(self) -> None:
        self.now = START

    def __call__(self) -> float:
        return self.now


class Published:
    """The outbox's ``add`` as the notifier calls it."""

    def __init__(self) -> None:
        self.events: list[tuple[str, bytes, str]] = []

    async def __call__(self, subject: str, data: bytes, event_id: str) -> None:
        self.events.append((subject, data, event_id))


def day_rig(
    repository: FakeWebhookRepository, clock: Clock, published: Published
) -> tuple[WebhookService, Dispatcher]:
    """The production schedule and health policy (their defaults), a fast HTTP timeout."""
    return webhook_parts(
        settings(
            webhook_retry_base_seconds=30.0,
            webhook_retry_cap_seconds=4 * 3600.0,
            webhook_max_attempts=30,
            webhook_timeout_seconds=2.0,
        ),
        repository,
        publish=published,
        clock=clock,
    )


async def run_until_settled(
    repository: FakeWebhookRepository, dispatcher: Dispatcher, clock: Clock, webhook_id: str
) -> list[float]:
    """Attempt the webhook's due deliveries, jumping the clock to each next attempt; the attempt times."""
    times: list[float] = []
    for _ in range(100):
        (delivery,) = [d for d in repository.deliveries.values() if d.webhook_id == webhook_id]
        if delivery.status is not DeliveryStatus.PENDING:
            return times
        clock.now = max(clock.now, delivery.next_attempt_at)
        for claimed in await repository.claim_due(clock(), 60.0, 10):
            if claimed.webhook_id == webhook_id:
                times.append(clock())
                await dispatcher.attempt(claimed)
    pytest.fail("the delivery never settled")


def scan_completed(event_id: str) -> WebhookEvent:
    from datetime import UTC, datetime

    return WebhookEvent(event_id, "scan.completed", "org_a", datetime.fromtimestamp(START, UTC), {})


async def test_an_endpoint_that_always_fails_is_retried_for_24_hours_then_switched_off_and_announced() -> (
    None
):
    repository, clock, published = FakeWebhookRepository(), Clock(), Published()
    webhooks, dispatcher = day_rig(repository, clock, published)
    failing = Receiver()
    failing.default = Reply(503, b"down")
    with receiving(failing):
        hook = (await webhooks.create("org_a", "u", failing.url(), ("scan.completed",))).webhook
        watcher = (await webhooks.create("org_a", "u", failing.url("/ops"), ("webhook.disabled",))).webhook
        other_org = (await webhooks.create("org_b", "u", failing.url("/b"), ("webhook.disabled",))).webhook
        await webhooks.publish(scan_completed("evt_1"))
        times = await run_until_settled(repository, dispatcher, clock, hook.webhook_id)

    gaps = [b - a for a, b in itertools.pairwise(times)]
    assert 15 <= len(times) <= 21  # the documented schedule
    assert times[-1] - times[0] == DAY  # the last retry at the 24 h mark, none after
    assert 15.0 <= gaps[0] <= 30.0
    assert 30.0 <= gaps[1] <= 60.0
    assert max(gaps) <= 4 * 3600.0
    assert len(failing.received) == len(times)  # every attempt reached the receiver
    assert len({r.headers["X-Rampart-Delivery"] for r in failing.received if r.path == "/hook"}) == 1
    (delivery,) = [d for d in repository.deliveries.values() if d.webhook_id == hook.webhook_id]
    assert delivery.status is DeliveryStatus.FAILED

    off = await webhooks.get("org_a", hook.webhook_id)
    assert not off.enabled
    assert off.disabled_at == times[-1]
    assert "failed for 24.0 h" in off.disabled_reason
    # on the broker
    ((subject, data, event_id),) = published.events
    event = report_pb2.WebhookDisabled.FromString(data)
    assert subject == subjects.WEBHOOK_DISABLED
    assert (event.event_id, event.webhook_id, event.owner.org_id) == (event_id, hook.webhook_id, "org_a")
    assert event.reason == off.disabled_reason
    # to the organisation's webhook listening for it, not to another organisation's
    notices = [d for d in repository.deliveries.values() if d.event_type == "webhook.disabled"]
    assert [d.webhook_id for d in notices] == [watcher.webhook_id]
    assert json.loads(notices[0].body)["data"]["webhook_id"] == hook.webhook_id
    assert other_org.webhook_id not in {d.webhook_id for d in notices}
    # nothing more is queued for it while it is off
    await webhooks.publish(scan_completed("evt_2"))
    assert [d.event_id for d in repository.deliveries.values() if d.webhook_id == hook.webhook_id] == [
        "evt_1"
    ]

    # PATCH enabled=true: the flag, the reason and the failure count are cleared
    on = await webhooks.update("org_a", hook.webhook_id, Changes(enabled=True))
    assert (on.enabled, on.disabled_reason, on.disabled_at) == (True, "", 0.0)
    stored = await repository.get_webhook("org_a", hook.webhook_id)
    assert stored is not None
    assert (stored.failing_since, stored.failed_attempts) == (0.0, 0)
    await webhooks.publish(scan_completed("evt_3"))
    assert "evt_3" in {d.event_id for d in repository.deliveries.values() if d.webhook_id == hook.webhook_id}


async def test_one_success_within_the_day_keeps_the_endpoint_on() -> None:
    repository, clock, published = FakeWebhookRepository(), Clock(), Published()
    webhooks, dispatcher = day_rig(repository, clock, published)
    flaky = Receiver().then(*[Reply(500) for _ in range(12)])  # then answers 200
    with receiving(flaky):
        hook = (await webhooks.create("org_a", "u", flaky.url(), ("scan.completed",))).webhook
        await webhooks.publish(scan_completed("evt_1"))
        first = await run_until_settled(repository, dispatcher, clock, hook.webhook_id)
        flaky.default = Reply(503)
        await webhooks.publish(scan_completed("evt_2"))  # fails from now on, but not for 24 h yet
        clock.now += 1
        (second,) = [d for d in repository.deliveries.values() if d.event_id == "evt_2"]
        await dispatcher.attempt(second)
    assert len(first) == 13
    stored = await webhooks.get("org_a", hook.webhook_id)
    assert stored.enabled
    assert stored.disabled_reason == ""
    assert (stored.failing_since, stored.failed_attempts) == (clock.now, 1)  # counting again from now
    assert published.events == []


def test_the_schedule_ends_at_the_window_and_honours_retry_after_within_it() -> None:
    schedule = RetrySchedule(base_seconds=30, cap_seconds=4 * 3600, window_seconds=DAY, random=lambda: 0.0)
    assert schedule.next_at(1, first_at=0, now=0, retry_after=None) == 15.0
    assert schedule.next_at(1, first_at=0, now=0, retry_after=600) == 600.0
    assert schedule.next_at(12, first_at=0, now=DAY - 60, retry_after=None) == DAY
    assert schedule.next_at(13, first_at=0, now=DAY, retry_after=None) is None
    assert RetrySchedule(max_attempts=3).next_at(3, first_at=0, now=10, retry_after=None) is None


def message(data: bytes) -> Msg:
    return Msg(_client=cast(Any, None), data=data)


def scan_event(kind: int, event_id: str, **fields: Any) -> Msg:
    event = scan_pb2.ScanEvent(
        event_id=event_id,
        scan_id="scan_1",
        owner=common_pb2.Owner(org_id="org_a"),
        type=kind,  # type: ignore[arg-type]
        profile="standard",
        **fields,
    )
    return message(event.SerializeToString())


async def test_the_broker_events_webhooks_now_carry() -> None:
    repository = FakeWebhookRepository()
    parts = assemble(FakeTimelineRepository(), repository, settings())
    wanted = ("scan.started", "vulnerability.reopened", "vulnerability.resolved", "compliance.changed")
    await parts.webhooks.create("org_a", "u", "http://127.0.0.1:8080/h", wanted)
    notice = scan_pb2.FindingNotice(vulnerability_id="vuln_1", status="reopened", first_sighting=False)
    still_open = scan_pb2.FindingNotice(vulnerability_id="vuln_2", status="open", first_sighting=False)
    for msg in (
        scan_event(scan_pb2.SCAN_EVENT_TYPE_STARTED, "e_start", status=scan_pb2.SCAN_STATUS_RUNNING),
        scan_event(scan_pb2.SCAN_EVENT_TYPE_FINDING, "e_reopen", finding=notice),
        scan_event(scan_pb2.SCAN_EVENT_TYPE_FINDING, "e_seen", finding=still_open),
        scan_event(
            scan_pb2.SCAN_EVENT_TYPE_FINDINGS_SETTLED,
            "e_settled",
            settled=scan_pb2.FindingsSettled(findings=4, by_severity={"high": 1, "low": 3}, resolved=2),
        ),
        scan_event(
            scan_pb2.SCAN_EVENT_TYPE_FINDINGS_SETTLED,
            "e_nothing_fixed",
            settled=scan_pb2.FindingsSettled(findings=4, resolved=0),
        ),
    ):
        await parts.on_scan_event_for_webhooks(msg)
    changed = report_pb2.ComplianceChanged(
        event_id="cc_1",
        owner=common_pb2.Owner(org_id="org_a"),
        control_id="PCI-4.2.1",
        framework="pci_dss",
        control_name="Strong cryptography in transit",
        from_status=report_pb2.CONTROL_STATUS_PASSING,
        to_status=report_pb2.CONTROL_STATUS_FAILING,
        framework_score=0.75,
    )
    await parts.on_compliance_event(message(changed.SerializeToString()))
    bodies = {d.event_id: json.loads(d.body) for d in repository.deliveries.values()}
    assert set(bodies) == {"e_start", "e_reopen", "e_settled", "cc_1"}
    assert bodies["e_start"]["type"] == "scan.started"
    assert bodies["e_start"]["data"] == {"scan_id": "scan_1", "status": "running", "profile": "standard"}
    assert bodies["e_reopen"]["type"] == "vulnerability.reopened"
    assert bodies["e_reopen"]["data"]["vulnerability_id"] == "vuln_1"
    assert bodies["e_settled"]["type"] == "vulnerability.resolved"
    assert bodies["e_settled"]["data"] == {
        "scan_id": "scan_1",
        "resolved": 2,
        "findings": 4,
        "by_severity": {"high": 1, "low": 3},
    }
    assert bodies["cc_1"]["type"] == "compliance.changed"
    assert bodies["cc_1"]["organisation"] == "org_a"
    assert bodies["cc_1"]["data"] == {
        "control_id": "PCI-4.2.1",
        "control_name": "Strong cryptography in transit",
        "framework": "pci_dss",
        "from": "passing",
        "to": "failing",
        "framework_score": 0.75,
    }
    with pytest.raises(PoisonMessage):
        await parts.on_compliance_event(message(b"\xff\xff"))


async def test_the_catalogue_is_checked_at_create_and_change_and_report_events_are_subscribable() -> None:
    parts = assemble(FakeTimelineRepository(), FakeWebhookRepository(), settings())
    created = await parts.webhooks.create("org_a", "u", "http://127.0.0.1:8080/h", EVENT_TYPES)
    assert created.webhook.events == EVENT_TYPES
    wanted = ("scan.changed", "report.completed", "report.failed")
    subscribed = await parts.webhooks.create("org_a", "u", "http://127.0.0.1:8080/h", wanted)
    assert subscribed.webhook.events == wanted
    with pytest.raises(InvalidArgument, match="unknown event"):
        await parts.webhooks.create("org_a", "u", "http://127.0.0.1:8080/h", ("scan.exploded",))
