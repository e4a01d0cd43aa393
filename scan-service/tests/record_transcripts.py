"""Record what real servers answer to our probes, as test data for the rules.

    PYTHONPATH=. uv run --frozen python scan-service/tests/record_transcripts.py [server ...]

Each server from tests/protocol_servers.py (CI ones and record-only ones) is started on a
free loopback port; each listed probe is sent (inside TLS where marked) and the raw reply is
written to scan-service/tests/transcripts/<server>-<probe>.toml with where it came from
(the Debian package and version) and what the server is known to be.
"""

from __future__ import annotations

import asyncio
import ipaddress
import subprocess
import sys
from datetime import UTC, datetime
from pathlib import Path

from rampart_scan.engine.services import exchange, load_rules
from rampart_scan.engine.targets import Host
from tests.protocol_servers import LAUNCHERS, RECORD_ONLY, started

OUT = Path(__file__).with_name("transcripts")
LOOPBACK = Host(ipaddress.ip_address("127.0.0.1"))
# server -> (Debian package, [(probe, inside TLS, port key in Running.extra or "" for the main port)])
PLAN: dict[str, tuple[str, list[tuple[str, bool, str]]]] = {
    "redis-tls": ("redis-server", [("redis", True, "")]),
    "stunnel-smtps": ("stunnel4", [("null", True, "")]),
    "named": ("bind9", [("dns", False, "")]),
    "unbound": ("unbound", [("dns", False, "")]),
    "dnsmasq": ("dnsmasq-base", [("dns", False, "")]),
    "knotd": ("knot", [("dns", False, "")]),
    "pdns-recursor": ("pdns-recursor", [("dns", False, "")]),
    "slapd": ("slapd", [("ldap", False, ""), ("ldap", True, "tls_port")]),
    "danted": ("dante-server", [("socks5", False, ""), ("socks4", False, "")]),
    "smbd": ("samba", [("smb", False, "")]),
    "xrdp": ("xrdp", [("rdp", False, "")]),
    "rabbitmq": ("rabbitmq-server", [("amqp", False, "")]),
    "cupsd": ("cups-daemon", [("http", False, "")]),
    "dovecot": ("dovecot-core", [("null", True, ""), ("null", True, "pop3s")]),
    "caddy": ("caddy", [("http", False, "")]),
    "varnishd": ("varnish", [("http", False, "")]),
}


def record(name: str) -> None:
    package, steps = PLAN[name]
    version = subprocess.run(
        ["dpkg-query", "-W", "-f=${Version}", package], capture_output=True, text=True, check=True
    ).stdout
    probes = {probe.name: probe for probe in load_rules().probes}
    with started(name) as server:
        for probe_name, tls, port_key in steps:
            port = int(server.extra[port_key]) if port_key else server.port
            reply = asyncio.run(exchange(LOOPBACK, port, probes[probe_name], 3.0, tls=tls))
            if reply is None or not reply[0]:
                raise RuntimeError(f"{name}: no answer to {probe_name}")
            expect = server.expect
            service = expect.service
            if port_key == "pop3s":
                service, product = "pop3s", "Dovecot pop3d"
            elif port_key == "tls_port":
                service, product = "ldaps", expect.product
            else:
                product = expect.product
            service = "socks4" if probe_name == "socks4" else service
            suffix = f"-{port_key}" if port_key else ""
            path = OUT / f"{name}-{probe_name}{suffix}.toml"
            path.write_text(
                f"# Recorded by scan-service/tests/record_transcripts.py on {datetime.now(UTC):%Y-%m-%d}\n"
                f"# from a real server started on 127.0.0.1: Debian package {package} {version}\n"
                f"# (launcher {name} in tests/protocol_servers.py).\n"
                f'probe = "{probe_name}"\ntls = {str(tls).lower()}\n'
                f'response_hex = "{reply[0].hex()}"\n\n[expect]\n'
                f'service = "{service}"\nproduct = "{product}"\nversion = "{expect.version}"\n'
                f'cpe_prefix = "{expect.cpe_prefix}"\n'
            )
            print("wrote", path.name)


if __name__ == "__main__":
    for name in sys.argv[1:] or [n for n in PLAN if n in LAUNCHERS or n in RECORD_ONLY]:
        record(name)
