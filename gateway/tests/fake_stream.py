"""A stand-in for the broker's scan-event stream: stored events, replayed to each ordered consumer."""

from __future__ import annotations

import asyncio
from types import SimpleNamespace
from typing import Any

from nats.js.api import ConsumerConfig, DeliverPolicy

from rampart.common.v1 import common_pb2
from rampart.scan.v1 import scan_pb2


class Subscription:
    async def unsubscribe(self) -> None:
        pass


def stream_broker(history: dict[str, list[scan_pb2.ScanEvent]], first_sequence: int = 41) -> Any:
    """Each scan's ``history`` at sequences ``first_sequence``...; a consumer gets it from its start."""

    async def subscribe(subject: str, cb: Any, config: ConsumerConfig, **_: Any) -> Subscription:
        scan_id = subject.split(".")[2]
        events = history.get(scan_id, [])
        stored = [(first_sequence + i, item.SerializeToString()) for i, item in enumerate(events)]
        start = config.opt_start_seq if config.deliver_policy == DeliverPolicy.BY_START_SEQUENCE else 0

        async def deliver() -> None:
            for sequence, data in stored:
                if sequence >= (start or 0):
                    meta = SimpleNamespace(sequence=SimpleNamespace(stream=sequence))
                    await cb(SimpleNamespace(data=data, metadata=meta))

        asyncio.get_running_loop().create_task(deliver())
        return Subscription()

    nc = SimpleNamespace(is_connected=True, jetstream=lambda: SimpleNamespace(subscribe=subscribe))
    return SimpleNamespace(nc=nc, live_workers=list)


OWNER = common_pb2.Owner(org_id="org_a", user_id="usr_a")
RUNNING, DONE = scan_pb2.SCAN_STATUS_RUNNING, scan_pb2.SCAN_STATUS_COMPLETED


def event(
    kind: scan_pb2.ScanEventType.ValueType, scan_id: str = "scn_1", **fields: Any
) -> scan_pb2.ScanEvent:
    status = fields.pop("status", RUNNING)
    return scan_pb2.ScanEvent(
        event_id=f"e{kind}", scan_id=scan_id, owner=OWNER, type=kind, status=status, **fields
    )


def finding(
    port: int, severity: str, cve: str = "", rule: str = "", scan_id: str = "scn_1"
) -> scan_pb2.ScanEvent:
    notice = scan_pb2.FindingNotice(
        vulnerability_id=f"vuln_{port}",
        fingerprint=f"fp{port}-{cve or rule}",
        type="vulnerable_service" if cve else "exposure",
        severity=severity,
        title="t",
        host="127.0.0.1",
        port=port,
        protocol="tcp",
        cve=cve,
        rule_id=rule,
        status="open",
        first_sighting=True,
        confidence="confirmed",
        priority="attend",
    )
    return event(scan_pb2.SCAN_EVENT_TYPE_FINDING, scan_id, finding=notice)
