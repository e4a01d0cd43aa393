"""grpc.aio server bootstrap: health, reflection, request ids, metrics, error mapping."""

from __future__ import annotations

import inspect
import time
from collections.abc import AsyncIterator, Awaitable, Callable, Iterable
from dataclasses import dataclass
from typing import TYPE_CHECKING, Any, NoReturn

import grpc
import structlog
from google.rpc.status_pb2 import Status
from grpc_health.v1 import health_pb2, health_pb2_grpc
from grpc_health.v1._async import HealthServicer
from grpc_reflection.v1alpha import reflection
from grpc_status.rpc_status import to_status
from pymongo.errors import ConnectionFailure

from rampart.lib.callers import may_call
from rampart.lib.catalogue import error_code
from rampart.lib.errors import PermissionDenied, RampartError, rich_status
from rampart.lib.ids import REQUEST_ID_HEADER, clean_request_id
from rampart.lib.logging import bind_request
from rampart.lib.metrics import RPC_LATENCY, RPC_REQUESTS
from rampart.lib.tls import TlsFiles

log = structlog.get_logger(__name__)

if TYPE_CHECKING:
    Context = grpc.aio.ServicerContext[Any, Any]
    Handler = grpc.RpcMethodHandler[Any, Any]
else:  # the runtime classes are not generic
    Context = grpc.aio.ServicerContext
    Handler = grpc.RpcMethodHandler


@dataclass(frozen=True)
class ServiceBinding:
    """One servicer and the generated function that registers it."""

    full_name: str
    servicer: Any
    add_to_server: Callable[[Any, grpc.aio.Server], None]


def _request_id(details: grpc.HandlerCallDetails) -> str:
    for key, value in details.invocation_metadata or ():
        if key == REQUEST_ID_HEADER:
            return clean_request_id(value if isinstance(value, str) else value.decode())
    return clean_request_id(None)


def _code(context: Context) -> grpc.StatusCode | None:
    code: grpc.StatusCode | None = context.code()  # None until a handler sets one
    return code


def _status_of(error: Exception, context: Context) -> grpc.StatusCode:
    if isinstance(error, RampartError):
        return error.grpc_code
    if isinstance(error, ConnectionFailure):
        return grpc.StatusCode.UNAVAILABLE
    return _code(context) or grpc.StatusCode.INTERNAL


def _status(public_code: str, message: str) -> Status:
    return rich_status(error_code(public_code).grpc, public_code, message)


async def _abort(context: Context, status: Status) -> NoReturn:
    """End the call with the standard rich status (``grpc-status-details-bin``)."""
    rpc = to_status(status)
    await context.abort(rpc.code, rpc.details, rpc.trailing_metadata)


def peer_identity(context: Context) -> str:
    """The common name of the caller's verified client certificate ('' without one)."""
    names = list(context.auth_context().get("x509_common_name") or ())
    if not names:
        return ""
    return names[0].decode() if isinstance(names[0], bytes) else str(names[0])


def authorize(context: Context, method: str) -> None:
    """Refuse a caller whose certificate identity is not on the service's allow-list."""
    identity = peer_identity(context)
    if not may_call(identity, method):
        raise PermissionDenied(f"{identity or 'an unidentified peer'} may not call {method}")


