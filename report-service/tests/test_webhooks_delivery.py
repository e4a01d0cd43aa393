"""Deliveries to a real HTTP receiver on 127.0.0.1 (allowed by the operator's allow-list in ``settings``).

The receiver checks signatures with the seed's own ``verify``; retries, redirects, timeouts,
truncation, rotation and redelivery are driven by what the receiver answers.
"""

from __future__ import annotations

import asyncio
import hashlib
import hmac
import json
import ssl
import time
from collections.abc import Awaitable, Callable

import pytest
import trustme
from webhook_fakes import FakeWebhookRepository, resolver_of, settings

from rampart.lib.ids import utcnow
from rampart_report.bootstrap import webhook_parts
from rampart_report.webhooks import signing
from rampart_report.webhooks.domain import Delivery, DeliveryStatus, WebhookEvent
from rampart_report.webhooks.urlguard import UrlPolicy
from tests.webhook_receiver import Receiver, Reply, receiving

pytestmark = pytest.mark.timeout(30)


def verify(payload: bytes, signature: str, secret: str) -> bool:
    """The seed's example (../shared/seeds/004_26491b27e95effe3.txt), unchanged."""
    expected = hmac.new(secret.encode(), payload, hashlib.sha256).hexdigest()
    return hmac.compare_digest(expected, signature)


async def until(check: Callable[[], Awaitable[bool]], seconds: float = 10.0) -> None:
    """Poll ``check`` until it holds, failing after ``seconds``."""
    deadline = time.monotonic() + seconds
    while not await check():
        if time.monotonic() > deadline:
            pytest.fail("condition not reached in time")
        await asyncio.sleep(0.02)


class Rig:
    """The webhook service and a running dispatcher on a fake repository."""

    def __init__(self, repository: FakeWebhookRepository, **overrides: object) -> None:
        self.repository = repository
        self.webhooks, self.dispatcher = webhook_parts(settings(**overrides), repository)
        self._task: asyncio.Task[None] | None = None

    async def __aenter__(self) -> Rig:
        self._task = asyncio.create_task(self.dispatcher.run())
        return self

    async def __aexit__(self, *exc: object) -> None:
        assert self._task is not None
        self._task.cancel()
        await asyncio.gather(self._task, return_exceptions=True)

    def only(self) -> Delivery:
        (delivery,) = self.repository.deliveries.values()
        return delivery

    async def settled(self) -> Delivery:
        async def done() -> bool:
            return self.only().status is not DeliveryStatus.PENDING

        await until(done)
        return self.only()


def scan_completed(event_id: str = "evt_1") -> WebhookEvent:
    return WebhookEvent(event_id, "scan.completed", "org_a", utcnow(), {"scan_id": "scan_1"})


async def test_a_delivery_arrives_signed_so_the_seeds_verify_accepts_it_and_the_log_records_it() -> None:
    with receiving() as receiver:
        async with Rig(FakeWebhookRepository()) as rig:
            created = await rig.webhooks.create("org_a", "u", receiver.url(), ("scan.completed",))
            await rig.webhooks.publish(scan_completed())
            delivery = await rig.settled()
    (got,) = receiver.received
    assert verify(got.body, got.headers[signing.SIGNATURE], created.secret)
    assert not verify(got.body, got.headers[signing.SIGNATURE], "another secret")
    assert signing.verify_timestamped(
        got.body, got.headers[signing.SIGNATURE_TIMESTAMPED], created.secret, time.time()
    )
    assert got.headers[signing.DELIVERY] == delivery.delivery_id
    assert got.headers[signing.EVENT] == "scan.completed"
    assert json.loads(got.body)["id"] == "evt_1"
    assert "Cookie" not in got.headers
    assert "Authorization" not in got.headers
    assert (delivery.status, delivery.attempts, delivery.last and delivery.last.status_code) == (
        DeliveryStatus.DELIVERED,
        1,
        200,
    )


def test_a_replayed_timestamped_signature_is_refused_after_the_tolerance() -> None:
    body = b'{"id":"evt_1"}'
    header = signing.signature_headers(body, "whsec_x", 1_000_000)[signing.SIGNATURE_TIMESTAMPED]
    assert signing.verify_timestamped(body, header, "whsec_x", now=1_000_100)
    assert not signing.verify_timestamped(body, header, "whsec_x", now=1_000_400)  # too old
    assert not signing.verify_timestamped(body + b" ", header, "whsec_x", now=1_000_100)
    forged = header.replace("t=1000000", "t=1000350")  # a fresh timestamp on an old signature
    assert not signing.verify_timestamped(body, forged, "whsec_x", now=1_000_400)


