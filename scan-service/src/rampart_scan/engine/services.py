"""Service and version detection with our own probes and match rules (see ``corpus``).

Probes run in order of likelihood for the port within a per-port budget. A port that completes
a TLS handshake (on any port) is probed again inside TLS: the greeting first, then the likely
probes, and the inner service is named as a TLS service (``https``, ``imaps``, ``ssl/redis``).
"""

from __future__ import annotations

import asyncio
import contextlib
import re
import socket
import ssl
import time
from collections import deque
from dataclasses import dataclass, field

from rampart_scan.engine.connect import open_stream
from rampart_scan.engine.corpus import PROBES_FILE, RULES_DIR, Probe, Rule, Rules, corpus_files, load_rules
from rampart_scan.engine.protocols import PARSERS
from rampart_scan.engine.targets import Host
from rampart_scan.engine.tls import client_context

__all__ = ["PROBES_FILE", "RULES_DIR", "Probe", "Rule", "Rules", "ServiceInfo", "corpus_files", "detect"]
__all__ += ["excerpt", "load_rules", "match_response", "probe_order", "tls_name"]

MAX_RESPONSE = 16 * 1024
EVIDENCE_CHARS = 512
UNLISTED_WAIT = 1.0  # on a port no probe lists, no probe waits longer than this
QUICK_WAIT = 0.3  # ...and once the port answered a probe fast, a later one waits this long
QUICK_RTT_FACTOR = 20  # (or this many times the connect time, if longer)
GREETING_WAIT = 0.5  # inside TLS on a port no greeting protocol lists: the handshake proved it is up
TLS_REQUIRED = "tls-required"
SETTLE = 0.15  # after the first bytes, how long to wait for the rest of a reply
GROUP = re.compile(r"\$(\d)")
TITLE = re.compile(r"(?is)<title[^>]*>(.*?)</title>")
SERVER = re.compile(r"(?im)^Server: ([^\r\n]+)")
TLS_NAMES = {"http": "https", "imap": "imaps", "pop3": "pop3s", "smtp": "smtps", "ldap": "ldaps"}
HTTP_SERVICES = {"http", "ipp"}


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
    facts: dict[str, str] = field(default_factory=dict)  # "<family>.<fact>", see engine/facts.py
    reply: bytes = field(default=b"", repr=False, compare=False)  # the answer the rule matched


def tls_name(service: str) -> str:
    """The name of a service reached inside TLS: the IANA name where one exists, else ssl/<name>."""
    if service in TLS_NAMES.values() or service.startswith("ssl/"):
        return service
    return TLS_NAMES.get(service, f"ssl/{service}")


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


def match_response(probe: Probe, data: bytes, rules: Rules, tls: bool | None = None) -> ServiceInfo | None:
    """The first rule of the probe's family that matches the reply (decoded first if the probe says)."""
    tls = probe.tls if tls is None else tls
    if probe.parser:
        decoded = PARSERS[probe.parser](data)
        if decoded is None:
            return None
        text, evidence = decoded, excerpt(decoded.encode("utf-8", "replace"))
    else:
        text, evidence = data.decode("latin-1"), excerpt(data)
    for rule in rules.rules.get(probe.match_as, ()):
        found = rule.pattern.search(text)
        if found is None:
            continue
        if rule.service == TLS_REQUIRED:
            return ServiceInfo(TLS_REQUIRED, probe=probe.name) if not tls else None
        version, product = _fill(rule.version, found), _fill(rule.product, found)
        info = ServiceInfo(
            tls_name(rule.service) if tls else rule.service,
            product,
            version,
            _fill(rule.info, found),
            _cpe(rule.cpe, found),
            95 if version else (80 if product else 60),
            evidence,
            tls,
            probe.name,
            reply=data[:MAX_RESPONSE],
        )
        if rule.service in HTTP_SERVICES and probe.match_as == "http":
            _http_details(info, text)
        return info
    return None


def _cpe(template: str, match: re.Match[str]) -> str:
    """The filled CPE 2.3 name; an empty field (a version the banner did not give) becomes ``*``."""
    if not template:
        return ""
    return ":".join(part or "*" for part in _fill(template, match).split(":"))


def _http_details(info: ServiceInfo, text: str) -> None:
    details = []
    title = TITLE.search(text)
    if title:
        details.append("title: " + " ".join(title.group(1).split())[:120])
    server = SERVER.search(text)
    if server and not info.product:
        details.append("server: " + server.group(1)[:120])
    info.extra_info = "; ".join(filter(None, [info.extra_info, *details]))


