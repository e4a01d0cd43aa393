"""What the fact probes cost: detection alone vs detection plus facts, per real server on 127.0.0.1.

    uv run --frozen python bench/facts_bench.py [--runs 5]

Each server of tests/servers.py and tests/fact_servers.py is started once; each run times
``services.detect`` and ``facts.detect_with_facts`` on its port (median of the runs) and
prints the facts recorded. Servers that are not installed are listed as skipped.
"""

from __future__ import annotations

import argparse
import asyncio
import contextlib
import ipaddress
import statistics
import sys
import time
from collections.abc import Iterator
from pathlib import Path

sys.path.insert(0, str(Path(__file__).resolve().parents[1]))

from rampart_scan.engine.facts import detect_with_facts
from rampart_scan.engine.services import detect
from rampart_scan.engine.targets import Host
from tests import fact_servers, servers

LOOPBACK = Host(ipaddress.ip_address("127.0.0.1"))
SERVERS = [
    *(("servers", name) for name in ("sshd", "redis", "memcached", "nats", "nx-27017", "mosquitto")),
    *(("servers", name) for name in ("nginx", "pyftpdlib", "aiosmtpd", "http.server")),
    *(("fact_servers", name) for name in fact_servers.LAUNCHERS),
]


@contextlib.contextmanager
def running(module: str, name: str) -> Iterator[servers.Running]:
    start = servers.started if module == "servers" else fact_servers.started
    with start(name) as server:
        yield server


async def timed(port: int, with_facts: bool) -> tuple[float, dict[str, str]]:
    began = time.perf_counter()
    info = await (detect_with_facts(LOOPBACK, port) if with_facts else detect(LOOPBACK, port))
    return time.perf_counter() - began, dict(info.facts)


async def main(runs: int) -> None:
    print(f"{'server':<20} {'detect':>9} {'+ facts':>9} {'facts cost':>10}  facts")
    skipped = []
    for module, name in SERVERS:
        try:
            with running(module, name) as server:
                tls_port = server.extra.get("tls_port")
                ports = [server.port, *([int(tls_port)] if tls_port else [])]
                for port in ports:
                    alone = [(await timed(port, False))[0] for _ in range(runs)]
                    both = [await timed(port, True) for _ in range(runs)]
                    plain, full = statistics.median(alone), statistics.median(t for t, _ in both)
                    label = name if port == server.port else f"{name} (tls)"
                    keys = ", ".join(sorted(both[-1][1]))
                    print(f"{label:<20} {plain:>8.3f}s {full:>8.3f}s {full - plain:>+9.3f}s  {keys}")
        except (servers.ServerMissing, RuntimeError) as missing:
            skipped.append(f"{name} ({missing})")
    if skipped:
        print("skipped:", "; ".join(skipped))


if __name__ == "__main__":
    parser = argparse.ArgumentParser(description=__doc__.split("\n")[0])
    parser.add_argument("--runs", type=int, default=5)
    asyncio.run(main(parser.parse_args().runs))