async def test_a_receiver_failing_twice_gets_the_delivery_on_the_third_attempt_with_the_same_id() -> None:
    receiver = Receiver().then(Reply(503, b"down"), Reply(500, b"still down"))
    with receiving(receiver):
        async with Rig(FakeWebhookRepository()) as rig:
            await rig.webhooks.create("org_a", "u", receiver.url(), ("scan.completed",))
            await rig.webhooks.publish(scan_completed())
            delivery = await rig.settled()
    assert delivery.status is DeliveryStatus.DELIVERED
    assert [a.status_code for a in delivery.log] == [503, 500, 200]
    assert delivery.log[0].response_body == "down"
    assert len({r.headers[signing.DELIVERY] for r in receiver.received}) == 1
    assert len({r.body for r in receiver.received}) == 1


async def test_attempts_are_bounded_then_the_delivery_fails() -> None:
    receiver = Receiver().then(*[Reply(502) for _ in range(10)])
    with receiving(receiver):
        async with Rig(FakeWebhookRepository(), webhook_max_attempts=3) as rig:
            await rig.webhooks.create("org_a", "u", receiver.url(), ("scan.completed",))
            await rig.webhooks.publish(scan_completed())
            delivery = await rig.settled()
    assert delivery.status is DeliveryStatus.FAILED
    assert delivery.attempts == 3
    assert len(receiver.received) == 3


async def test_a_client_error_is_not_retried_and_the_response_is_truncated_in_the_log() -> None:
    receiver = Receiver().then(Reply(400, b"x" * 500))
    with receiving(receiver):
        async with Rig(FakeWebhookRepository()) as rig:
            await rig.webhooks.create("org_a", "u", receiver.url(), ("scan.completed",))
            await rig.webhooks.publish(scan_completed())
            delivery = await rig.settled()
    assert delivery.status is DeliveryStatus.FAILED
    assert len(receiver.received) == 1
    assert delivery.last is not None
    assert delivery.last.response_body == "x" * 64  # WEBHOOK_RESPONSE_CAP_BYTES in the test settings


async def test_a_redirect_to_loopback_is_not_followed() -> None:
    with receiving() as target:
        redirecting = Receiver().then(Reply(302, b"", {"Location": target.url("/stolen")}))
        with receiving(redirecting):
            async with Rig(FakeWebhookRepository()) as rig:
                await rig.webhooks.create("org_a", "u", redirecting.url(), ("scan.completed",))
                await rig.webhooks.publish(scan_completed())
                delivery = await rig.settled()
    assert target.received == []
    assert delivery.status is DeliveryStatus.FAILED
    assert delivery.last is not None
    assert (delivery.last.status_code, delivery.last.error) == (302, "redirect not followed")


async def test_a_slow_receiver_times_out_and_is_retried() -> None:
    async def slow(reader: asyncio.StreamReader, writer: asyncio.StreamWriter) -> None:
        while await reader.read(1024):  # never answers; stops when the sender gives up
            pass
        writer.close()
        await writer.wait_closed()

    server = await asyncio.start_server(slow, "127.0.0.1", 0)
    port = server.sockets[0].getsockname()[1]
    try:
        async with Rig(FakeWebhookRepository(), webhook_timeout_seconds=0.2, webhook_max_attempts=2) as rig:
            await rig.webhooks.create("org_a", "u", f"http://127.0.0.1:{port}/", ("scan.completed",))
            await rig.webhooks.publish(scan_completed())
            delivery = await rig.settled()
    finally:
        server.close()
        await server.wait_closed()
    assert [a.error for a in delivery.log] == ["timed out", "timed out"]
    assert delivery.status is DeliveryStatus.FAILED


