"""The rules on what the scan engine records about real servers: each server configured the unsafe way gives
its findings, the same program configured safely does not.

The engine scans the loopback port (service detection, facts, TLS audit), its result goes through
scan-service's own mappers to the ``PortResult`` threat-service receives, and the finding source
(rules only) says which rules fire. The servers are those of tests/servers.py and tests/fact_servers.py.
"""

from __future__ import annotations

import contextlib
import os
from collections.abc import Iterator

import pytest

pytest.importorskip("rampart_scan.engine.facts", reason="the engine's facts (issue 11) are not in this tree")
fact_servers = pytest.importorskip("tests.fact_servers", reason="tests/fact_servers.py is not in this tree")

from rampart.scan.v1 import scan_pb2  # noqa: E402 - after the skips above
from rampart_scan.engine.scanner import EngineOptions, ServiceFound, scan  # noqa: E402
from rampart_scan.findings import port_result  # noqa: E402
from rampart_scan.mappers import port_to_proto  # noqa: E402
from rampart_threat.findings.ports import ScanContext  # noqa: E402
from rampart_threat.findings.source import make_finding_source  # noqa: E402
from tests import servers  # noqa: E402

pytestmark = pytest.mark.service  # real servers: the middle tier


@contextlib.contextmanager
def running(name: str) -> Iterator[servers.Running]:
    """A server of tests/servers.py or tests/fact_servers.py; skipped (outside CI) when not installed."""
    module = fact_servers if name in fact_servers.LAUNCHERS else servers
    try:
        with module.started(name) as server:
            yield server
    except servers.ServerMissing as missing:
        if os.environ.get("CI"):
            raise  # CI installs every test server: a missing one is a failure there
        pytest.skip(str(missing))


async def fired(port: int, profile: str = "standard") -> set[str]:
    """Scan one loopback port as the engine does and return the rule ids that fire on it."""
    options = EngineOptions(
        ports=str(port), service_detection=True, ssl_check=True, pentest=profile == "pentest"
    )
    found = [e async for e in scan(["127.0.0.1"], options) if isinstance(e, ServiceFound)]
    assert found, f"the engine found nothing on port {port}"
    event = found[0]
    result = port_to_proto(port_result(event.host, event.finding))
    assert result.state == scan_pb2.PORT_STATE_OPEN
    context = ScanContext(scan_id="scn_real", org_id="org_real", live=True, profile=profile)
    return {f.subject for f in await make_finding_source(None).findings_for(context, result)}


# server, which of its ports ("port" or an ``extra`` key), profile, rules that must fire, rules that must not
CASES = [
    ("redis", "port", "standard", {"RMP-AUTH-001"}, set()),
    ("redis-auth", "port", "standard", set(), {"RMP-AUTH-001"}),
    ("memcached", "port", "standard", {"RMP-AUTH-002"}, set()),
    ("memcached-auth", "port", "standard", set(), {"RMP-AUTH-002"}),
    ("nx-27017", "port", "standard", {"RMP-AUTH-003"}, set()),
    ("nats", "port", "standard", {"RMP-AUTH-004"}, {"RMP-CLEAR-006"}),
    ("nats-token", "port", "standard", {"RMP-CLEAR-006"}, {"RMP-AUTH-004"}),
    ("mosquitto", "port", "standard", {"RMP-AUTH-005"}, set()),
    ("mosquitto-closed", "port", "standard", set(), {"RMP-AUTH-005"}),
    (
        "sshd-legacy",
        "port",
        "standard",
        {"RMP-SSH-001", "RMP-SSH-002", "RMP-SSH-003", "RMP-SSH-004", "RMP-SSH-005", "RMP-SSH-007"},
        set(),
    ),
    ("sshd", "port", "standard", set(), {f"RMP-SSH-00{i}" for i in range(1, 8)}),
    ("pyftpdlib", "port", "pentest", {"RMP-CLEAR-002", "RMP-AUTH-009"}, set()),
    ("pyftpdlib", "port", "standard", {"RMP-CLEAR-002"}, {"RMP-AUTH-009"}),
    ("vsftpd-tls", "port", "pentest", set(), {"RMP-CLEAR-002", "RMP-AUTH-009"}),
    ("aiosmtpd", "port", "standard", {"RMP-CLEAR-005"}, set()),
    ("aiosmtpd-starttls", "port", "standard", set(), {"RMP-CLEAR-005"}),
    (  # a trustme certificate, TLS 1.2 and 1.3: no TLS finding; no HSTS, and the version in Server
        "nginx",
        "tls_port",
        "standard",
        {"RMP-HTTP-001", "RMP-HTTP-004"},
        {"RMP-HTTP-003"} | {f"RMP-TLS-00{i}" for i in range(1, 10)},
    ),
    ("nginx-listing", "tls_port", "standard", set(), {"RMP-HTTP-001", "RMP-HTTP-002", "RMP-HTTP-003"}),
    ("nginx-listing", "port", "standard", {"RMP-HTTP-003", "RMP-HTTP-004"}, {"RMP-HTTP-001"}),
    ("http.server", "port", "standard", {"RMP-HTTP-003", "RMP-HTTP-004"}, set()),
    ("nginx-weak-tls", "port", "standard", {"RMP-TLS-006"}, set()),
]


@pytest.mark.parametrize(
    ("server", "which", "profile", "present", "absent"),
    CASES,
    ids=[f"{c[0]}:{c[1]}:{c[2]}" for c in CASES],
)
async def test_rules_on_a_real_server(
    server: str, which: str, profile: str, present: set[str], absent: set[str]
) -> None:
    with running(server) as s:
        port = s.port if which == "port" else int(s.extra[which])
        got = await fired(port, profile)
    assert present <= got, f"{server}: expected {sorted(present - got)} among {sorted(got)}"
    assert not (absent & got), f"{server}: unexpected {sorted(absent & got)}"
