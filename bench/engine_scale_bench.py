"""Engine at scale against nmap, back to back (medians of interleaved runs):

1. our top-1000 ports x 254 loopback hosts (127.0.1.0/24), same open set;
2. all 65,535 ports of 127.0.0.1, beside this kernel's bare connect() rate (the floor);
   both with the connect sweep vs nmap -sT, and (as root) the SYN sweep vs nmap -sS and -sT;
3. 16 hosts behind nftables (mostly dropped) in a private network namespace, vs nmap -sT with
   its default timing: time and port-state agreement (root, nftables);
4. UDP on 100 ports of 127.0.0.1 with real servers, vs nmap -sU (root).

nmap (Debian package) is only a yardstick here; the product neither runs nor reads it.
    uv run --frozen python bench/engine_scale_bench.py [--runs 3]
"""

from __future__ import annotations

import argparse
import asyncio
import errno
import json
import os
import re
import shutil
import socket
import statistics
import subprocess
import sys
import time
from pathlib import Path

sys.path.insert(0, str(Path(__file__).resolve().parents[1]))
sys.path.insert(0, str(Path(__file__).resolve().parents[1] / "scan-service" / "tests"))

from firewall import namespace_missing, run_in_namespace

from rampart_scan.engine.ports import ranked_ports
from rampart_scan.engine.scanner import EngineOptions, HostDone, scan
from rampart_scan.engine.syn import has_cap_net_raw

# Our own top-1000 (not nmap's list): nmap is given the same ports with -p.
TOP_1000 = ",".join(map(str, sorted(ranked_ports()[:1000])))
NMAP_PORT = re.compile(r"^(\d+)/(tcp|udp)\s+(\S+)", re.MULTILINE)
NMAP_HOST = re.compile(r"^Nmap scan report for (\S+)", re.MULTILINE)


def nmap_states(output: str) -> dict[str, dict[int, str]]:
    """Host → {port: state} for the ports nmap lists (the rest share its 'Not shown' state)."""
    states: dict[str, dict[int, str]] = {}
    parts = NMAP_HOST.split(output)
    for host, body in zip(parts[1::2], parts[2::2], strict=True):
        states[host] = {int(p): state for p, _, state in NMAP_PORT.findall(body)}
    return states


async def _ours(
    targets: list[str], ports: str, protocol: str = "tcp", method: str = "connect"
) -> tuple[float, dict[str, dict[int, str]]]:
    began = time.perf_counter()
    states: dict[str, dict[int, str]] = {}
    options = EngineOptions(ports=ports, protocol=protocol, tcp_method=method)  # type: ignore[arg-type]
    async for event in scan(targets, options):
        if isinstance(event, HostDone):
            report = event.report
            host = states.setdefault(str(report.host.address), {})
            host.update({f.port: "open" for f in report.open_ports})
            host.update({p: "filtered" for p in report.filtered_ports})
    return time.perf_counter() - began, states


def _nmap(args: list[str]) -> tuple[float, str]:
    began = time.perf_counter()
    out = subprocess.run(["nmap", *args], capture_output=True, text=True, check=True).stdout
    return time.perf_counter() - began, out


def _line(name: str, ours: list[float], theirs: list[float]) -> None:
    mine = statistics.median(ours)
    line = f"  {name}: rampart median {mine:.2f} s {[round(x, 2) for x in ours]}"
    if theirs:
        nmap = statistics.median(theirs)
        line += f"; nmap median {nmap:.2f} s {[round(x, 2) for x in theirs]}; ratio {mine / nmap:.2f}"
    print(line)


def _open_set(states: dict[str, dict[int, str]]) -> set[tuple[str, int]]:
    return {(h, p) for h, ports in states.items() for p, s in ports.items() if s == "open"}


def _load() -> str:
    return "load average " + ", ".join(f"{x:.2f}" for x in os.getloadavg())


def _syn_missing() -> str | None:
    if not has_cap_net_raw():
        return "SYN rows skipped: needs CAP_NET_RAW (root)"
    return None if shutil.which("nmap") else "SYN rows skipped: needs nmap"


