"""States behind real packet filtering (nftables in a private network namespace), as nmap -sT
reports them: a reset or an ICMP port unreachable is closed; a drop, or an ICMP host unreachable
or administratively prohibited, is filtered. Hosts that drop everything spend no retries."""

from __future__ import annotations

import json
import os

import pytest
from firewall import namespace_missing, run_in_namespace

from rampart_scan.engine.sweep import RETRY_SAMPLE

pytestmark = pytest.mark.service

RULESET = """
table inet rampart_test {
  chain input {
    type filter hook input priority 0; policy accept;
    ip daddr 127.0.2.2 tcp dport != 8080 drop
    ip daddr 127.0.2.3 drop
    ip daddr 127.0.2.1 tcp dport 9000-9019 drop
    ip daddr 127.0.2.1 tcp dport 9020-9039 reject with tcp reset
    ip daddr 127.0.2.1 tcp dport 9040-9059 reject with icmp type port-unreachable
    ip daddr 127.0.2.1 tcp dport 9060-9069 reject with icmp type admin-prohibited
    ip daddr 127.0.2.1 tcp dport 9070-9079 reject with icmp type host-unreachable
  }
}
"""

SCAN = """
import asyncio, ipaddress, json, socket
from rampart_scan.engine.scanner import EngineOptions, HostDone, scan
listener = socket.create_server(("0.0.0.0", 8080))
async def main():
    reports = {}
    options = EngineOptions(ports="8080,9000-9099")
    async for event in scan(["127.0.2.1", "127.0.2.2", "127.0.2.3", "127.0.2.4"], options):
        if isinstance(event, HostDone):
            r = event.report
            reports[str(r.host.address)] = {
                "open": [f.port for f in r.open_ports], "filtered": r.filtered_ports, "counts": r.counts}
    print(json.dumps(reports))
asyncio.run(main())
"""

RETRIES = """
import ipaddress, json
from rampart_scan.engine.sweep import Sweep
from rampart_scan.engine.targets import Host
from rampart_scan.engine.tcp import TcpOptions
hosts = [Host(ipaddress.ip_address(a)) for a in ("127.0.2.3", "127.0.2.4")]
options = TcpOptions(initial_timeout=0.2, min_timeout=0.1, max_timeout=0.3, retries=1)
results = Sweep([(host, range(9000, 9200)) for host in hosts], options).run()
print(json.dumps([{"retries": r.retries, "counts": r.counts()} for r in results]))
"""


@pytest.fixture(autouse=True)
def _namespace() -> None:
    missing = namespace_missing()
    if missing:
        if os.environ.get("CI"):
            pytest.fail(f"CI runs as root with nftables installed: {missing}")
        pytest.skip(missing)


def test_states_follow_the_firewall_rules() -> None:
    reports = json.loads(run_in_namespace(RULESET, SCAN).strip().splitlines()[-1])
    first = reports["127.0.2.1"]
    assert first["open"] == [8080]
    dropped, prohibited = list(range(9000, 9020)), list(range(9060, 9080))
    assert first["filtered"] == dropped + prohibited  # resets and port unreachables are closed
    assert first["counts"] == {"open": 1, "closed": 100 - 40, "filtered": 40}
    assert reports["127.0.2.2"] == {
        "open": [8080],
        "filtered": list(range(9000, 9100)),
        "counts": {"open": 1, "closed": 0, "filtered": 100},
    }
    assert reports["127.0.2.3"]["counts"] == {"open": 0, "closed": 0, "filtered": 101}
    assert reports["127.0.2.4"] == {
        "open": [8080],
        "filtered": [],
        "counts": {"open": 1, "closed": 100, "filtered": 0},
    }


def test_a_host_that_drops_everything_gets_only_a_sample_of_retries() -> None:
    """Retries are tried on a few ports; when none of them is answered, the rest are not sent."""
    dropping, answering = json.loads(run_in_namespace(RULESET, RETRIES).strip().splitlines()[-1])
    assert dropping == {"retries": RETRY_SAMPLE, "counts": {"open": 0, "closed": 0, "filtered": 200}}
    assert answering == {"retries": 0, "counts": {"open": 0, "closed": 200, "filtered": 0}}
