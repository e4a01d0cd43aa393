"""Service and version detection with our own probes and match rules (data/probes.toml)."""

from __future__ import annotations

import asyncio
import contextlib
import functools
import re
import socket
import ssl
import time
import tomllib
from dataclasses import dataclass, field
from pathlib import Path
from typing import Any

from rampart_scan.engine.connect import open_stream
from rampart_scan.engine.targets import Host
from rampart_scan.engine.tls import client_context

PROBES_FILE = Path(__file__).with_name("data") / "probes.toml"
RULES_DIR = Path(__file__).with_name("data") / "rules"  # more probes and rules, one file per family
MAX_RESPONSE = 16 * 1024
EVIDENCE_CHARS = 512
UNLISTED_WAIT = 1.0  # on a port no probe lists, no probe waits longer than this
TLS_REQUIRED = "tls-required"
SETTLE = 0.15  # after the first bytes, how long to wait for the rest of a reply
GROUP = re.compile(r"\$(\d)")
TITLE = re.compile(r"(?is)<title[^>]*>(.*?)</title>")
SERVER = re.compile(r"(?im)^Server: ([^\r\n]+)")


@dataclass(frozen=True)
class Probe:
    name: str
    payload: bytes
    tls: bool
    wait: float
    ports: frozenset[int]
    match_as: str


@dataclass(frozen=True)
class Rule:
    probe: str
    service: str
    pattern: re.Pattern[str]
    product: str
    version: str
    info: str
    cpe: str


@dataclass
class ServiceInfo:
    """What answers on a port, and how sure we are."""

    name: str
    product: str = ""
    version: str = ""
    extra_info: str = ""
    cpe: str = ""
    confidence: int = 0
    evidence: str = ""
    tls: bool = False
    probe: str = ""


@dataclass(frozen=True)
class Rules:
    probes: tuple[Probe, ...]
    rules: dict[str, tuple[Rule, ...]] = field(default_factory=dict)


def corpus_files() -> tuple[Path, ...]:
    """probes.toml first (its probe order is the default order), then rules/*.toml by name."""
    return (PROBES_FILE, *sorted(RULES_DIR.glob("*.toml")))


@functools.cache
def load_rules(paths: tuple[Path, ...] | None = None) -> Rules:
    data: dict[str, list[dict[str, Any]]] = {"probe": [], "match": []}
    for path in paths or corpus_files():
        loaded = tomllib.loads(path.read_text())
        data["probe"] += loaded.get("probe", [])
        data["match"] += loaded.get("match", [])
    probes = []
    for item in data["probe"]:
        payload = (
            bytes.fromhex(item["payload_hex"]) if "payload_hex" in item else item.get("payload", "").encode()
        )
        probes.append(
            Probe(
                item["name"],
                payload,
                bool(item.get("tls", False)),
                item.get("wait_ms", 2000) / 1000,
                frozenset(item.get("ports", ())),
                item.get("match_as", item["name"]),
            )
        )
    by_probe: dict[str, list[Rule]] = {}
    for item in data["match"]:
        rule = Rule(
            item["probe"],
            item["service"],
            re.compile(item["pattern"]),
            item.get("product", ""),
            item.get("version", ""),
            item.get("info", ""),
            item.get("cpe", ""),
        )
        by_probe.setdefault(rule.probe, []).append(rule)
    return Rules(tuple(probes), {name: tuple(rules) for name, rules in by_probe.items()})


def excerpt(data: bytes, limit: int = EVIDENCE_CHARS) -> str:
    """A response as safe printable text: ASCII kept, everything else as \\xNN."""
    out = []
    for byte in data[:limit]:
        if byte in (0x0A, 0x0D, 0x09) or 0x20 <= byte < 0x7F:
            out.append({0x0A: "\\n", 0x0D: "\\r", 0x09: "\\t"}.get(byte, chr(byte)))
        else:
            out.append(f"\\x{byte:02x}")
    return "".join(out) + ("…" if len(data) > limit else "")


def _fill(template: str, match: re.Match[str]) -> str:
    def group(found: re.Match[str]) -> str:
        index = int(found.group(1))
        value = match.group(index) if index <= (match.re.groups or 0) else ""
        return "".join(c for c in (value or "") if c.isprintable())[:120]

    return " ".join(GROUP.sub(group, template).split())