def _compare(name: str, targets: list[str], spec: str, nmap_ports: list[str], runs: int) -> None:
    """Rampart connect and SYN, nmap -sT and -sS, interleaved; medians, ratios, same open set."""
    nmap_targets = [t.replace("127.0.1.0/24", "127.0.1.1-254") for t in targets]
    syn = _syn_missing() is None
    times: dict[str, list[float]] = {"connect": [], "syn": [], "-sT": [], "-sS": []}
    agree: dict[str, bool] = {"connect": True, "syn": True}
    differ: dict[str, int] = {"connect": 0, "syn": 0}  # the most ports in one tool's open set only
    print(f"  {_load()} (before)")
    for _ in range(runs):
        seconds, states = asyncio.run(_ours(targets, spec))
        times["connect"].append(seconds)
        opened = {"connect": _open_set(states)}
        if syn:
            seconds, states = asyncio.run(_ours(targets, spec, method="syn"))
            times["syn"].append(seconds)
            opened["syn"] = _open_set(states)
        for flag in ("-sT", "-sS") if syn else ("-sT",) if shutil.which("nmap") else ():
            took, out = _nmap([flag, *nmap_ports, "-n", "-Pn", *nmap_targets])
            times[flag].append(took)
            nmap_open = _open_set(nmap_states(out))
            for method in opened:
                agree[method] = agree[method] and opened[method] == nmap_open
                differ[method] = max(differ[method], len(opened[method] ^ nmap_open))
    _line(f"{name}, connect vs nmap -sT", times["connect"], times["-sT"])
    if syn:
        _line(f"{name}, SYN vs nmap -sS", times["syn"], times["-sS"])
        _line(f"{name}, SYN vs nmap -sT", times["syn"], times["-sT"])
    else:
        print(f"  {_syn_missing()}")
    print(f"  same open set as nmap (every run, both nmap modes): {agree}; most ports differing: {differ}")
    print(f"  open ports (last run): {len(opened['connect'])}")
    print(f"  {_load()} (after)")


def _listeners(count: int = 48) -> list[socket.socket]:
    """Listeners on top-1000 ports of a few 127.0.1.x hosts, so "same open set" says something."""
    ports = sorted(ranked_ports()[:1000])
    made: list[socket.socket] = []
    for i in range(count):
        address, port = f"127.0.1.{1 + (i * 37) % 254}", ports[(i * 101) % len(ports)]
        try:
            made.append(socket.create_server((address, port)))
        except OSError:
            continue  # taken on every address by something else: it shows as open anyway
    return made


def many_hosts(runs: int) -> None:
    print("\n1. top-1000 ports x 127.0.1.0/24 (254 hosts)")
    listeners = _listeners()
    try:
        _compare("254 hosts", ["127.0.1.0/24"], "top-1000", ["-p", TOP_1000], runs)
    finally:
        for listener in listeners:
            listener.close()


def bare_connect_rate(count: int = 65535) -> float:
    """connect() to closed ports as fast as one thread can: this kernel's rate, for scale."""
    kind = socket.SOCK_STREAM | socket.SOCK_NONBLOCK
    began = time.perf_counter()
    for port in range(1, count + 1):
        sock = socket.socket(socket.AF_INET, kind)
        sock.connect_ex(("127.0.9.9", port))
        sock.close()
    return count / (time.perf_counter() - began)


def reused_connect_rate(count: int = 65535) -> float:
    """The connect sweep's own syscalls for a closed port, nothing else: two connect() calls on
    one socket (the second reads the refusal and leaves the socket ready for the next port)."""
    kind = socket.SOCK_STREAM | socket.SOCK_NONBLOCK
    sock = socket.socket(socket.AF_INET, kind)
    began = time.perf_counter()
    for port in range(1, count + 1):
        code = sock.connect_ex(("127.0.9.9", port))
        if code == errno.EINPROGRESS:
            code = sock.connect_ex(("127.0.9.9", port))
        if code != errno.ECONNREFUSED:
            sock.close()  # a self-connect, or something listening there
            sock = socket.socket(socket.AF_INET, kind)
    sock.close()
    return count / (time.perf_counter() - began)


def full_range(runs: int) -> None:
    print("\n2. all 65,535 ports of 127.0.0.1")
    _compare("65,535 ports", ["127.0.0.1"], "-", ["-p-"], runs)
    rates = [bare_connect_rate() for _ in range(3)]
    rate = statistics.median(rates)
    print(
        f"  floor: bare connect_ex()+close() loop, one thread, no answers awaited: median {rate:,.0f}/s"
        f" = {65535 / rate:.2f} s for 65,535 ports {[round(r) for r in rates]}"
    )
    rates = [reused_connect_rate() for _ in range(3)]
    rate = statistics.median(rates)
    print(
        f"  floor of the sweep's own path: two connect_ex() on one socket per port: median {rate:,.0f}/s"
        f" = {65535 / rate:.2f} s for 65,535 ports {[round(r) for r in rates]}"
    )


