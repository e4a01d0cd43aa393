"""Scheduler: 1,000 schedules due the same minute start their scans (sandbox scans) within it.

Starts the whole platform, registers an organisation (plan limits lifted, as for a large
customer), and creates 1,000 schedules with a test key through the gateway (a few requests side by
side), each with the same daily cron expression. Creating them takes minutes on a loaded machine,
so once they all exist their next run is set in the store to the coming minute, as the scheduler
plans it for a cron expression of that minute (one write; the bench already lifts the plan limits
in the store). Then waits for every schedule's scan and prints how long after the fire time the
first and the last scan were created (scan-service's own created_at, read through the API), when
the last scan's job reached the broker (the outbox's published_at), how many scans were started
(exactly one per schedule is expected), and the CPU time each process used meanwhile (the machine
is shared: CPU seconds say what the scheduler costs whatever else runs).
"""

from __future__ import annotations

import os
import shutil
import sys
import tempfile
import time
from concurrent.futures import ThreadPoolExecutor
from datetime import UTC, datetime, timedelta
from pathlib import Path
from typing import Any

import httpx2 as httpx
import pymongo
from pymongo.database import Database

sys.path.insert(0, str(Path(__file__).resolve().parents[1]))

from rampart_devtools.devstack import DevStack

PASSWORD = "sched-Bench-Passw0rd-7"
SCHEDULES = 1_000
CREATORS = 8  # schedules created side by side
LEAD_SECONDS = 20  # the fire minute is at least this far after the last schedule is created
TICKS = os.sysconf("SC_CLK_TCK")


def cpu_seconds(stack: DevStack) -> dict[str, float]:
    """CPU time (user + system) each process of the stack has used so far."""
    used = {}
    for name, process in stack.processes.items():
        try:
            fields = Path(f"/proc/{process.pid}/stat").read_text().rsplit(")", 1)[1].split()
        except OSError:
            continue
        used[name] = (int(fields[11]) + int(fields[12])) / TICKS
    return used


def published_at(value: Any) -> datetime:
    """The outbox's published_at: a datetime, or the naive ISO string nx-27017 gives back for it."""
    if isinstance(value, datetime):
        return value if value.tzinfo else value.replace(tzinfo=UTC)
    return datetime.fromisoformat(str(value)).replace(tzinfo=UTC)


