"""Webhook use cases on the in-memory repository: validation, tenancy, secrets, rotation, queuing."""

from __future__ import annotations

import json
from datetime import UTC, datetime
from typing import Any, cast

import pytest
from nats.aio.msg import Msg
from timeline_fakes import FakeTimelineRepository
from webhook_fakes import FakeWebhookRepository, settings

from rampart.common.v1 import common_pb2
from rampart.lib.errors import InvalidArgument
from rampart.lib.events import Outcome, PoisonMessage
from rampart.lib.ids import to_timestamp
from rampart.report.v1 import report_pb2
from rampart.scan.v1 import scan_pb2
from rampart.threat.v1 import threat_pb2
from rampart_report.bootstrap import Parts, assemble
from rampart_report.webhooks.dispatcher import RetrySchedule
from rampart_report.webhooks.domain import (
    DeliveryNotFound,
    UrlNotAllowed,
    WebhookEvent,
    WebhookNotFound,
    delivery_id_for,
)
from rampart_report.webhooks.secretbox import SecretBox, SecretKeyError, parse_key
from rampart_report.webhooks.service import Changes, WebhookService
from rampart_report.webhooks.urlguard import UrlPolicy

AT = datetime(2026, 1, 2, 3, 4, 5, tzinfo=UTC)
URL = "http://127.0.0.1:8080/hook"


class Clock:
    def __init__(self) -> None:
        self.now = 1_000_000.0

    def __call__(self) -> float:
        return self.now


@pytest.fixture
def repository() -> FakeWebhookRepository:
    return FakeWebhookRepository()


@pytest.fixture
def parts(repository: FakeWebhookRepository) -> Parts:
    return assemble(FakeTimelineRepository(), repository, settings())


@pytest.fixture
def service(parts: Parts) -> WebhookService:
    return parts.webhooks


def event(kind: str = "scan.completed", org: str = "org_a", event_id: str = "evt_1") -> WebhookEvent:
    return WebhookEvent(event_id, kind, org, AT, {"scan_id": "scan_1"})


async def test_creating_without_a_secret_generates_one_shown_once_and_stores_it_sealed(
    service: WebhookService, repository: FakeWebhookRepository
) -> None:
    created = await service.create("org_a", "usr_a", URL, ("scan.completed",))
    assert created.secret.startswith("whsec_")
    assert len(created.secret) > 40
    stored = repository.webhooks[created.webhook.webhook_id]
    assert created.secret not in stored.secret.sealed
    assert SecretBox(parse_key("00" * 32)).open(stored.secret, stored.webhook_id) == created.secret
    reply = await assemble(FakeTimelineRepository(), repository, settings()).servicer.GetWebhook(
        report_pb2.GetWebhookRequest(
            owner=common_pb2.Owner(org_id="org_a"), webhook_id=created.webhook.webhook_id
        ),
        cast(Any, None),
    )
    assert reply.secret == ""  # never shown again
    assert reply.url == URL


async def test_a_sealed_secret_opens_only_for_its_webhook_and_with_its_key() -> None:
    box = SecretBox(parse_key("11" * 32))
    sealed = box.seal("whsec_abc", "whk_1")
    with pytest.raises(SecretKeyError):
        box.open(sealed, "whk_2")
    with pytest.raises(SecretKeyError):
        SecretBox(parse_key("22" * 32)).open(sealed, "whk_1")


@pytest.mark.parametrize(
    ("events", "secret"),
    [((), ""), (("scan.exploded",), ""), (("report.finished",), ""), (("scan.completed",), "short")],
)
async def test_unknown_events_no_events_and_short_secrets_are_refused(
    service: WebhookService, events: tuple[str, ...], secret: str
) -> None:
    with pytest.raises(InvalidArgument):
        await service.create("org_a", "usr_a", URL, events, secret=secret)


