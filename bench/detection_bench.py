"""Detection benchmark: real Debian servers on loopback, Rampart's engine beside `nmap -sV --version-all`.

Run by `make bench` (as root it installs the servers with apt first; `make test` never does).
For every server it knows the truth (package and version from dpkg), asks Rampart's engine
(`services.detect`) and nmap (an external yardstick binary, never used by the product) what runs on
its port, and prints service / product / version right for each, the time per port, and totals.
`--record DIR` also writes the bytes each server answered as transcript drafts for the rule tests.
"""

from __future__ import annotations

import argparse
import asyncio
import contextlib
import ipaddress
import os
import re
import shutil
import subprocess
import sys
import time
import xml.etree.ElementTree as ET
from dataclasses import dataclass
from pathlib import Path

sys.path.insert(0, str(Path(__file__).resolve().parent))

from servers_catalog import APT_PACKAGES, Running, started
from servers_specs import SPECS

from rampart_scan.engine.services import ServiceInfo, detect, exchange, load_rules
from rampart_scan.engine.targets import Host

LOOPBACK = Host(ipaddress.ip_address("127.0.0.1"))


@dataclass
class Answer:
    service: str
    product: str
    version: str


@dataclass
class Row:
    server: Running
    rampart: Answer
    seconds: float
    nmap: Answer | None
    info: ServiceInfo


def install() -> None:
    if os.geteuid() != 0 or not shutil.which("apt-get"):
        print("not root: servers that are not installed are skipped")
        return
    missing = [p for p in APT_PACKAGES if subprocess.run(["dpkg", "-s", p], capture_output=True).returncode]
    if missing:
        print(f"apt-get install {len(missing)} packages …", flush=True)
        env = {**os.environ, "DEBIAN_FRONTEND": "noninteractive"}
        subprocess.run(
            ["apt-get", "install", "-y", "-qq", "--no-install-recommends", *missing], env=env, check=False
        )


def right(
    spec_services: tuple[str, ...], product_re: str, truth: str, versioned: bool, a: Answer | None
) -> tuple[bool, bool, bool]:
    if a is None:
        return False, False, False
    service = a.service.removeprefix("ssl/") in spec_services or a.service in spec_services
    product = bool(a.product) and re.search(product_re, a.product, re.I) is not None
    reported = a.version.split(" ")[0] if a.version else ""
    version = versioned and bool(reported) and (reported == truth or truth.startswith(reported + "p"))
    return service, product, version


def nmap_scan(ports: list[int]) -> tuple[dict[int, Answer], float]:
    if not shutil.which("nmap"):
        return {}, float("nan")
    began = time.perf_counter()
    out = subprocess.run(
        [
            "nmap",
            "-sV",
            "--version-all",
            "-Pn",
            "-n",
            "-oX",
            "-",
            "-p",
            ",".join(map(str, ports)),
            "127.0.0.1",
        ],
        capture_output=True,
        text=True,
        check=False,
    ).stdout
    elapsed = time.perf_counter() - began
    answers = {}
    for port in ET.fromstring(out).iter("port"):  # noqa: S314 - our own nmap run on loopback
        svc = port.find("service")
        if svc is None or svc.get("method") == "table":  # nmap's name from the port number alone
            continue
        name = ("ssl/" if svc.get("tunnel") == "ssl" else "") + svc.get("name", "")
        answers[int(port.get("portid", "0"))] = Answer(name, svc.get("product", ""), svc.get("version", ""))
    return answers, elapsed


async def rampart_all(servers: list[Running]) -> tuple[list[tuple[ServiceInfo, float]], float]:
    async def one(server: Running) -> tuple[ServiceInfo, float]:
        began = time.perf_counter()
        info = await detect(LOOPBACK, server.port)
        return info, time.perf_counter() - began

    began = time.perf_counter()
    results = await asyncio.gather(*(one(s) for s in servers))
    return list(results), time.perf_counter() - began


def record(directory: Path, row: Row) -> None:
    """Write what the server answered to the probe that matched (or to null and http) as a draft."""
    rules = load_rules()
    wanted = [p for p in rules.probes if p.name == row.info.probe] or [
        p for p in rules.probes if p.name in ("null", "http")
    ]
    for probe in wanted:
        data = asyncio.run(exchange(LOOPBACK, row.server.port, probe, 3.0)) or b""
        spec = row.server.spec
        (directory / f"{spec.name}.{probe.name}.draft").write_text(
            f"package = {spec.package!r}\nversion = {deb_full(spec.package)!r}\nprobe = {probe.name!r}\n"
            f"response_hex = {data.hex()!r}\n# {data[:300]!r}\n# rampart: {row.rampart}\n# nmap: {row.nmap}\n"
        )