def main() -> int:
    data_dir = Path(tempfile.mkdtemp(prefix="rampart-schedule-bench-"))
    env = {"LOG_LEVEL": "warning"}
    for name in ("SCHEDULER_BATCH", "SCHEDULER_CONCURRENCY"):  # to compare: SCHEDULER_BATCH=500 python …
        if os.environ.get(name):
            env[name] = os.environ[name]
    stack = DevStack.on_free_ports(data_dir, log_level="warning", extra_env=env)
    try:
        stack.start_all()
        stack.wait_health(200, deadline=90)
        client = httpx.Client(base_url=stack.gateway_url, timeout=60)
        account = client.post(
            "/api/v1/auth/register", json={"email": "schedules@example.com", "password": PASSWORD}
        ).json()["data"]
        store: pymongo.MongoClient[dict[str, Any]]
        with pymongo.MongoClient(stack.mongodb_url) as store:
            limits = {"requests_per_hour": 10**9, "scans_per_day": 0, "concurrent_scans": 0}
            store["rampart_auth"]["organizations"].update_one(
                {"_id": account["org_id"]}, {"$set": {"limits": limits}}
            )
        live = {"Authorization": f"Bearer {account['api_key']}"}
        test_key = client.post("/api/v1/api-keys", json={"mode": "test"}, headers=live).json()["data"][
            "api_key"
        ]
        headers = {"Authorization": f"Bearer {test_key}"}
        far = datetime.now(UTC) + timedelta(hours=12)
        body = {
            "targets": ["127.0.0.1"],
            "ports": "top-100",
            "cron": f"{far.minute} {far.hour} * * *",
            "time_zone": "UTC",
        }
        began = time.monotonic()

        def create(_: int) -> None:
            client.post("/api/v1/schedules", json=body, headers=headers).raise_for_status()

        with ThreadPoolExecutor(CREATORS) as pool:
            list(pool.map(create, range(SCHEDULES)))
        fire = (datetime.now(UTC) + timedelta(seconds=LEAD_SECONDS + 60)).replace(second=0, microsecond=0)
        with pymongo.MongoClient(stack.mongodb_url) as store:
            scan_db: Database[dict[str, Any]] = store["rampart_scan"]
            moved = scan_db["scan_schedules"].update_many(
                {"org_id": account["org_id"]}, {"$set": {"next_run_at": fire.timestamp()}}
            )
            print(
                f"\n{SCHEDULES:,} schedules created in {time.monotonic() - began:.1f} s; "
                f"{moved.modified_count:,} due at {fire:%H:%M} UTC"
            )
            time.sleep(max(0.0, (fire - datetime.now(UTC)).total_seconds() - 2))
            cpu_before = cpu_seconds(stack)
            load_before = os.getloadavg()[0]
            deadline = fire + timedelta(minutes=3)
            job_entries = {"subject": {"$regex": "jobs"}, "published": True}
            while datetime.now(UTC) < deadline:
                time.sleep(2)
                if (
                    scan_db["scans"].count_documents({"org_id": account["org_id"]}) >= SCHEDULES
                    and scan_db["outbox"].count_documents(job_entries) >= SCHEDULES
                ):
                    break
            stored = scan_db["scans"].count_documents({"org_id": account["org_id"]})
            cpu_after = cpu_seconds(stack)
            load_after = os.getloadavg()[0]
            jobs = [
                published_at(doc["published_at"])
                for doc in scan_db["outbox"].find(job_entries, {"published_at": 1})
            ]
        created: list[datetime] = []
        cursor = ""
        while True:
            page = client.get(
                "/api/v1/scans",
                params={"per_page": 100, "cursor": cursor} if cursor else {"per_page": 100},
                headers=headers,
            ).json()["data"]
            created += [datetime.fromisoformat(s["created_at"].replace("Z", "+00:00")) for s in page["items"]]
            cursor = page.get("next_cursor") or ""
            if not cursor:
                break
        if not created:
            print("  no scan started")
            return 1
        first, last = min(created) - fire, max(created) - fire
        within = "within" if last < timedelta(minutes=1) and len(created) == SCHEDULES else "NOT within"
        print(
            f"  {len(created):,} scans started; first {first.total_seconds():.1f} s, "
            f"last {last.total_seconds():.1f} s after the fire time ({within} the minute)"
        )
        print(f"  {stored:,} scans in the store, {len(created):,} listed through the API")
        if jobs:
            print(
                f"  {len(jobs):,} jobs published, the last {(max(jobs) - fire).total_seconds():.1f} s "
                "after the fire time"
            )
        busy = {n: cpu_after[n] - cpu_before.get(n, 0.0) for n in cpu_after}
        print(
            "  CPU seconds meanwhile: "
            + ", ".join(f"{n} {v:.1f}" for n, v in sorted(busy.items(), key=lambda kv: -kv[1]) if v >= 0.1)
        )
        print(f"  load average (1 min) {load_before:.2f} at the fire time, {load_after:.2f} at the end")
        client.close()
        return 0
    finally:
        stack.stop_all()
        if os.environ.get("BENCH_KEEP_LOGS"):  # BENCH_KEEP_LOGS=/some/dir keeps the processes' logs
            shutil.copytree(data_dir / "log", os.environ["BENCH_KEEP_LOGS"], dirs_exist_ok=True)
        shutil.rmtree(data_dir, ignore_errors=True)


if __name__ == "__main__":
    sys.exit(main())
