"""The shared gRPC server: status mapping, trailers, request ids, health, metrics."""

from __future__ import annotations

from collections.abc import AsyncIterator
from typing import Any

import grpc
import pytest
import structlog
from google.rpc import error_details_pb2
from grpc_health.v1 import health_pb2, health_pb2_grpc
from grpc_status import rpc_status
from prometheus_client import REGISTRY

from rampart.lib.grpcclient import open_channel
from rampart.lib.grpcserver import Context, ServiceBinding, create_server
from rampart.lib.logging import bind_request
from rampart.scan.v1 import scan_pb2, scan_pb2_grpc
from rampart_scan.domain import ScanNotFound

SERVICE = scan_pb2.DESCRIPTOR.services_by_name["ScanService"].full_name


class Servicer(scan_pb2_grpc.ScanServiceServicer):
    """GetScan refuses, CreateScan crashes, GetScanResults echoes the request id."""

    async def GetScan(self, request: Any, context: Context) -> scan_pb2.Scan:
        raise ScanNotFound("scan not found", scan_id=request.scan_id)

    async def CreateScan(self, request: Any, context: Context) -> scan_pb2.Scan:
        raise RuntimeError("secret internals: mongodb://user:pw@db")

    async def GetScanResults(self, request: Any, context: Context) -> scan_pb2.ScanResults:
        request_id = structlog.contextvars.get_contextvars()["request_id"]
        return scan_pb2.ScanResults(scan=scan_pb2.Scan(scan_id=request_id))


@pytest.fixture
async def stub() -> AsyncIterator[scan_pb2_grpc.ScanServiceStub]:
    binding = ServiceBinding(SERVICE, Servicer(), scan_pb2_grpc.add_ScanServiceServicer_to_server)
    server, port, health = await create_server("unit", [binding], "127.0.0.1", 0)
    await server.start()
    await health.set("", health_pb2.HealthCheckResponse.SERVING)
    async with grpc.aio.insecure_channel(f"127.0.0.1:{port}") as channel:
        yield scan_pb2_grpc.ScanServiceStub(channel)
        reply = await health_pb2_grpc.HealthStub(channel).Check(health_pb2.HealthCheckRequest())
        assert reply.status == health_pb2.HealthCheckResponse.SERVING
    await server.stop(None)


async def test_domain_error_becomes_status_with_public_code(stub: Any) -> None:
    with pytest.raises(grpc.aio.AioRpcError) as failed:
        await stub.GetScan(scan_pb2.GetScanRequest(scan_id="scan_x"))
    assert failed.value.code() == grpc.StatusCode.NOT_FOUND
    assert failed.value.details() == "scan not found"
    status = rpc_status.from_call(failed.value)  # the standard decoder, as any client reads it
    info = error_details_pb2.ErrorInfo()
    assert status.details[0].Unpack(info)
    assert (info.reason, info.domain) == ("SCAN_NOT_FOUND", "rampart")
    assert dict(info.metadata) == {"scan_id": "scan_x"}


async def test_crash_is_internal_and_leaks_nothing(stub: Any) -> None:
    before = (
        REGISTRY.get_sample_value(
            "rampart_grpc_requests_total",
            {"service": "unit", "method": "CreateScan", "code": "INTERNAL"},
        )
        or 0.0
    )
    with pytest.raises(grpc.aio.AioRpcError) as failed:
        await stub.CreateScan(scan_pb2.CreateScanRequest())
    assert failed.value.code() == grpc.StatusCode.INTERNAL
    assert failed.value.details() == "internal error"
    after = REGISTRY.get_sample_value(
        "rampart_grpc_requests_total",
        {"service": "unit", "method": "CreateScan", "code": "INTERNAL"},
    )
    assert after == before + 1


async def test_unbuilt_rpc_answers_unimplemented(stub: Any) -> None:
    with pytest.raises(grpc.aio.AioRpcError) as failed:
        await stub.ListScans(scan_pb2.ListScansRequest())
    assert failed.value.code() == grpc.StatusCode.UNIMPLEMENTED


async def test_request_id_from_metadata_is_bound_for_the_handler(stub: Any) -> None:
    reply = await stub.GetScanResults(
        scan_pb2.GetScanResultsRequest(), metadata=[("x-request-id", "req-from-edge")]
    )
    assert reply.scan.scan_id == "req-from-edge"
    reply = await stub.GetScanResults(scan_pb2.GetScanResultsRequest())
    assert reply.scan.scan_id.startswith("req_")


async def test_client_channel_forwards_the_bound_request_id() -> None:
    binding = ServiceBinding(SERVICE, Servicer(), scan_pb2_grpc.add_ScanServiceServicer_to_server)
    server, port, _ = await create_server("unit", [binding], "127.0.0.1", 0)
    await server.start()
    try:
        bind_request("req-edge-7")
        async with open_channel(f"127.0.0.1:{port}") as channel:
            reply = await scan_pb2_grpc.ScanServiceStub(channel).GetScanResults(
                scan_pb2.GetScanResultsRequest()
            )
        assert reply.scan.scan_id == "req-edge-7"
    finally:
        structlog.contextvars.clear_contextvars()
        await server.stop(None)