FIREWALL = """
table inet bench {
  chain input {
    type filter hook input priority 0; policy accept;
    ip daddr 127.0.5.1-127.0.5.12 tcp dport != { 22, 80, 443 } drop
    ip daddr 127.0.5.13-127.0.5.14 tcp dport 1-1000 reject with tcp reset
    ip daddr 127.0.5.15 tcp dport 1000-1999 drop
  }
}
"""

FIREWALL_RUN = """
import asyncio, json, re, socket, subprocess, sys, time
sys.path.insert(0, "bench")
from engine_scale_bench import TOP_1000, _ours, nmap_states
listeners = [socket.create_server(("0.0.0.0", port)) for port in (22, 80)]
hosts = [f"127.0.5.{i}" for i in range(1, 17)]
runs = int(sys.argv[1]) if len(sys.argv) > 1 else 3
ours, theirs, agree = [], [], True
for _ in range(runs):
    seconds, states = asyncio.run(_ours(hosts, "top-1000"))
    ours.append(seconds)
    began = time.perf_counter()
    out = subprocess.run(["nmap", "-sT", "-p", TOP_1000, "-n", "-Pn", *hosts],
                         capture_output=True, text=True, check=True).stdout
    theirs.append(time.perf_counter() - began)
    for host, ports in nmap_states(out).items():
        mine = states.get(host, {})
        for port, state in ports.items():
            if state in ("open", "filtered") and mine.get(port, "closed") != state:
                agree = False
            if state == "closed" and port in mine:
                agree = False
print(json.dumps({"ours": ours, "theirs": theirs, "agree": agree}))
"""


def firewalled(runs: int) -> None:
    print("\n3. 16 hosts behind nftables, mostly dropped (top-1000, network namespace)")
    missing = namespace_missing() or (None if shutil.which("nmap") else "needs nmap")
    if missing:
        print(f"  skipped: {missing}")
        return
    script = FIREWALL_RUN.replace("int(sys.argv[1]) if len(sys.argv) > 1 else 3", str(runs))
    figures = json.loads(run_in_namespace(FIREWALL, script, timeout=1800).strip().splitlines()[-1])
    _line("16 hosts (nmap -sT default timing)", figures["ours"], figures["theirs"])
    print(f"  same open/closed/filtered states as nmap (ports nmap lists): {figures['agree']}")


def udp(runs: int) -> None:
    print("\n4. UDP, 100 ports of 127.0.0.1 (BIND on a free port, memcached -U; the rest closed)")
    from rampart_scan.engine.ports import ranked_ports
    from tests.protocol_servers import started

    ports = list(ranked_ports()[:98])
    memcached = subprocess.Popen(["memcached", "-l", "127.0.0.1", "-p", "0", "-U", "11211", "-u", "nobody"])
    try:
        with started("named") as dns:
            spec = ",".join(map(str, sorted({*ports, dns.port, 11211})))
            ours, theirs, agree = [], [], True
            for _ in range(runs):
                seconds, states = asyncio.run(_ours(["127.0.0.1"], spec, "udp"))
                ours.append(seconds)
                if shutil.which("nmap"):
                    took, out = _nmap(["-sU", "-p", spec, "-n", "-Pn", "127.0.0.1"])
                    theirs.append(took)
                    listed = nmap_states(out).get("127.0.0.1", {})
                    mine = states.get("127.0.0.1", {})
                    for port, state in listed.items():
                        ours_state = mine.get(port, "closed")
                        if state == "open|filtered":
                            state = "filtered"
                        agree = agree and (state == ours_state or {state, ours_state} == {"open", "filtered"})
            _line("UDP 100 ports", ours, theirs)
            print(f"  agreement with nmap -sU (open|filtered ~ filtered): {agree}")
    finally:
        memcached.terminate()
        memcached.wait()


def main() -> int:
    parser = argparse.ArgumentParser()
    parser.add_argument("--runs", type=int, default=3)
    parser.add_argument("--only", type=int, nargs="*", help="figure numbers to run (default: all)")
    args = parser.parse_args()
    figures = [many_hosts, full_range, firewalled, udp]
    for number, figure in enumerate(figures, 1):
        if not args.only or number in args.only:
            figure(args.runs)
    return 0


if __name__ == "__main__":
    sys.exit(main())
