"""Live scan events across a broker outage: a port event is never lost, a progress may be."""

from __future__ import annotations

from typing import Any

import nats.errors
from scan_fakes import platform
from test_scan_execution import HOST, SSH, queued

from rampart_scan.events import ScanEvents
from rampart_scan.findings import port_result


class Relay:
    """The outbox as the live path sees it: what was kept for the relay."""

    def __init__(self) -> None:
        self.kept: list[dict[str, Any]] = []

    async def keep(self, entries: list[dict[str, Any]]) -> None:
        self.kept += entries


class Broker:
    """A publisher that takes nothing (its PubAck never came: the bounded publish timed out)."""

    def __init__(self, up: bool = True) -> None:
        self.is_connected = up
        self.tried: list[str] = []

    async def publish(self, subject: str, payload: bytes, msg_id: str, request_id: str | None = None) -> bool:
        self.tried.append(msg_id)
        raise nats.errors.TimeoutError


async def test_a_port_event_the_broker_does_not_take_is_kept_for_the_relay_and_a_progress_is_not() -> None:
    p = platform()
    scan = await queued(p)
    relay, broker = Relay(), Broker()
    events = ScanEvents(relay, broker, broker)  # type: ignore[arg-type]
    result = port_result(HOST, SSH)
    await events.port(scan, "req", result, service=False)
    await events.progress(scan, "req", f"{scan.id}.progress.1.1", 5, 10, 50)
    assert broker.tried == [f"{scan.id}.port.127.0.0.1.22", f"{scan.id}.progress.1.1"]
    assert [(e["_id"], e["subject"]) for e in relay.kept] == [
        (f"{scan.id}.port.127.0.0.1.22", f"scan.events.{scan.id}.port_found")
    ]


async def test_while_the_broker_reconnects_a_port_event_goes_to_the_relay_without_waiting() -> None:
    p = platform()
    scan = await queued(p)
    relay, broker = Relay(), Broker(up=False)
    events = ScanEvents(relay, broker, broker)  # type: ignore[arg-type]
    await events.port(scan, "req", port_result(HOST, SSH), service=True)
    assert broker.tried == []
    assert [e["_id"] for e in relay.kept] == [f"{scan.id}.service.127.0.0.1.22"]
