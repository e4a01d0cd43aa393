"""Asset inventory figures on the local store (nx-27017): what keeping the inventory costs the
scan-events consumer.

- one host with N open ports (port_found then service_detected per port, as a scan publishes them):
  events per second applied, and p50 / p95 of one event, as the record grows;
- the same events delivered again: events per second (a redelivery reads and writes nothing new);
- listing: p50 of ``GET``-equivalent ``AssetService.list`` over M assets, filtered and sorted.

Run: ``uv run python bench/assets_bench.py [--ports N] [--assets M]`` (defaults 100 and 500;
``--ports 1000 --assets 2000`` takes about 8 minutes here).
"""

from __future__ import annotations

import argparse
import asyncio
import statistics
import sys
import time
from datetime import UTC, datetime, timedelta
from pathlib import Path

from pymongo import AsyncMongoClient

sys.path.insert(0, str(Path(__file__).resolve().parents[1]))

from rampart.lib.store import Document
from rampart_threat.assets.domain import Observation, Service
from rampart_threat.assets.repository import AssetFilter, MongoAssetRepository
from rampart_threat.assets.service import AssetListing, AssetService
from tests.servers import started

T0 = datetime(2026, 3, 1, 9, 0, tzinfo=UTC)


def events(host: str, ports: int) -> list[Observation]:
    out = []
    for n in range(ports):
        port = 1000 + n
        at = T0 + timedelta(milliseconds=n)
        out.append(Observation("scn_1", host, port, "tcp", True, at))
        detected = Service("http", "nginx", "1.24.0")
        out.append(
            Observation("scn_1", host, port, "tcp", True, at + timedelta(seconds=1), detected, "nginx")
        )
    return out


async def apply(service: AssetService, batch: list[Observation]) -> list[float]:
    times = []
    for seen in batch:
        start = time.perf_counter()
        await service.observe("org_a", True, seen)
        times.append(time.perf_counter() - start)
    return times


def pct(values: list[float], q: float) -> float:
    return sorted(values)[min(len(values) - 1, int(q * len(values)))] * 1000


async def main(port: int, ports: int, assets: int) -> None:
    client: AsyncMongoClient[Document] = AsyncMongoClient(
        f"mongodb://127.0.0.1:{port}/?directConnection=true", tz_aware=True
    )
    repository = MongoAssetRepository(client[f"bench_{time.monotonic_ns()}"])
    await repository.create_indexes()
    service = AssetService(repository)
    batch = events("10.0.0.5", ports)
    first = await apply(service, batch)
    again = await apply(service, batch)
    print(f"one host, {ports} open ports ({len(batch)} events):")
    tail = statistics.median(first[-100:]) * 1000
    print(
        f"  first delivery: {len(batch) / sum(first):.0f} events/s, "
        f"p50 {pct(first, 0.5):.2f} ms, p95 {pct(first, 0.95):.2f} ms, last 100 p50 {tail:.2f} ms"
    )
    print(f"  redelivered:    {len(batch) / sum(again):.0f} events/s, p95 {pct(again, 0.95):.2f} ms")
    for n in range(assets):
        await service.observe(
            "org_a", True, Observation("scn_2", f"10.1.{n // 250}.{n % 250}", 22, "tcp", True, T0)
        )
    listing = AssetListing(AssetFilter("org_a", port=22), "last_seen", False, page_size=50)
    times = []
    for _ in range(50):
        start = time.perf_counter()
        await service.list(listing)
        times.append(time.perf_counter() - start)
    print(f"list {assets + 1} assets (port=22, last_seen, 50 per page): p50 {pct(times, 0.5):.2f} ms")
    await client.close()


if __name__ == "__main__":
    parser = argparse.ArgumentParser()
    parser.add_argument("--ports", type=int, default=100)
    parser.add_argument("--assets", type=int, default=500)
    args = parser.parse_args()
    with started("nx-27017") as store:
        asyncio.run(main(store.port, args.ports, args.assets))
