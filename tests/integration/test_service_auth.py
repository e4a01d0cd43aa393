"""Between services: a process without the platform's credentials gets nothing.

gRPC services require a client certificate from the platform's CA and serve organisation
RPCs to the gateway identity only; the broker requires a certificate too and gives each
identity only the subjects rampart.lib.callers lists.
"""

from __future__ import annotations

import asyncio
import ssl
from pathlib import Path

import grpc
import nats
import nats.errors
import pytest

from rampart.auth.v1 import auth_pb2, auth_pb2_grpc
from rampart.common.v1 import common_pb2
from rampart.lib.grpcclient import open_channel
from rampart.lib.ids import new_id
from rampart.lib.tls import TlsFiles
from rampart.scan.v1 import scan_pb2, scan_pb2_grpc
from rampart_devtools.devstack import DevStack
from rampart_devtools.pki import DevCA


async def get_scan(channel: grpc.aio.Channel) -> grpc.StatusCode:
    stub = scan_pb2_grpc.ScanServiceStub(channel)
    owner = common_pb2.Owner(user_id="u_x", org_id="org_x")
    try:
        await stub.GetScan(scan_pb2.GetScanRequest(owner=owner, scan_id="scan_x"), timeout=10)
    except grpc.aio.AioRpcError as error:
        return error.code()
    return grpc.StatusCode.OK


async def test_a_plain_channel_is_refused_by_every_service(stack: DevStack) -> None:
    for service in ("auth", "scan", "threat", "ai", "report"):
        async with grpc.aio.insecure_channel(stack.address(service)) as channel:
            with pytest.raises(grpc.aio.AioRpcError) as refused:
                await channel.unary_unary("/grpc.health.v1.Health/Check")(b"", timeout=10)
            assert refused.value.code() == grpc.StatusCode.UNAVAILABLE, service


async def test_a_gateway_certificate_from_another_ca_is_refused(stack: DevStack, tmp_path: Path) -> None:
    forged = DevCA(tmp_path / "forged").issue("gateway")
    files = TlsFiles(stack.pki.ca_cert_path, forged.cert, forged.key)
    async with open_channel(stack.address("scan"), files) as channel:
        assert await get_scan(channel) == grpc.StatusCode.UNAVAILABLE


async def test_the_gateway_identity_reaches_the_service(stack: DevStack) -> None:
    async with stack.channel("scan") as channel:
        assert await get_scan(channel) == grpc.StatusCode.NOT_FOUND  # past the door, no such scan


@pytest.mark.parametrize("identity", ["scan-worker", "threat", "report"])
async def test_a_service_identity_may_not_act_for_an_organisation(stack: DevStack, identity: str) -> None:
    async with stack.channel("scan", identity) as channel:
        assert await get_scan(channel) == grpc.StatusCode.PERMISSION_DENIED
    async with stack.channel("auth", identity) as channel:
        stub = auth_pb2_grpc.AuthServiceStub(channel)
        with pytest.raises(grpc.aio.AioRpcError) as refused:
            await stub.RedeemStreamTicket(auth_pb2.RedeemStreamTicketRequest(ticket="st_x"), timeout=10)
        assert refused.value.code() == grpc.StatusCode.PERMISSION_DENIED


async def test_the_broker_refuses_a_client_without_a_certificate(stack: DevStack) -> None:
    trusting = ssl.create_default_context(cafile=str(stack.pki.ca_cert_path))  # trusts, presents none
    with pytest.raises((nats.errors.Error, OSError, TimeoutError)):
        await nats.connect(stack.nats_url, tls=trusting, connect_timeout=3, allow_reconnect=False)


async def violations_of(stack: DevStack, identity: str, actions: list[tuple[str, str]]) -> list[str]:
    """Run publish/subscribe actions as ``identity``; return the broker's refusals."""
    errors: list[str] = []

    async def on_error(error: Exception) -> None:
        errors.append(str(error))

    nc = await nats.connect(
        stack.nats_url, error_cb=on_error, allow_reconnect=False, **stack.certs(identity).nats_options()
    )
    try:
        for verb, subject in actions:
            if verb == "pub":
                await nc.publish(subject, b"forged")
            else:
                await nc.subscribe(subject)
        await nc.flush(timeout=5)
        for _ in range(100):  # refusals arrive asynchronously; wait up to 5 s for all
            if len(errors) >= len(actions):
                break
            await asyncio.sleep(0.05)
    finally:
        await nc.close()
    return errors


async def test_a_scan_worker_may_publish_only_scan_events(stack: DevStack) -> None:
    allowed = await violations_of(
        stack,
        "scan-worker",
        [("pub", f"scan.events.{new_id('scan')}.progress"), ("pub", "scan.workers.heartbeat")],
    )
    assert allowed == []
    refused = await violations_of(
        stack,
        "scan-worker",
        [
            ("pub", "scan.jobs"),
            ("pub", "scan.control.cancel"),
            ("pub", "auth.events.key_revoked.key_x"),
            ("sub", "auth.events.>"),
            ("sub", "_INBOX.gateway.>"),
        ],
    )
    assert len(refused) == 5, refused
    assert all("permissions violation" in error for error in refused)


async def test_the_gateway_cannot_publish_scan_events_or_jobs(stack: DevStack) -> None:
    scan_id = new_id("scan")
    refused = await violations_of(
        stack,
        "gateway",
        [("pub", f"scan.events.{scan_id}.completed"), ("pub", "scan.jobs"), ("pub", "scan.control.cancel")],
    )
    assert len(refused) == 3, refused
    assert f'"scan.events.{scan_id}.completed"' in refused[0]


def test_no_platform_process_is_refused_by_the_broker(stack: DevStack) -> None:
    """The permissions are exactly wide enough: the platform's own clients never trip them."""
    log = stack.log_path("nats").read_text()
    refused = [line for line in log.splitlines() if "Violation" in line and ":rampart-" in line]
    assert refused == []