async def test_a_url_to_a_private_address_is_refused_at_creation_and_at_update(
    service: WebhookService,
) -> None:
    with pytest.raises(UrlNotAllowed):
        await service.create("org_a", "usr_a", "https://10.0.0.5/hook", ("scan.completed",))
    created = await service.create("org_a", "usr_a", URL, ("scan.completed",))
    with pytest.raises(UrlNotAllowed):
        await service.update("org_a", created.webhook.webhook_id, Changes(url="https://169.254.169.254/"))


async def test_another_organisations_webhook_is_not_found_for_every_use_case(service: WebhookService) -> None:
    hook = (await service.create("org_a", "usr_a", URL, ("scan.completed",))).webhook.webhook_id
    for call in (
        service.get("org_b", hook),
        service.update("org_b", hook, Changes(enabled=False)),
        service.rotate("org_b", hook),
        service.test("org_b", hook),
        service.deliveries("org_b", hook, 0, 10),
        service.redeliver("org_b", hook, "dlv_x"),
        service.delete("org_b", hook),
    ):
        with pytest.raises(WebhookNotFound):
            await call
    assert (await service.get("org_a", hook)).enabled
    assert await service.page("org_b", 0, 10) == []


async def test_an_event_is_queued_once_per_subscribed_enabled_webhook_and_a_redelivery_queues_nothing(
    service: WebhookService, repository: FakeWebhookRepository
) -> None:
    wants = (await service.create("org_a", "u", URL, ("scan.completed", "incident.created"))).webhook
    await service.create("org_a", "u", URL, ("incident.created",))  # another event
    await service.create("org_a", "u", URL, ("scan.completed",), enabled=False)  # disabled
    await service.create("org_b", "u", URL, ("scan.completed",))  # another organisation
    assert await service.publish(event()) is Outcome.APPLIED
    assert await service.publish(event()) is Outcome.DUPLICATE
    assert [(d.webhook_id, d.delivery_id) for d in repository.deliveries.values()] == [
        (wants.webhook_id, delivery_id_for(wants.webhook_id, "evt_1"))
    ]
    body = json.loads(next(iter(repository.deliveries.values())).body)
    assert body == {
        "id": "evt_1",
        "type": "scan.completed",
        "created_at": "2026-01-02T03:04:05Z",
        "organisation": "org_a",
        "data": {"scan_id": "scan_1"},
    }


async def test_rotation_keeps_the_old_secret_for_the_grace_period_only(
    repository: FakeWebhookRepository,
) -> None:
    clock = Clock()
    box = SecretBox(parse_key("00" * 32))
    service = WebhookService(repository, box, UrlPolicy(), 3600.0, clock=clock)
    created = await service.create("org_a", "u", "https://203.0.114.9/hook", ("scan.completed",), "s" * 20)
    rotated = await service.rotate("org_a", created.webhook.webhook_id, grace_seconds=60)
    assert rotated.secret != "s" * 20
    hook = repository.webhooks[created.webhook.webhook_id]
    assert box.open(hook.secret, hook.webhook_id) == rotated.secret
    previous = hook.previous_valid(clock.now + 59)
    assert previous is not None
    assert box.open(previous, hook.webhook_id) == "s" * 20
    assert hook.previous_valid(clock.now + 60) is None
    with pytest.raises(InvalidArgument):
        await service.rotate("org_a", hook.webhook_id, grace_seconds=-1)


async def test_update_changes_only_the_fields_given(service: WebhookService) -> None:
    hook = (await service.create("org_a", "u", URL, ("scan.completed",), description="ops")).webhook
    updated = await service.update("org_a", hook.webhook_id, Changes(events=("scan.failed",), enabled=False))
    assert (updated.url, updated.events, updated.description, updated.enabled) == (
        URL,
        ("scan.failed",),
        "ops",
        False,
    )


async def test_redelivering_an_unknown_delivery_is_not_found(service: WebhookService) -> None:
    hook = (await service.create("org_a", "u", URL, ("scan.completed",))).webhook
    with pytest.raises(DeliveryNotFound):
        await service.redeliver("org_a", hook.webhook_id, "dlv_nope")


