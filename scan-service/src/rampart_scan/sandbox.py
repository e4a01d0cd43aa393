"""Sandbox scans for test keys: realistic, deterministic results, and not one packet sent.

Targets are only parsed (a name is never resolved: that alone would send a DNS query). The
same targets and ports always give the same ports, services and events.
"""

from __future__ import annotations

import asyncio
import hashlib
import ipaddress
import random
from collections.abc import AsyncIterator

from rampart_scan.engine.oshints import os_hint
from rampart_scan.engine.ports import parse_ports
from rampart_scan.engine.scanner import (
    EngineOptions,
    Event,
    HostDone,
    HostReport,
    PortFinding,
    PortFound,
    Progress,
    ServiceFound,
)
from rampart_scan.engine.services import ServiceInfo
from rampart_scan.engine.targets import Host, parse_target
from rampart_scan.engine.tls import TlsReport

STEP_SECONDS = 0.05
# What OpenSSH 9.2p1 (Debian 12) offers by default with an Ed25519 host key (read by the engine).
SANDBOX_SSH = {
    "ssh.kex": "sntrup761x25519-sha512,sntrup761x25519-sha512@openssh.com,"
    "curve25519-sha256,curve25519-sha256@libssh.org,"
    "ecdh-sha2-nistp256,ecdh-sha2-nistp384,ecdh-sha2-nistp521,diffie-hellman-group-exchange-sha256,"
    "diffie-hellman-group16-sha512,diffie-hellman-group18-sha512,diffie-hellman-group14-sha256,"
    "kex-strict-s-v00@openssh.com",
    "ssh.hostkey": "ssh-ed25519",
    "ssh.ciphers": "chacha20-poly1305@openssh.com,aes128-ctr,aes192-ctr,aes256-ctr,"
    "aes128-gcm@openssh.com,aes256-gcm@openssh.com",
    "ssh.macs": "umac-64-etm@openssh.com,umac-128-etm@openssh.com,hmac-sha2-256-etm@openssh.com,"
    "hmac-sha2-512-etm@openssh.com,hmac-sha1-etm@openssh.com,umac-64@openssh.com,umac-128@openssh.com,"
    "hmac-sha2-256,hmac-sha2-512,hmac-sha1",
}
CATALOGUE = {
    21: ServiceInfo(
        "ftp",
        "vsftpd",
        "3.0.3",
        cpe="cpe:2.3:a:beasts:vsftpd:3.0.3:*:*:*:*:*:*:*",
        confidence=95,
        evidence="220 (vsFTPd 3.0.3)\\r\\n",
        probe="sandbox",
        facts={"ftp.auth_tls": "false"},
    ),
    22: ServiceInfo(
        "ssh",
        "OpenSSH",
        "9.2p1",
        "protocol 2.0 Debian-2+deb12u2",
        "cpe:2.3:a:openbsd:openssh:9.2p1:*:*:*:*:*:*:*",
        95,
        "SSH-2.0-OpenSSH_9.2p1 Debian-2+deb12u2\\r\\n",
        probe="sandbox",
        facts=SANDBOX_SSH,
    ),
    80: ServiceInfo(
        "http",
        "nginx",
        "1.22.1",
        "title: Welcome to nginx!",
        "cpe:2.3:a:f5:nginx:1.22.1:*:*:*:*:*:*:*",
        95,
        "HTTP/1.1 200 OK\\r\\nServer: nginx/1.22.1\\r\\n",
        probe="sandbox",
        facts={"http.server": "nginx/1.22.1", "http.directory_listing": "false"},
    ),
    443: ServiceInfo(
        "https",
        "nginx",
        "1.22.1",
        "title: Welcome to nginx!",
        "cpe:2.3:a:f5:nginx:1.22.1:*:*:*:*:*:*:*",
        95,
        "HTTP/1.1 200 OK\\r\\nServer: nginx/1.22.1\\r\\n",
        tls=True,
        probe="sandbox",
        facts={"http.server": "nginx/1.22.1", "http.directory_listing": "false"},
    ),
    3306: ServiceInfo(
        "mysql",
        "MySQL",
        "8.0.36",
        cpe="cpe:2.3:a:oracle:mysql:8.0.36:*:*:*:*:*:*:*",
        confidence=95,
        evidence="J\\x00\\x00\\x00\\n8.0.36\\x00",
        probe="sandbox",
    ),
    5432: ServiceInfo(
        "postgresql",
        "PostgreSQL",
        cpe="cpe:2.3:a:postgresql:postgresql:*:*:*:*:*:*:*:*",
        confidence=80,
        evidence="R\\x00\\x00\\x00\\x17\\x00\\x00\\x00\\nSCRAM-SHA-256",
        probe="sandbox",
    ),
    6379: ServiceInfo(
        "redis",
        "Redis key-value store",
        "7.0.15",
        cpe="cpe:2.3:a:redis:redis:7.0.15:*:*:*:*:*:*:*",
        confidence=95,
        evidence="redis_version:7.0.15",
        probe="sandbox",
        facts={"redis.auth": "none", "redis.version": "7.0.15"},
    ),
    8080: ServiceInfo(
        "http",
        "Apache httpd",
        "2.4.57",
        cpe="cpe:2.3:a:apache:http_server:2.4.57:*:*:*:*:*:*:*",
        confidence=95,
        evidence="HTTP/1.1 200 OK\\r\\nServer: Apache/2.4.57 (Debian)\\r\\n",
        probe="sandbox",
        facts={"http.server": "Apache/2.4.57 (Debian)", "http.directory_listing": "true"},
    ),
    27017: ServiceInfo(
        "mongodb",
        "MongoDB",
        "7.0.5",
        cpe="cpe:2.3:a:mongodb:mongodb:7.0.5:*:*:*:*:*:*:*",
        confidence=95,
        evidence="\\x02version\\x00\\x06\\x00\\x00\\x007.0.5",
        probe="sandbox",
        facts={"mongodb.auth": "none"},
    ),
}
SANDBOX_TLS = TlsReport(["TLSv1.2", "TLSv1.3"], "TLSv1.3", "TLS_AES_256_GCM_SHA384", None, [])


