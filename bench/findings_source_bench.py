"""The finding source's cost per open port: the rule files alone, and rules plus CVEs from the starter set.

A 1,000-open-port scan is simulated by PortResults built here, in the proportions a mixed estate gives
(an assumption, not measured): 40 % HTTPS with a TLS audit and HTTP facts, 20 % OpenSSH with its
KEXINIT, 10 % Redis, 10 % nginx over plain HTTP, 20 % PostgreSQL. The catalog is the real
``KnowledgeService`` over an in-memory copy of the shipped starter set (the full-scale matcher has its
own bench, bench/matcher_bench.py). Each figure is the median of ``--runs`` passes over all ports.

Run: ``uv run --frozen python bench/findings_source_bench.py [--ports N] [--runs N]``.
"""

from __future__ import annotations

import argparse
import asyncio
import statistics
import time
from collections.abc import AsyncIterator
from datetime import UTC, datetime, timedelta
from typing import Any, cast

from google.protobuf.timestamp_pb2 import Timestamp

from rampart.scan.v1 import scan_pb2
from rampart_threat.feeds import starter
from rampart_threat.feeds.domain import FeedKind, StoredCve
from rampart_threat.feeds.repository import SourceState
from rampart_threat.feeds.service import FeedService
from rampart_threat.findings.ports import FindingSource, ScanContext
from rampart_threat.findings.source import make_finding_source
from rampart_threat.knowledge.service import KnowledgeService

NOW = datetime(2026, 11, 21, tzinfo=UTC)
CONTEXT = ScanContext(scan_id="scn_bench", org_id="org_bench", live=True, profile="standard")


class StarterStore:
    """The starter set as one active generation, in memory."""

    def __init__(self) -> None:
        loaded = starter.load()
        self.records = [StoredCve(r.cve_id, nvd=r.nvd, kev=r.kev, epss=r.epss) for r in loaded.records]
        self.state = SourceState(loaded.snapshot, len(self.records), "imp_starter", loaded.snapshot)

    async def active(self) -> int:
        return 1

    async def sources(self) -> dict[FeedKind, SourceState]:
        return {FeedKind.STARTER: self.state}

    async def all(self, generation: int | None = None) -> AsyncIterator[StoredCve]:
        for record in self.records:
            yield record

    async def many(self, cve_ids: list[str], generation: int | None = None) -> dict[str, StoredCve]:
        wanted = set(cve_ids)
        return {r.cve_id: r for r in self.records if r.cve_id in wanted}


def _ts(when: datetime) -> Timestamp:
    ts = Timestamp()
    ts.FromDatetime(when)
    return ts


def _port(i: int) -> scan_pb2.PortResult:
    kind = i % 10
    p = scan_pb2.PortResult(host=f"10.0.{i // 250}.{i % 250}", port=1000 + i, protocol="tcp")
    p.state = scan_pb2.PORT_STATE_OPEN
    if kind < 4:
        p.service.CopyFrom(scan_pb2.ServiceInfo(name="https", product="nginx", version="1.22.1"))
        p.service.cpe = "cpe:2.3:a:f5:nginx:1.22.1:*:*:*:*:*:*:*"
        p.service.facts.update({"http.server": "nginx/1.22.1", "http.directory_listing": "false"})
        p.tls.protocols_accepted.extend(["TLSv1.1", "TLSv1.2", "TLSv1.3"])
        p.tls.negotiated_protocol, p.tls.negotiated_cipher = "TLSv1.3", "TLS_AES_256_GCM_SHA384"
        cert = p.tls.certificate
        cert.subject, cert.issuer, cert.key_type, cert.key_bits = "CN=a", "CN=ca", "RSA", 2048
        cert.signature_algorithm = "sha256WithRSAEncryption"
        cert.not_after.CopyFrom(_ts(NOW + timedelta(days=20 + i % 60)))
    elif kind < 6:
        p.service.CopyFrom(scan_pb2.ServiceInfo(name="ssh", product="OpenSSH", version="9.2p1"))
        p.service.cpe = "cpe:2.3:a:openbsd:openssh:9.2p1:*:*:*:*:*:*:*"
        p.service.evidence = "SSH-2.0-OpenSSH_9.2p1 Debian-2+deb12u3\\r\\n"
        p.service.facts.update(
            {
                "ssh.kex": "curve25519-sha256,diffie-hellman-group14-sha256,diffie-hellman-group14-sha1",
                "ssh.hostkey": "rsa-sha2-512,rsa-sha2-256,ssh-ed25519",
                "ssh.ciphers": "chacha20-poly1305@openssh.com,aes128-ctr,aes256-gcm@openssh.com",
                "ssh.macs": "umac-128-etm@openssh.com,hmac-sha2-256-etm@openssh.com,hmac-sha1",
            }
        )
    elif kind == 6:
        p.service.CopyFrom(scan_pb2.ServiceInfo(name="redis", product="Redis", version="7.0.15"))
        p.service.facts.update({"redis.auth": "none", "redis.version": "7.0.15"})
    elif kind == 7:
        p.service.CopyFrom(scan_pb2.ServiceInfo(name="http", product="nginx", version="1.22.1"))
        p.service.cpe = "cpe:2.3:a:f5:nginx:1.22.1:*:*:*:*:*:*:*"
        p.service.facts.update({"http.server": "nginx/1.22.1", "http.directory_listing": "true"})
    else:
        p.service.CopyFrom(scan_pb2.ServiceInfo(name="postgresql", product="PostgreSQL", version="15.8"))
        p.service.cpe = "cpe:2.3:a:postgresql:postgresql:15.8:*:*:*:*:*:*:*"
    return p


async def _pass(source: FindingSource, ports: list[scan_pb2.PortResult]) -> tuple[float, int]:
    started = time.perf_counter()
    found = 0
    for p in ports:
        found += len(await source.findings_for(CONTEXT, p))
    return time.perf_counter() - started, found


async def _measure(name: str, source: FindingSource, ports: list[scan_pb2.PortResult], runs: int) -> None:
    await _pass(source, ports[:10])  # warm: the catalog builds its index on the first query
    times, found = [], 0
    for _ in range(runs):
        elapsed, found = await _pass(source, ports)
        times.append(elapsed)
    median = statistics.median(times)
    print(
        f"{name:<34} {len(ports):>6} ports  {median * 1000:8.1f} ms  "
        f"{len(ports) / median:>9,.0f} ports/s  {median / len(ports) * 1e6:7.1f} µs/port  {found:>6} findings"
    )


async def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__)
    parser.add_argument("--ports", type=int, default=1000)
    parser.add_argument("--runs", type=int, default=5)
    args = parser.parse_args()
    ports = [_port(i) for i in range(args.ports)]
    store = StarterStore()
    catalog = KnowledgeService(cast(Any, store), FeedService(cast(Any, store), stale_days=10_000.0))
    await _measure("rules only", make_finding_source(None, clock=lambda: NOW), ports, args.runs)
    await _measure(
        "rules + CVEs (starter set)", make_finding_source(catalog, clock=lambda: NOW), ports, args.runs
    )


if __name__ == "__main__":
    asyncio.run(main())
