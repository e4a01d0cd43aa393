"""The engine end to end on 127.0.0.1: events as they happen, and OS hints from evidence."""

from __future__ import annotations

import pytest

from rampart_scan.engine.oshints import os_hint
from rampart_scan.engine.ports import InvalidPortSpec
from rampart_scan.engine.scanner import EngineOptions, HostDone, PortFound, Progress, ServiceFound, scan
from rampart_scan.engine.services import ServiceInfo
from rampart_scan.engine.targets import InvalidTarget
from tests.servers import Running

pytestmark = pytest.mark.service  # real servers or a real store: the middle tier


@pytest.mark.parametrize("real_server", ["sshd"], indirect=True)
async def test_events_stream_ports_then_services_then_the_host(real_server: Running) -> None:
    options = EngineOptions(ports=f"1-1024,{real_server.port}", service_detection=True, os_detection=True)
    events = [event async for event in scan(["127.0.0.1"], options)]
    found = [e for e in events if isinstance(e, PortFound)]
    services = [e for e in events if isinstance(e, ServiceFound)]
    done = [e for e in events if isinstance(e, HostDone)]
    percents = [e.percent for e in events if isinstance(e, Progress)]
    assert real_server.port in [e.finding.port for e in found]
    assert len(done) == 1
    assert events[-1] is done[0]
    assert percents == sorted(percents)
    assert events.index(next(e for e in found if e.finding.port == real_server.port)) < events.index(
        next(e for e in services if e.finding.port == real_server.port)
    )
    report = done[0].report
    assert sum(report.counts.values()) == 1025
    ssh = next(f for f in report.open_ports if f.port == real_server.port)
    assert ssh.service is not None
    assert ssh.service.product == "OpenSSH"
    assert report.os is not None
    assert report.os.name.startswith("Linux (Debian")
    assert report.os.evidence


async def test_bad_input_raises_before_any_scanning() -> None:
    with pytest.raises(InvalidPortSpec):
        [e async for e in scan(["127.0.0.1"], EngineOptions(ports="1-99999"))]
    with pytest.raises(InvalidTarget):
        [e async for e in scan(["bad..host"], EngineOptions())]


def test_os_hint_is_unknown_without_evidence() -> None:
    assert os_hint([]).name == "unknown"
    plain = ServiceInfo("http", "nginx", "1.22.1", evidence="HTTP/1.1 200 OK\\r\\nServer: nginx/1.22.1")
    assert os_hint([(80, plain)]).name == "unknown"
    ubuntu = ServiceInfo("ssh", "OpenSSH", "8.9p1", evidence="SSH-2.0-OpenSSH_8.9p1 Ubuntu-3ubuntu0.6")
    iis = ServiceInfo("http", "Microsoft IIS httpd", "10.0", evidence="Server: Microsoft-IIS/10.0")
    assert os_hint([(22, ubuntu)]).name == "Linux (Ubuntu)"
    mixed = os_hint([(22, ubuntu), (80, iis)])
    assert mixed.confidence <= 30  # conflicting evidence: low confidence