async def test_the_url_is_checked_again_at_delivery_time() -> None:
    """The allow-list removed after creation: the pending delivery is refused, nothing is sent."""
    repository = FakeWebhookRepository()
    with receiving() as receiver:
        creator = Rig(repository)
        await creator.webhooks.create("org_a", "u", receiver.url(), ("scan.completed",))
        await creator.webhooks.publish(scan_completed())
        async with Rig(repository, webhook_allow_networks="") as strict:
            delivery = await strict.settled()
    assert receiver.received == []
    assert delivery.status is DeliveryStatus.FAILED
    assert delivery.last is not None
    assert "loopback" in delivery.last.error


async def test_during_a_rotation_both_secrets_sign_and_after_it_only_the_new_one() -> None:
    with receiving() as receiver:
        async with Rig(FakeWebhookRepository()) as rig:
            hook = await rig.webhooks.create("org_a", "u", receiver.url(), ("scan.completed",))
            rotated = await rig.webhooks.rotate("org_a", hook.webhook.webhook_id, grace_seconds=3600)
            await rig.webhooks.publish(scan_completed("evt_1"))
            await rig.settled()
    (got,) = receiver.received
    assert verify(got.body, got.headers[signing.SIGNATURE], rotated.secret)
    assert verify(got.body, got.headers[signing.SIGNATURE_PREVIOUS], hook.secret)
    stamped = got.headers[signing.SIGNATURE_TIMESTAMPED]
    assert signing.verify_timestamped(got.body, stamped, rotated.secret, time.time())
    assert signing.verify_timestamped(got.body, stamped, hook.secret, time.time())
    with receiving() as later:
        async with Rig(FakeWebhookRepository()) as rig:
            hook = await rig.webhooks.create("org_a", "u", later.url(), ("scan.completed",))
            await rig.webhooks.rotate("org_a", hook.webhook.webhook_id, grace_seconds=0.001)
            await asyncio.sleep(0.01)
            await rig.webhooks.publish(scan_completed("evt_2"))
            await rig.settled()
    assert signing.SIGNATURE_PREVIOUS not in later.received[0].headers


async def test_redeliver_sends_the_same_body_and_delivery_id_again_and_test_pings_the_endpoint() -> None:
    with receiving() as receiver:
        async with Rig(FakeWebhookRepository()) as rig:
            hook = (await rig.webhooks.create("org_a", "u", receiver.url(), ("scan.completed",))).webhook
            await rig.webhooks.publish(scan_completed())
            first = await rig.settled()
            await rig.webhooks.redeliver("org_a", hook.webhook_id, first.delivery_id)
            await until(lambda: _count(receiver, 2))
            ping = await rig.webhooks.test("org_a", hook.webhook_id)
            await until(lambda: _count(receiver, 3))
    first_sent, again, test = receiver.received
    assert again.body == first_sent.body
    assert again.headers[signing.DELIVERY] == first_sent.headers[signing.DELIVERY] == first.delivery_id
    assert test.headers[signing.EVENT] == "webhook.test"
    assert test.headers[signing.DELIVERY] == ping.delivery_id


async def _count(receiver: Receiver, n: int) -> bool:
    return len(receiver.received) >= n


async def test_https_goes_to_the_checked_address_and_verifies_the_certificate_for_the_name() -> None:
    """hooks.test resolves (in the test's table) to 127.0.0.1: the connection is pinned there,
    and TLS checks the certificate against hooks.test, not against the address."""
    ca = trustme.CA()
    cert = ca.issue_cert("hooks.test")
    server_context = ssl.create_default_context(ssl.Purpose.CLIENT_AUTH)
    cert.configure_cert(server_context)
    client_context = ssl.create_default_context()
    ca.configure_trust(client_context)

    def wrap(sock):  # type: ignore[no-untyped-def]
        return server_context.wrap_socket(sock, server_side=True)

    repository = FakeWebhookRepository()
    with receiving(wrap=wrap) as receiver:
        policy = UrlPolicy(
            allow_networks=settings().allow_networks(),
            resolver=resolver_of({"hooks.test": ["127.0.0.1"], "other.test": ["127.0.0.1"]}),
        )
        webhooks, dispatcher = webhook_parts(settings(), repository, policy, tls=client_context)
        created = await webhooks.create(
            "org_a", "u", f"https://hooks.test:{receiver.port}/in", ("scan.completed",)
        )
        await webhooks.publish(scan_completed())
        (delivery,) = repository.deliveries.values()
        delivered = await dispatcher.attempt(delivery)
        wrong = await webhooks.create(
            "org_a", "u", f"https://other.test:{receiver.port}/in", ("scan.failed",)
        )
        await webhooks.publish(WebhookEvent("evt_9", "scan.failed", "org_a", utcnow(), {}))
        pending = [d for d in repository.deliveries.values() if d.webhook_id == wrong.webhook.webhook_id]
        refused = await dispatcher.attempt(pending[0])
    assert delivered.status is DeliveryStatus.DELIVERED
    assert receiver.received[0].headers["Host"] == f"hooks.test:{receiver.port}"
    assert verify(receiver.received[0].body, receiver.received[0].headers[signing.SIGNATURE], created.secret)
    assert refused.last is not None
    assert refused.last.error.startswith("connection failed")  # the certificate is not other.test's
    assert len(receiver.received) == 1


