"""Gateway front-door benchmark: authenticated GET /api/v1/user/profile vs a bare endpoint.

Starts the whole platform on free ports, registers an account (with limits raised so the
load is not rate-limited), then runs wrk with 64 connections against the bare Starlette
endpoint, the profile with an API key and the profile with a JWT, one after another.
Budget: at least 25% of the bare requests/s, p99 under 100 ms.
"""

from __future__ import annotations

import argparse
import json
import re
import shutil
import subprocess
import sys
import tempfile
import time
import urllib.parse
import urllib.request
from pathlib import Path

import pymongo

from rampart_devtools.devstack import DevStack
from rampart_devtools.ports import free_port, port_open

UNITS = {"us": 0.001, "ms": 1.0, "s": 1000.0}


def wrk(url: str, seconds: int, connections: int, headers: dict[str, str]) -> dict[str, float]:
    argv = ["wrk", "-t2", f"-c{connections}", f"-d{seconds}s", "--latency"]
    for name, value in headers.items():
        argv += ["-H", f"{name}: {value}"]
    out = subprocess.run([*argv, url], capture_output=True, text=True, check=True).stdout
    rps = float(re.search(r"Requests/sec:\s+([\d.]+)", out).group(1))  # type: ignore[union-attr]
    pct = {p: float(v) * UNITS[u] for p, v, u in re.findall(r"\s(50|99)%\s+([\d.]+)(us|ms|s)", out)}
    non2xx = re.search(r"Non-2xx or 3xx responses: (\d+)", out)
    return {"rps": rps, "p50": pct["50"], "p99": pct["99"], "errors": int(non2xx.group(1)) if non2xx else 0}


def post(url: str, body: bytes, content_type: str) -> dict:
    request = urllib.request.Request(url, body, {"content-type": content_type})
    with urllib.request.urlopen(request, timeout=10) as reply:
        return json.loads(reply.read())


def main() -> int:
    parser = argparse.ArgumentParser()
    parser.add_argument("--seconds", type=int, default=10)
    parser.add_argument("--connections", type=int, default=64)
    args = parser.parse_args()
    if shutil.which("wrk") is None:
        print("wrk is missing: apt-get install wrk", file=sys.stderr)
        return 1
    data_dir = Path(tempfile.mkdtemp(prefix="rampart-bench-"))
    stack = DevStack.on_free_ports(data_dir, log_level="warning")
    bare_port = free_port()
    bare = subprocess.Popen([sys.executable, str(Path(__file__).with_name("bare_app.py")), str(bare_port)])
    try:
        stack.start_all()
        stack.wait_health(200, deadline=60)
        while not port_open(bare_port):
            time.sleep(0.05)
        password = "load-Test-Passw0rd-42"
        account = post(
            f"{stack.gateway_url}/api/v1/auth/register",
            json.dumps({"email": "bench@example.com", "password": password}).encode(),
            "application/json",
        )["data"]
        with pymongo.MongoClient(stack.mongodb_url) as store:
            store["rampart_auth"]["organizations"].update_one(
                {"_id": account["org_id"]}, {"$set": {"limits": {"requests_per_hour": 10**9}}}
            )
        form = urllib.parse.urlencode({"username": "bench@example.com", "password": password}).encode()
        token = post(f"{stack.gateway_url}/api/v1/auth/token", form, "application/x-www-form-urlencoded")[
            "access_token"
        ]
        profile = f"{stack.gateway_url}/api/v1/user/profile"
        runs = {
            "bare Starlette JSON": wrk(
                f"http://127.0.0.1:{bare_port}/bare", args.seconds, args.connections, {}
            ),
            "profile, API key": wrk(
                profile, args.seconds, args.connections, {"Authorization": f"Bearer {account['api_key']}"}
            ),
            "profile, JWT": wrk(
                profile, args.seconds, args.connections, {"Authorization": f"Bearer {token}"}
            ),
        }
    finally:
        bare.terminate()
        bare.wait()
        stack.stop_all()
        shutil.rmtree(data_dir, ignore_errors=True)
    base = runs["bare Starlette JSON"]["rps"]
    print(f"\n{args.connections} connections, {args.seconds} s each, wrk -t2 on this machine\n")
    print(f"{'endpoint':<22}{'req/s':>10}{'p50 ms':>9}{'p99 ms':>9}{'vs bare':>9}{'non-2xx':>9}")
    failed = False
    for name, run in runs.items():
        ratio = run["rps"] / base
        print(
            f"{name:<22}{run['rps']:>10.0f}{run['p50']:>9.2f}{run['p99']:>9.2f}{ratio:>8.0%}{run['errors']:>9}"
        )
        if name != "bare Starlette JSON" and (ratio < 0.25 or run["p99"] >= 100 or run["errors"]):
            failed = True
    print("\nbudget: >= 25% of bare req/s, p99 < 100 ms, no errors:", "FAIL" if failed else "PASS")
    return 1 if failed else 0


if __name__ == "__main__":
    sys.exit(main())