def sandbox_hosts(targets: list[str], max_hosts: int) -> list[Host]:
    """Hosts from the targets' text alone; a name gets a stable documentation address (RFC 5737)."""
    hosts: list[Host] = []
    for target in targets:
        parsed = parse_target(target, max_hosts)
        if isinstance(parsed, str):
            digest = hashlib.sha256(parsed.encode()).digest()
            hosts.append(Host(ipaddress.ip_address(f"192.0.2.{1 + digest[0] % 254}"), parsed))
        else:
            hosts.extend(parsed)
    return hosts[:max_hosts]


def _rng(host: Host, ports: str) -> random.Random:
    seed = hashlib.sha256(f"{host.label}|{ports}".encode()).digest()
    return random.Random(seed)  # noqa: S311 - simulation, not security


def simulated_open_ports(rng: random.Random, wanted: set[int]) -> list[int]:
    """About 60% of the known services the spec covers, and never none when it covers one."""
    known = [port for port in sorted(CATALOGUE) if port in wanted]
    chosen = [port for port in known if rng.random() < 0.6]
    return chosen or known[:1]


async def sandbox_scan(targets: list[str], options: EngineOptions) -> AsyncIterator[Event]:
    ports = parse_ports(options.ports)
    hosts = sandbox_hosts(targets, options.max_hosts)
    total = len(hosts) * len(ports)
    for index, host in enumerate(hosts):
        rng = _rng(host, options.ports)
        open_ports = simulated_open_ports(rng, set(ports))
        findings = []
        for step in range(1, 11):
            await asyncio.sleep(STEP_SECONDS)
            done = index * len(ports) + len(ports) * step // 10
            yield Progress(host, done, total, min(99, done * 100 // max(total, 1)))
            for port in open_ports[(step - 1) * len(open_ports) // 10 : step * len(open_ports) // 10]:
                finding = PortFinding(port, "open", round(rng.uniform(0.2, 30.0), 3))
                findings.append(finding)
                yield PortFound(host, finding)
                if options.service_detection or options.ssl_check:
                    finding.service = CATALOGUE[port] if options.service_detection else None
                    finding.tls = SANDBOX_TLS if options.ssl_check and CATALOGUE[port].tls else None
                    yield ServiceFound(host, finding)
        services = [(f.port, f.service) for f in findings if f.service is not None]
        counts = {"open": len(findings), "closed": len(ports) - len(findings), "filtered": 0}
        hint = os_hint(services) if options.os_detection else None
        yield HostDone(HostReport(host, counts, findings, [], hint, 10 * STEP_SECONDS))