async def test_a_slow_endpoint_holds_only_its_share_of_slots_and_never_delays_another() -> None:
    """Six deliveries wait on an endpoint that never answers (30 s timeout); with 4 slots and 2 per
    endpoint, another webhook's delivery still goes out at once."""
    open_connections = 0
    most = 0

    async def silent(reader: asyncio.StreamReader, writer: asyncio.StreamWriter) -> None:
        nonlocal open_connections, most
        open_connections += 1
        most = max(most, open_connections)
        while await reader.read(1024):
            pass
        open_connections -= 1
        writer.close()

    server = await asyncio.start_server(silent, "127.0.0.1", 0)
    slow_url = f"http://127.0.0.1:{server.sockets[0].getsockname()[1]}/"
    repository = FakeWebhookRepository()
    try:
        with receiving() as fast:
            async with Rig(
                repository,
                webhook_timeout_seconds=30,
                webhook_concurrency=4,
                webhook_per_endpoint_concurrency=2,
            ) as rig:
                await rig.webhooks.create("org_a", "u", slow_url, ("scan.failed",))
                for n in range(6):
                    await rig.webhooks.publish(
                        WebhookEvent(f"evt_s{n}", "scan.failed", "org_a", utcnow(), {})
                    )
                await until(lambda: _opened(lambda: open_connections, 2))
                await rig.webhooks.create("org_a", "u", fast.url(), ("scan.completed",))
                await rig.webhooks.publish(scan_completed())
                await until(lambda: _count(fast, 1))
                assert most == 2
    finally:
        server.close()
        await server.wait_closed()


async def _opened(count: Callable[[], int], n: int) -> bool:
    return count() >= n


async def test_a_name_that_stops_resolving_is_retried_and_a_store_outage_does_not_stop_the_dispatcher() -> (
    None
):
    """DNS may come back: an unresolvable name at delivery time is retried, not failed at once."""
    names = {"hooks.test": ["127.0.0.1"]}
    repository = FakeWebhookRepository()
    with receiving() as receiver:
        policy = UrlPolicy(allow_networks=settings().allow_networks(), resolver=resolver_of(names))
        webhooks, dispatcher = webhook_parts(settings(webhook_max_attempts=20), repository, policy)
        await webhooks.create("org_a", "u", f"http://hooks.test:{receiver.port}/in", ("scan.completed",))
        del names["hooks.test"]  # the name goes away after creation
        outage = OutageOnce(repository)
        dispatcher._repository = outage  # the first claim fails as if the store were down
        runner = asyncio.create_task(dispatcher.run())
        await webhooks.publish(scan_completed())

        async def retried_once() -> bool:
            (delivery,) = repository.deliveries.values()
            return delivery.attempts >= 1

        await until(retried_once)
        names["hooks.test"] = ["127.0.0.1"]
        await until(lambda: _count(receiver, 1))
        runner.cancel()
        await asyncio.gather(runner, return_exceptions=True)
    (delivery,) = repository.deliveries.values()
    assert outage.failed
    assert delivery.log[0].error == "the host name does not resolve (retried)"


class OutageOnce:
    """The repository, whose first claim raises (the store unreachable)."""

    def __init__(self, inner: FakeWebhookRepository) -> None:
        self._inner = inner
        self.failed = False

    def __getattr__(self, name: str) -> object:
        return getattr(self._inner, name)

    async def claim_due(self, *args: object) -> list[Delivery]:
        if not self.failed:
            self.failed = True
            raise ConnectionError("store unreachable")
        return await self._inner.claim_due(*args)  # type: ignore[arg-type]
