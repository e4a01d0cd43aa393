"""Prometheus metrics shared by every service, and the side HTTP port that serves them."""

from __future__ import annotations

from prometheus_client import Counter, Histogram, start_http_server

RPC_REQUESTS = Counter(
    "rampart_grpc_requests_total",
    "gRPC requests handled, by method and status code.",
    ["service", "method", "code"],
)
RPC_LATENCY = Histogram(
    "rampart_grpc_request_duration_seconds",
    "gRPC request handling time.",
    ["service", "method"],
    buckets=(0.0005, 0.001, 0.0025, 0.005, 0.01, 0.025, 0.05, 0.1, 0.25, 0.5, 1, 2.5, 5),
)
EVENTS_PUBLISHED = Counter("rampart_events_published_total", "Events published to JetStream.", ["subject"])
EVENTS_CONSUMED = Counter(
    "rampart_events_consumed_total",
    "Events taken from JetStream, by consumer and outcome (applied, duplicate, retried, dropped).",
    ["consumer", "outcome"],
)


def serve_metrics(host: str, port: int) -> int:
    """Serve /metrics on a side port in a daemon thread; returns the bound port."""
    server, _thread = start_http_server(port, addr=host)
    return int(server.server_port)
