"""Big connect sweeps in helper processes: the same answers as threads, cancellation, a lost helper."""

from __future__ import annotations

import asyncio
import socket
from collections.abc import AsyncGenerator, Iterator
from typing import Any

import pytest

from rampart_scan.engine import procs
from rampart_scan.engine.scanner import EngineOptions, HostDone, HostReport, Progress, scan
from rampart_scan.engine.tcp import ScanCancelled

pytestmark = pytest.mark.service  # real sockets on loopback

BIG = [f"127.0.7.{i}" for i in range(32, 48)]  # 16 hosts x 65,535 ports: seconds of work, stopped early


@pytest.fixture(autouse=True)
def fresh_helpers() -> Iterator[None]:
    procs.shutdown()
    yield
    procs.shutdown()


async def reports(targets: list[str], options: EngineOptions) -> dict[str, HostReport]:
    found = [e.report async for e in scan(targets, options) if isinstance(e, HostDone)]
    assert len(found) == len(targets)  # each host once
    return {str(report.host.address): report for report in found}


async def idle_helpers() -> list[procs.Helper]:
    """The helpers once they are free again (a generous deadline: no timing is asserted)."""
    for _ in range(200):
        if all(not helper.busy for helper in procs._helpers):
            break
        await asyncio.sleep(0.05)
    return list(procs._helpers)


async def test_a_big_sweep_in_helper_processes_finds_what_threads_find() -> None:
    with socket.create_server(("127.0.7.21", 0)) as server:
        port = server.getsockname()[1]
        spec = f"1-5000,{port}"
        in_helpers = await reports(["127.0.7.21", "127.0.7.22"], EngineOptions(ports=spec))
        assert len(procs._helpers) == 2, "the sweep did not run in helper processes"
        in_threads = await reports(
            ["127.0.7.21", "127.0.7.22"], EngineOptions(ports=spec, helper_processes=False)
        )
    for found in (in_helpers, in_threads):
        assert port in [f.port for f in found["127.0.7.21"].open_ports]
        assert port not in [f.port for f in found["127.0.7.22"].open_ports]
        for report in found.values():
            assert sum(report.counts.values()) == 5001
            assert report.counts["filtered"] == 0
    assert in_helpers["127.0.7.21"].open_ports[-1].rtt_ms is not None


async def test_cancelling_stops_the_helpers_and_they_serve_the_next_scan(
    monkeypatch: pytest.MonkeyPatch,
) -> None:
    outcomes: list[str] = []
    sweep_in = procs.sweep_in

    def watched(*args: Any, **kwargs: Any) -> None:
        try:
            sweep_in(*args, **kwargs)
        except ScanCancelled:
            outcomes.append("cancelled")  # the helper's own answer: its sweep stopped
            raise
        outcomes.append("finished")

    monkeypatch.setattr(procs, "sweep_in", watched)
    events = scan(BIG, EngineOptions(ports="-"))
    assert isinstance(events, AsyncGenerator)
    async for event in events:
        if isinstance(event, Progress):
            break
    await events.aclose()  # what a cancelled scan does: the sweep is told to stop
    helpers = await idle_helpers()
    assert len(helpers) == 2
    assert all(helper.alive() and not helper.busy for helper in helpers)
    again = await reports(["127.0.7.23"], EngineOptions(ports="-"))
    assert sum(again["127.0.7.23"].counts.values()) == 65535  # not stopped by the earlier cancel
    assert procs._helpers == helpers  # the same processes
    assert outcomes[:2] == ["cancelled", "cancelled"]  # both helpers stopped, no further part begun
    assert set(outcomes[2:]) == {"finished"}


async def test_a_helper_killed_mid_sweep_fails_the_scan_and_a_new_one_takes_over() -> None:
    killed: list[procs.Helper] = []

    async def sweep_and_kill_a_helper() -> None:
        async for event in scan(BIG, EngineOptions(ports="-")):
            if isinstance(event, Progress) and not killed:
                killed.extend(procs._helpers)
                killed[0].process.kill()

    with pytest.raises(RuntimeError, match="helper process ended"):
        await sweep_and_kill_a_helper()
    assert killed
    again = await reports(["127.0.7.23"], EngineOptions(ports="-"))
    assert sum(again["127.0.7.23"].counts.values()) == 65535
    assert killed[0] not in procs._helpers