def scan_message(kind: int, first: bool = True, **fields: Any) -> Msg:
    event = scan_pb2.ScanEvent(
        event_id=f"scan_1.{kind}.9",
        scan_id="scan_1",
        owner=common_pb2.Owner(org_id="org_a", user_id="usr_a"),
        type=kind,  # type: ignore[arg-type]
        sequence=9,
        occurred_at=to_timestamp(AT),
        **fields,
    )
    if kind == scan_pb2.SCAN_EVENT_TYPE_FINDING:
        event.finding.CopyFrom(
            scan_pb2.FindingNotice(
                vulnerability_id="vuln_1", severity="high", title="Redis without auth", first_sighting=first
            )
        )
    return Msg(_client=cast(Any, None), data=event.SerializeToString())


async def test_final_scan_events_and_first_sightings_become_webhook_events_and_the_rest_are_skipped(
    parts: Parts, repository: FakeWebhookRepository
) -> None:
    hook = (
        await parts.webhooks.create(
            "org_a", "u", URL, ("scan.completed", "scan.failed", "vulnerability.found")
        )
    ).webhook
    messages = [
        scan_message(scan_pb2.SCAN_EVENT_TYPE_PROGRESS),
        scan_message(scan_pb2.SCAN_EVENT_TYPE_FINDING, first=False),
        scan_message(scan_pb2.SCAN_EVENT_TYPE_FINDING),
        scan_message(scan_pb2.SCAN_EVENT_TYPE_TIMEOUT, error=scan_pb2.ScanError(code="SCAN_TIMEOUT")),
        scan_message(scan_pb2.SCAN_EVENT_TYPE_COMPLETED),
    ]
    for message in messages:
        await parts.on_scan_event_for_webhooks(message)
    queued = {d.event_type: json.loads(d.body)["data"] for d in repository.deliveries.values()}
    assert set(queued) == {"vulnerability.found", "scan.failed", "scan.completed"}
    assert queued["vulnerability.found"]["vulnerability_id"] == "vuln_1"
    assert queued["scan.failed"]["error"] == {"code": "SCAN_TIMEOUT", "message": ""}
    assert all(d.webhook_id == hook.webhook_id for d in repository.deliveries.values())


async def test_incident_events_become_webhook_events_and_garbage_is_poison(
    parts: Parts, repository: FakeWebhookRepository
) -> None:
    await parts.webhooks.create("org_a", "u", URL, ("incident.created",))
    incident = threat_pb2.Incident(
        incident_id="inc_1", owner=common_pb2.Owner(org_id="org_a"), title="Beacon", severity=3
    )
    event = threat_pb2.IncidentEvent(event_id="ie_1", type="incident.created", incident=incident)
    await parts.on_incident_event(Msg(_client=cast(Any, None), data=event.SerializeToString()))
    (delivery,) = repository.deliveries.values()
    assert json.loads(delivery.body)["data"]["incident_id"] == "inc_1"
    with pytest.raises(PoisonMessage):
        await parts.on_incident_event(Msg(_client=cast(Any, None), data=b"\xff\xff"))


def test_the_retry_delay_doubles_with_jitter_up_to_the_cap_and_honours_retry_after() -> None:
    low = RetrySchedule(base_seconds=10, cap_seconds=100, random=lambda: 0.0)
    high = RetrySchedule(base_seconds=10, cap_seconds=100, random=lambda: 0.999999)
    assert [low.delay(n) for n in (1, 2, 3, 5)] == [5.0, 10.0, 20.0, 50.0]
    assert high.delay(3) == pytest.approx(40.0, rel=1e-5)
    assert high.delay(9) == pytest.approx(100.0, rel=1e-5)
    assert low.delay(1, retry_after=30) == 30.0
    assert low.delay(1, retry_after=10_000) == 100.0
