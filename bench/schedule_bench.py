"""Scheduler: 1,000 schedules due the same minute start their scans (sandbox scans) within it.

Starts the whole platform, registers an organisation (plan limits lifted, as for a large
customer), and creates 1,000 schedules with a test key through the gateway, each with the cron
expression of the same coming minute (UTC). Then waits for every schedule's scan and prints how
long after the fire time the first and the last scan were created (scan-service's own created_at),
and how many scans were started (exactly one per schedule is expected).
"""

from __future__ import annotations

import os
import shutil
import sys
import tempfile
import time
from datetime import UTC, datetime, timedelta
from pathlib import Path
from typing import Any

import httpx2 as httpx
import pymongo

sys.path.insert(0, str(Path(__file__).resolve().parents[1]))

from rampart_devtools.devstack import DevStack

PASSWORD = "sched-Bench-Passw0rd-7"
SCHEDULES = 1_000
SETUP_SECONDS = 120  # creating the schedules must end before the fire minute


def main() -> int:
    data_dir = Path(tempfile.mkdtemp(prefix="rampart-schedule-bench-"))
    env = {"LOG_LEVEL": "warning"}
    if os.environ.get(
        "SCHEDULER_CONCURRENCY"
    ):  # to compare settings: SCHEDULER_CONCURRENCY=64 python bench/...
        env["SCHEDULER_CONCURRENCY"] = os.environ["SCHEDULER_CONCURRENCY"]
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
        fire = (datetime.now(UTC) + timedelta(seconds=SETUP_SECONDS)).replace(second=0, microsecond=0)
        body = {
            "targets": ["127.0.0.1"],
            "ports": "top-100",
            "cron": f"{fire.minute} {fire.hour} * * *",
            "time_zone": "UTC",
        }
        began = time.monotonic()
        for _ in range(SCHEDULES):
            client.post("/api/v1/schedules", json=body, headers=headers).raise_for_status()
        print(
            f"\n{SCHEDULES:,} schedules created in {time.monotonic() - began:.1f} s, due at {fire:%H:%M} UTC"
        )
        if datetime.now(UTC) >= fire:
            print("  creating them took past the fire minute: no figure")
            return 1
        created: list[datetime] = []
        deadline = fire + timedelta(minutes=3)
        while datetime.now(UTC) < deadline:
            time.sleep(5)
            created = []
            cursor = ""
            while True:
                page = client.get(
                    "/api/v1/scans",
                    params={"per_page": 100, "cursor": cursor} if cursor else {"per_page": 100},
                    headers=headers,
                ).json()["data"]
                created += [
                    datetime.fromisoformat(s["created_at"].replace("Z", "+00:00")) for s in page["items"]
                ]
                cursor = page.get("next_cursor") or ""
                if not cursor:
                    break
            if len(created) >= SCHEDULES:
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
        client.close()
        return 0
    finally:
        stack.stop_all()
        shutil.rmtree(data_dir, ignore_errors=True)


if __name__ == "__main__":
    sys.exit(main())