async def exchange(
    host: Host, port: int, probe: Probe, wait: float, tls: bool | None = None, read_wait: float | None = None
) -> tuple[bytes, float] | None:
    """Send a probe (inside TLS if asked); the reply and the connect (and handshake) time.

    None when no connection (or no TLS session) could be made.
    """
    tls = probe.tls if tls is None else tls
    began = time.monotonic()
    try:
        reader, writer = await asyncio.wait_for(
            open_stream(
                host,
                port,
                ssl=client_context() if tls else None,
                server_hostname=(host.name or None) if tls else None,
            ),
            timeout=wait,
        )
    except (OSError, TimeoutError, ssl.SSLError, ValueError):
        return None
    connect_time, data = time.monotonic() - began, b""
    try:
        if probe.payload:
            writer.write(probe.payload.replace(b"{host}", host.label.encode()))
            await writer.drain()
        deadline = time.monotonic() + (wait if read_wait is None else read_wait)
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
    return data[:MAX_RESPONSE], connect_time


def probe_order(port: int, rules: Rules) -> list[Probe]:
    """Probes that list the port first, then the rest in corpus order."""
    listed = [probe for probe in rules.probes if port in probe.ports]
    return listed + [probe for probe in rules.probes if probe not in listed]


def inner_order(port: int, rules: Rules, handshake: Probe) -> list[Probe]:
    """Plaintext probes to repeat inside TLS: those likely on this port first, then the rest.

    The handshake probe already read the greeting (it matches as that family), so that
    family is not sent again.
    """
    plain = [p for p in rules.probes if not p.tls and p.match_as != handshake.match_as]
    listed = [p for p in plain if port in p.ports or port in p.tls_ports]
    return listed + [p for p in plain if p not in listed]


def port_guess(port: int) -> str:
    try:
        return socket.getservbyport(port, "tcp")
    except OSError:
        return "unknown"


def _wait(port: int, probe: Probe, connect_time: float | None) -> float:
    """The full wait where the probe lists the port; else short, shorter once the host proved quick."""
    if port in probe.ports or port in probe.tls_ports:
        return probe.wait
    if connect_time is None or not (probe.payload or probe.tls):
        return min(probe.wait, UNLISTED_WAIT)
    return min(probe.wait, UNLISTED_WAIT, max(QUICK_WAIT, QUICK_RTT_FACTOR * connect_time))


def _greeting_wait(port: int, handshake: Probe, rules: Rules) -> float:
    greeters = [p for p in rules.probes if p.name == handshake.match_as and not p.tls]
    if any(port in p.ports or port in p.tls_ports for p in greeters):
        return max(p.wait for p in greeters)
    return GREETING_WAIT


async def detect(host: Host, port: int, budget: float = 8.0) -> ServiceInfo:
    """Try probes in order of likelihood until one matches or the port's budget is spent."""
    rules = load_rules()
    deadline = time.monotonic() + budget
    first_banner = b""
    in_tls = tls_failed = needs_tls = False
    connect_time: float | None = None  # the fastest connect seen: how quickly this host answers
    queue = deque(probe_order(port, rules))
    while queue:
        probe = queue.popleft()
        remaining = deadline - time.monotonic()
        if remaining < 0.2:
            break
        wrapped = in_tls or probe.tls
        if (wrapped and tls_failed) or (needs_tls and not wrapped):
            continue
        wait = min(_wait(port, probe, connect_time), remaining)
        read_wait = None
        if probe.tls and not in_tls:
            read_wait = min(_greeting_wait(port, probe, rules), remaining)
        reply = await exchange(host, port, probe, wait, tls=wrapped, read_wait=read_wait)
        if reply is None:
            tls_failed = tls_failed or (probe.tls and not in_tls)
            continue
        data = reply[0]
        if not probe.tls:
            connect_time = min(reply[1], connect_time if connect_time is not None else reply[1])
        if probe.tls and not in_tls:
            in_tls = True
            queue = deque(inner_order(port, rules, probe))
        if not data:
            continue
        found = match_response(probe, data, rules, tls=wrapped)
        if found is not None and found.name == TLS_REQUIRED:
            needs_tls = True
            queue = deque(sorted(queue, key=lambda p: not p.tls))  # the handshake next
            continue
        if found is not None:
            return found
        first_banner = first_banner or data
    name = port_guess(port)
    return ServiceInfo(
        tls_name(name) if in_tls else name,
        confidence=10 if name != "unknown" else 0,
        evidence=excerpt(first_banner),
        tls=in_tls,
        probe="port",
    )
