"""scan-service settings (shared by the gRPC service and the scan workers)."""

from __future__ import annotations

import ipaddress
from pathlib import Path
from typing import Literal

from pydantic import Field

from rampart.lib.settings import ServiceSettings
from rampart_scan.engine.addresses import IPAddress, canonical
from rampart_scan.engine.targets import ResolveBudget
from rampart_scan.scope import LOOPBACK, NOTHING, Scope


class ScanSettings(ServiceSettings):
    """PORT defaults to 50052 (the workers serve only METRICS_PORT)."""

    port: int = Field(default=50052, ge=0, le=65535)
    scan_scope_file: Path | None = None
    # The default scope when no scope file (or no "default" entry) says otherwise: "none" allows
    # nothing (production); "loopback" allows 127.0.0.0/8 and ::1 (make run sets it).
    scan_default_scope: Literal["none", "loopback"] = "none"
    # Name resolution per request: at most this many distinct names, all within this time.
    scan_resolve_max_names: int = Field(default=32, ge=1, le=256)
    scan_resolve_timeout_seconds: float = Field(default=5.0, gt=0, le=30)
    # The platform's own addresses (CIDRs) and endpoints (ip:port): never scanned by default.
    platform_addresses: str = ""
    platform_endpoints: str = ""
    # The platform's ceiling on hosts per scan; a plan's max_hosts_per_scan applies below it.
    max_hosts_per_scan: int = Field(default=65536, ge=1, le=65536)
    # Shards (docs/deploying.md): a scan larger than one block of hosts x ports becomes
    # several jobs on the work queue, run by any number of workers.
    shard_hosts: int = Field(default=256, ge=1, le=65536)
    shard_ports: int = Field(default=65536, ge=1, le=65536)
    # Probes per second over every scan of the platform (0 = no platform-wide cap), and how
    # many tokens a worker takes from a shared bucket per store round trip.
    platform_probes_per_second: float = Field(default=0.0, ge=0)
    pacing_batch: int = Field(default=64, ge=1, le=100_000)
    worker_concurrency: int = Field(default=2, ge=1, le=64)
    # TCP scans by half-open SYNs on a raw socket instead of connect() (docs/engine.md, SYN mode):
    # off unless the operator turns it on; the worker must also hold CAP_NET_RAW, or its TCP
    # scans fail with a reason saying so.
    scan_syn: bool = False
    job_ack_wait_seconds: float = Field(default=30.0, ge=2.0)
    cancel_poll_seconds: float = Field(default=1.0, gt=0, le=5)
    # Durability (docs/security/durability.md): the sweeper's period, how long an active scan
    # may go untouched before its job is published again, and how long a retry waits for the
    # scan of a key whose create is still in flight before taking the key over.
    sweep_seconds: float = Field(default=5.0, gt=0, le=300)
    # The scheduler (docs/monitoring.md): how often it looks for due runs, and how long its lease
    # lasts without renewal before another replica's scheduler takes over.
    scheduler_tick_seconds: float = Field(default=5.0, gt=0, le=60)
    scheduler_lease_seconds: float = Field(default=30.0, ge=1, le=600)
    scheduler_concurrency: int = Field(default=16, ge=1, le=256)  # live runs' targets resolved side by side
    scheduler_batch: int = Field(default=200, ge=1, le=1000)  # due runs started together (one admission)
    requeue_after_seconds: float = Field(default=120.0, ge=1)
    idempotency_grace_seconds: float = Field(default=5.0, gt=0, le=60)

    @property
    def lease_seconds(self) -> float:
        """A worker's claim on a scan lasts two ack waits; it renews it three times per ack wait."""
        return 2 * self.job_ack_wait_seconds

    def platform_networks(self) -> tuple[ipaddress.IPv4Network | ipaddress.IPv6Network, ...]:
        return tuple(
            ipaddress.ip_network(v.strip(), strict=False)
            for v in self.platform_addresses.split(",")
            if v.strip()
        )

    def platform_endpoint_set(self) -> frozenset[tuple[IPAddress, int]]:
        """PLATFORM_ENDPOINTS as (canonical address, port): ``::ffff:7f00:1`` is 127.0.0.1."""
        endpoints = set()
        for value in filter(None, (v.strip() for v in self.platform_endpoints.split(","))):
            host, _, port = value.rpartition(":")
            endpoints.add((canonical(ipaddress.ip_address(host.strip("[]"))), int(port)))
        return frozenset(endpoints)

    def resolve_budget(self) -> ResolveBudget:
        return ResolveBudget(self.scan_resolve_max_names, self.scan_resolve_timeout_seconds)

    def default_scope(self) -> Scope:
        return LOOPBACK if self.scan_default_scope == "loopback" else NOTHING
