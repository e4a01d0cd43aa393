"""Posture recomputed in the background when a scan's findings settle: debounced per organisation,
so compliance.changed fires without anyone reading compliance; a failed computation is retried."""

from __future__ import annotations

from typing import Any, cast

from compliance_fakes import ACME, GLOBEX, completed_scan, finding, world
from nats.aio.msg import Msg

from rampart.common.v1 import common_pb2
from rampart.lib.events import Outcome
from rampart.scan.v1 import scan_pb2
from rampart_report.compliance.domain import Tenant
from rampart_report.compliance.refresh import PostureRefresher

WEAK_CIPHERS = finding("vuln_weak", "10.0.0.5", rule_id="RMP-TLS-006", cwes=("CWE-327",), severity="high")


class Ticks:
    def __init__(self) -> None:
        self.now = 0.0

    def __call__(self) -> float:
        return self.now


def settled(org_id: str, scan_id: str, kind: int = scan_pb2.SCAN_EVENT_TYPE_FINDINGS_SETTLED) -> Msg:
    event = scan_pb2.ScanEvent(
        event_id=f"{scan_id}.settled",
        scan_id=scan_id,
        owner=common_pb2.Owner(org_id=org_id, user_id="usr_1", mode=common_pb2.KEY_MODE_LIVE),
        type=kind,  # type: ignore[arg-type]
        settled=scan_pb2.FindingsSettled(findings=1),
    )
    return Msg(_client=cast(Any, None), data=event.SerializeToString())


async def test_settled_scans_recompute_the_posture_once_after_the_debounce_and_announce_the_change() -> None:
    w = world()
    w.sources.scans_by_org[ACME.org_id].append(completed_scan("scan_1", "10.0.0.5"))
    await w.service.posture(ACME)  # the baseline: every control passing or not assessed
    computed: list[Tenant] = []

    async def recompute(tenant: Tenant) -> object:
        computed.append(tenant)
        return await w.service.posture(tenant)

    ticks = Ticks()
    refresher = PostureRefresher(recompute, debounce_seconds=30.0, clock=ticks)
    w.sources.findings_by_org[ACME.org_id].append(WEAK_CIPHERS)  # what the scans found
    for scan_id in ("scan_2", "scan_3", "scan_4"):
        assert await refresher(settled(ACME.org_id, scan_id)) is Outcome.APPLIED
        ticks.now += 5
    assert (
        await refresher(settled(ACME.org_id, "scan_5", scan_pb2.SCAN_EVENT_TYPE_PROGRESS)) is Outcome.APPLIED
    )
    assert await refresher.run_due() == 0  # not yet: more scans may settle
    assert w.events.published == []
    ticks.now = 30.0
    assert await refresher.run_due() == 1  # three settlements, one computation
    assert [(t.org_id, t.mode) for t in computed] == [(ACME.org_id, "live")]
    changed = {(cid, ch.to_status) for tenant, cid, _, ch, _ in w.events.published}
    assert ("pci-dss:4.2.1", "failing") in changed
    assert refresher.pending() == {}


async def test_organisations_are_recomputed_apart_and_a_failure_is_retried_later() -> None:
    calls: list[str] = []
    failing = {GLOBEX.org_id}

    async def recompute(tenant: Tenant) -> object:
        calls.append(tenant.org_id)
        if tenant.org_id in failing:
            raise ConnectionError("threat-service away")
        return None

    ticks = Ticks()
    refresher = PostureRefresher(recompute, debounce_seconds=10.0, retry_seconds=300.0, clock=ticks)
    await refresher(settled(ACME.org_id, "scan_a"))
    await refresher(settled(GLOBEX.org_id, "scan_g"))
    ticks.now = 10.0
    assert await refresher.run_due() == 1
    assert sorted(calls) == [ACME.org_id, GLOBEX.org_id]
    assert refresher.pending() == {(GLOBEX.org_id, "live"): 310.0}
    failing.clear()
    ticks.now = 310.0
    assert await refresher.run_due() == 1
    assert calls[-1] == GLOBEX.org_id
    assert refresher.pending() == {}