def deb_full(package: str) -> str:
    return subprocess.run(
        ["dpkg-query", "-W", "-f=${Version}", package], capture_output=True, text=True
    ).stdout


def mark(flag: bool) -> str:
    return "✔" if flag else "·"


def table(rows: list[Row], skipped: list[tuple[str, str]], rampart_wall: float, nmap_wall: float) -> str:
    lines = [
        "| server | package version | Rampart: service product version | time "
        "| nmap: service product version | Rampart says | nmap says | note |",
        "|---|---|---|---|---|---|---|---|",
    ]
    totals = [0] * 6
    for row in rows:
        spec = row.server.spec
        r = right(spec.services, spec.product, row.server.truth, spec.versioned, row.rampart)
        n = right(spec.services, spec.product, row.server.truth, spec.versioned, row.nmap)
        totals = [t + int(v) for t, v in zip(totals, (*r, *n), strict=True)]
        says = lambda a: f"{a.service} {a.product} {a.version}".strip() if a else "-"  # noqa: E731
        lines.append(
            f"| {spec.name} | {spec.package} {row.server.truth} | {' '.join(map(mark, r))} "
            f"| {row.seconds:.2f} s "
            f"| {' '.join(map(mark, n))} | {says(row.rampart)} | {says(row.nmap)} | {spec.note} |"
        )
    versioned = sum(1 for row in rows if row.server.spec.versioned)
    ports = len(rows)
    lines.append(
        f"\n**Totals on {ports} servers ({versioned} whose protocol tells a version):** "
        f"Rampart services {totals[0]}, products {totals[1]}, versions {totals[2]}; "
        f"nmap services {totals[3]}, products {totals[4]}, versions {totals[5]}. "
        f"Wall time, all ports at once: Rampart {rampart_wall:.1f} s, nmap {nmap_wall:.1f} s "
        f"(nmap/Rampart = {nmap_wall / rampart_wall:.1f}x)."
    )
    if skipped:
        lines.append("\nSkipped: " + "; ".join(f"{name} ({why})" for name, why in skipped))
    return "\n".join(lines)


def corpus_counts() -> str:
    rules = load_rules()
    matches = [r for group in rules.rules.values() for r in group]
    services = {r.service for r in matches if r.service != "tls-required"}
    products = {r.product for r in matches if r.product}
    return (
        f"corpus: {len(rules.probes)} probes, {len(matches)} match rules, "
        f"{len(services)} services, {len(products)} products"
    )


def main() -> int:
    parser = argparse.ArgumentParser()
    parser.add_argument("--no-install", action="store_true")
    parser.add_argument("--only", nargs="*", help="server names to run")
    parser.add_argument("--record", type=Path, help="write transcript drafts here")
    args = parser.parse_args()
    if not args.no_install:
        install()
    print(corpus_counts(), flush=True)
    specs = [s for s in SPECS if not args.only or s.name in args.only]
    skipped: list[tuple[str, str]] = []
    with contextlib.ExitStack() as stack:
        servers = []
        for spec in specs:
            try:
                servers.append(stack.enter_context(started(spec)))
            except (RuntimeError, OSError, subprocess.CalledProcessError) as error:
                skipped.append((spec.name, str(error)[:160]))
        print(f"{len(servers)} servers running, {len(skipped)} skipped", flush=True)
        results, rampart_wall = asyncio.run(rampart_all(servers))
        nmap, nmap_wall = nmap_scan([s.port for s in servers])
        rows = []
        for server, (info, seconds) in zip(servers, results, strict=True):
            rows.append(
                Row(
                    server,
                    Answer(info.name, info.product, info.version),
                    seconds,
                    nmap.get(server.port),
                    info,
                )
            )
        if args.record:
            args.record.mkdir(parents=True, exist_ok=True)
            for row in rows:
                record(args.record, row)
    print(f"$ make bench   # bench/detection_bench.py, {time.strftime('%Y-%m-%d')}")
    print(table(rows, skipped, rampart_wall, nmap_wall))
    return 0


if __name__ == "__main__":
    sys.exit(main())