class ObservabilityInterceptor(grpc.aio.ServerInterceptor):
    """Binds the request id, counts and times every RPC, maps domain errors to statuses.

    With ``check_callers`` (a server with mutual TLS) it also refuses callers that
    rampart.lib.callers does not allow, before the handler runs.
    """

    def __init__(self, service: str, check_callers: bool = False) -> None:
        self._service = service
        self._check_callers = check_callers

    async def intercept_service(
        self,
        continuation: Callable[[grpc.HandlerCallDetails], Awaitable[Handler | None]],
        details: grpc.HandlerCallDetails,
    ) -> Handler | None:
        handler = await continuation(details)
        if handler is None:
            return handler
        full_method = details.method
        method = full_method.rsplit("/", 1)[-1]
        request_id = _request_id(details)
        check = full_method if self._check_callers else None
        if handler.unary_unary:
            return grpc.unary_unary_rpc_method_handler(
                self._wrap_unary(handler.unary_unary, method, request_id, check),
                request_deserializer=handler.request_deserializer,
                response_serializer=handler.response_serializer,
            )
        if handler.unary_stream:
            return grpc.unary_stream_rpc_method_handler(
                self._wrap_stream(handler.unary_stream, method, request_id, check),  # type: ignore[arg-type]
                request_deserializer=handler.request_deserializer,
                response_serializer=handler.response_serializer,
            )
        if check is not None and not may_call("", full_method):
            return None  # a streaming-request RPC the checks above do not cover: fail closed
        return handler

    def _finish(self, method: str, started: float, code: grpc.StatusCode) -> None:
        RPC_REQUESTS.labels(self._service, method, code.name).inc()
        RPC_LATENCY.labels(self._service, method).observe(time.perf_counter() - started)

    async def _fail(self, context: Context, method: str, error: Exception) -> NoReturn:
        if isinstance(error, RampartError):
            log.info("rpc refused", method=method, code=error.public_code, reason=error.message)
            await _abort(context, error.status())
        if isinstance(error, ConnectionFailure):
            log.warning("store unreachable", method=method, error=str(error))
            await _abort(context, _status("SERVICE_UNAVAILABLE", "the store is unavailable; retry shortly"))
        if isinstance(error, NotImplementedError):
            await _abort(context, _status("NOT_IMPLEMENTED", f"{method} is not implemented yet"))
        if not isinstance(error, grpc.aio.AbortError):
            log.error("rpc failed", method=method, exc_info=error)
            await _abort(context, _status("INTERNAL_ERROR", "internal error"))
        raise error

    def _wrap_unary(
        self, inner: Callable[..., Awaitable[Any]], method: str, request_id: str, check: str | None
    ) -> Callable[..., Awaitable[Any]]:
        async def unary(request: Any, context: Context) -> Any:
            bind_request(request_id)
            started = time.perf_counter()
            try:
                if check is not None:
                    authorize(context, check)
                response = inner(request, context)
                if inspect.isawaitable(response):
                    response = await response
            except Exception as error:
                code = _status_of(error, context)
                self._finish(method, started, code)
                await self._fail(context, method, error)
            self._finish(method, started, _code(context) or grpc.StatusCode.OK)
            return response

        return unary

    def _wrap_stream(
        self, inner: Callable[..., AsyncIterator[Any]], method: str, request_id: str, check: str | None
    ) -> Callable[..., AsyncIterator[Any]]:
        async def stream(request: Any, context: Context) -> AsyncIterator[Any]:
            bind_request(request_id)
            started = time.perf_counter()
            try:
                if check is not None:
                    authorize(context, check)
                async for item in inner(request, context):
                    yield item
            except Exception as error:
                code = _status_of(error, context)
                self._finish(method, started, code)
                await self._fail(context, method, error)
            self._finish(method, started, _code(context) or grpc.StatusCode.OK)

        return stream


async def create_server(
    service: str,
    bindings: Iterable[ServiceBinding],
    host: str,
    port: int,
    tls: TlsFiles | None = None,
) -> tuple[grpc.aio.Server, int, HealthServicer]:
    """Build a server with health and reflection; bind host:port (0 picks a free port).

    With ``tls`` the port speaks mutual TLS only and callers are checked against
    rampart.lib.callers; without it (development and unit tests) it is plaintext.
    """
    interceptor = ObservabilityInterceptor(service, check_callers=tls is not None)
    server = grpc.aio.server(interceptors=[interceptor])
    health = HealthServicer()
    health_pb2_grpc.add_HealthServicer_to_server(health, server)
    names = [health_pb2.DESCRIPTOR.services_by_name["Health"].full_name]
    for binding in bindings:
        binding.add_to_server(binding.servicer, server)
        names.append(binding.full_name)
        await health.set(binding.full_name, health_pb2.HealthCheckResponse.NOT_SERVING)
    names.append(reflection.SERVICE_NAME)
    reflection.enable_server_reflection(names, server)
    address = f"{host}:{port}"
    if tls is None:
        bound = server.add_insecure_port(address)
    else:
        bound = server.add_secure_port(address, tls.server_credentials())
    if not bound:
        raise OSError(f"could not bind gRPC port {host}:{port}")
    await health.set("", health_pb2.HealthCheckResponse.NOT_SERVING)
    return server, bound, health


async def create_health_server(health: HealthServicer, host: str, port: int) -> tuple[grpc.aio.Server, int]:
    """A plaintext server answering only grpc.health.v1, for kubelet's gRPC probes."""
    server = grpc.aio.server()
    health_pb2_grpc.add_HealthServicer_to_server(health, server)
    bound = server.add_insecure_port(f"{host}:{port}")
    if not bound:
        raise OSError(f"could not bind health port {host}:{port}")
    return server, bound
