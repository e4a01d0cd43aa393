"""Feed import benchmark on a real nx-27017 store (loopback only, nothing downloaded).

1. NVD API 2.0 JSON: records per second importing N synthetic records (copies of the real
   CVE-2024-6387 record under new ids) as API pages of 2,000 records.
2. CVE JSON 5: records per second importing N synthetic records (copies of the real
   CVE-2024-6387 CVE 5 record) as a directory tree.
3. KEV: seconds to import the whole real catalogue (../shared/vulnfeeds, 1,404 entries).
4. EPSS: seconds to import a synthetic 300,000-row scores file (.csv.gz), then the same file
   again (all unchanged).

FEEDS_BENCH_RECORDS (default 20000) sets N for 1 and 2.
"""

from __future__ import annotations

import asyncio
import copy
import gzip
import json
import os
import random
import sys
import tempfile
from pathlib import Path

from pymongo import AsyncMongoClient

ROOT = Path(__file__).resolve().parents[1]
sys.path.insert(0, str(ROOT))

from rampart_threat.feeds.domain import FeedKind, ImportReport  # noqa: E402
from rampart_threat.feeds.repository import MongoFeedRepository  # noqa: E402
from rampart_threat.feeds.service import FeedService  # noqa: E402
from tests.servers import started  # noqa: E402

FEEDS = ROOT.parent / "shared" / "vulnfeeds"
RECORDS = int(os.environ.get("FEEDS_BENCH_RECORDS", "20000"))
EPSS_ROWS = 300_000


def nvd_pages(directory: Path, count: int) -> None:
    template = json.loads((FEEDS / "nvd" / "CVE-2024-6387.json").read_text())
    for start in range(0, count, 2000):
        items = []
        for n in range(start, min(count, start + 2000)):
            cve = copy.deepcopy(template)
            cve["id"] = f"CVE-2090-{n:07d}"
            items.append({"cve": cve})
        (directory / f"page-{start:07d}.json").write_text(json.dumps({"vulnerabilities": items}))


def cve5_tree(directory: Path, count: int) -> None:
    template = json.loads((FEEDS / "cve5" / "CVE-2024-6387.json").read_text())
    for n in range(count):
        record = copy.deepcopy(template)
        record["cveMetadata"]["cveId"] = cve_id = f"CVE-2090-{n:07d}"
        folder = directory / "2090" / f"{n // 1000}xxx"
        folder.mkdir(parents=True, exist_ok=True)
        (folder / f"{cve_id}.json").write_text(json.dumps(record))


def epss_file(path: Path, rows: int) -> None:
    rng = random.Random(7)
    with gzip.open(path, "wt") as out:
        out.write("#model_version:v2025.03.14,score_date:2026-11-20T12:55:00Z\ncve,epss,percentile\n")
        for n in range(rows):
            out.write(f"CVE-{1999 + n % 27}-{n:07d},{rng.random():.5f},{rng.random():.5f}\n")


def line(label: str, report: ImportReport, records: int | None = None) -> None:
    counts = report.counts
    rate = f", {records / report.seconds:,.0f} records/s" if records else ""
    print(
        f"  {label}: {report.seconds:.2f} s{rate} (added {counts.added}, updated {counts.updated}, "
        f"unchanged {counts.unchanged}, removed {counts.removed})"
    )


async def run(port: int, work: Path) -> None:
    client: AsyncMongoClient[dict[str, object]] = AsyncMongoClient(
        f"mongodb://127.0.0.1:{port}/?directConnection=true"
    )
    repository = MongoFeedRepository(client["feeds_bench"])
    await repository.create_indexes()
    feeds = FeedService(repository)
    (work / "nvd").mkdir()
    nvd_pages(work / "nvd", RECORDS)
    line(f"NVD 2.0 JSON, {RECORDS:,} records", await feeds.import_path(FeedKind.NVD, work / "nvd"), RECORDS)
    line("NVD 2.0 JSON again (all unchanged)", await feeds.import_path(FeedKind.NVD, work / "nvd"), RECORDS)
    (work / "cve5").mkdir()
    cve5_tree(work / "cve5", RECORDS)
    line(f"CVE JSON 5, {RECORDS:,} records", await feeds.import_path(FeedKind.CVE5, work / "cve5"), RECORDS)
    kev = FEEDS / "kev" / "known_exploited_vulnerabilities.json"
    line("CISA KEV, whole catalogue (1,404)", await feeds.import_path(FeedKind.KEV, kev), 1404)
    epss_file(work / "epss.csv.gz", EPSS_ROWS)
    line(f"EPSS, {EPSS_ROWS:,} rows", await feeds.import_path(FeedKind.EPSS, work / "epss.csv.gz"), EPSS_ROWS)
    line(
        "EPSS again (all unchanged)", await feeds.import_path(FeedKind.EPSS, work / "epss.csv.gz"), EPSS_ROWS
    )
    await client.close()


def main() -> None:
    if not FEEDS.is_dir():
        print(f"feeds bench skipped: fixtures not found at {FEEDS}")
        return
    print("feed imports (nx-27017 on SQLite, in memory; one process):")
    with (
        tempfile.TemporaryDirectory(prefix="rampart-feeds-bench-") as directory,
        started("nx-27017") as store,
    ):
        asyncio.run(run(store.port, Path(directory)))


if __name__ == "__main__":
    main()