def match_response(probe: Probe, data: bytes, rules: Rules) -> ServiceInfo | None:
    text = data.decode("latin-1")
    for rule in rules.rules.get(probe.match_as, ()):
        found = rule.pattern.search(text)
        if found is None:
            continue
        if rule.service == TLS_REQUIRED:
            return ServiceInfo(TLS_REQUIRED, probe=probe.name) if not probe.tls else None
        name = rule.service
        if probe.tls:
            name = "https" if name == "http" else f"ssl/{name}"
        version = _fill(rule.version, found)
        product = _fill(rule.product, found)
        cpe = _fill(rule.cpe, found) if rule.cpe else ""
        confidence = 95 if version else (80 if product else 60)
        info = ServiceInfo(
            name,
            product,
            version,
            _fill(rule.info, found),
            cpe,
            confidence,
            excerpt(data),
            probe.tls,
            probe.name,
        )
        if rule.service == "http":
            _http_details(info, text)
        return info
    return None


def _http_details(info: ServiceInfo, text: str) -> None:
    details = []
    title = TITLE.search(text)
    if title:
        details.append("title: " + " ".join(title.group(1).split())[:120])
    server = SERVER.search(text)
    if server and not info.product:
        details.append("server: " + server.group(1)[:120])
    info.extra_info = "; ".join(filter(None, [info.extra_info, *details]))


async def exchange(host: Host, port: int, probe: Probe, wait: float) -> bytes | None:
    """Send a probe and collect the reply; None when no connection (or no TLS) could be made."""
    context = client_context() if probe.tls else None
    try:
        reader, writer = await asyncio.wait_for(
            open_stream(host, port, ssl=context, server_hostname=(host.name or None) if probe.tls else None),
            timeout=wait,
        )
    except (OSError, TimeoutError, ssl.SSLError):
        return None
    data = b""
    try:
        if probe.payload:
            writer.write(probe.payload.replace(b"{host}", host.label.encode()))
            await writer.drain()
        deadline = time.monotonic() + wait
        while len(data) < MAX_RESPONSE:
            remaining = deadline - time.monotonic()
            if remaining <= 0:
                break
            try:
                chunk = await asyncio.wait_for(
                    reader.read(4096), timeout=min(remaining, SETTLE) if data else remaining
                )
            except TimeoutError:
                break
            if not chunk:
                break
            data += chunk
    except (OSError, ssl.SSLError):
        pass
    finally:
        writer.close()
        with contextlib.suppress(OSError, ssl.SSLError, TimeoutError):
            await asyncio.wait_for(writer.wait_closed(), timeout=0.5)
    return data[:MAX_RESPONSE]


def probe_order(port: int, rules: Rules) -> list[Probe]:
    listed = [probe for probe in rules.probes if port in probe.ports]
    return listed + [probe for probe in rules.probes if probe not in listed]


def port_guess(port: int) -> str:
    try:
        return socket.getservbyport(port, "tcp")
    except OSError:
        return "unknown"


async def detect(host: Host, port: int, budget: float = 8.0) -> ServiceInfo:
    """Try probes in order of likelihood until one matches or the port's budget is spent."""
    rules = load_rules()
    deadline = time.monotonic() + budget
    first_banner = b""
    speaks_tls = needs_tls = False
    for probe in probe_order(port, rules):
        remaining = deadline - time.monotonic()
        if remaining < 0.2:
            break
        if needs_tls and not probe.tls:
            continue
        wait = probe.wait if port in probe.ports else min(probe.wait, UNLISTED_WAIT)
        data = await exchange(host, port, probe, min(wait, remaining))
        if data is None:
            continue
        speaks_tls = speaks_tls or probe.tls
        if data:
            found = match_response(probe, data, rules)
            if found is not None and found.name == TLS_REQUIRED:
                needs_tls = True
                continue
            if found is not None:
                return found
            first_banner = first_banner or data
    name = port_guess(port)
    return ServiceInfo(
        name if not speaks_tls else f"ssl/{name}",
        confidence=10 if name != "unknown" else 0,
        evidence=excerpt(first_banner),
        tls=speaks_tls,
        probe="port",
    )
