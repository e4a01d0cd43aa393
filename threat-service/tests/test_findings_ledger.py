"""The vulnerability ledger on an in-memory repository: de-duplication, lifecycle, history, tenancy."""

from __future__ import annotations

from datetime import timedelta

import pytest
from assets_fakes import FakeAssets
from findings_fakes import T0, Clock, FakeVulnerabilities, Scan

from rampart.lib.errors import InvalidArgument
from rampart_threat.assets.domain import asset_id
from rampart_threat.assets.service import AssetService
from rampart_threat.findings.domain import (
    MAX_SIGHTINGS,
    Change,
    Status,
    TransitionNotAllowed,
    VulnerabilityNotFound,
    vulnerability_id,
)
from rampart_threat.findings.model import Finding, Severity
from rampart_threat.findings.ports import Coverage, FindingLedger
from rampart_threat.findings.repository import SightingMark
from rampart_threat.findings.service import Listing, Triage, Viewer, VulnerabilityLedger

OWNER = Viewer("org_a", True, "usr_a")
SCAN_1, SCAN_2, SCAN_3 = (
    Scan("scan_1"),
    Scan("scan_2", T0 + timedelta(days=1)),
    Scan("scan_3", T0 + timedelta(days=2)),
)


def ledger() -> tuple[VulnerabilityLedger, FakeVulnerabilities, Clock]:
    store, clock = FakeVulnerabilities(), Clock()
    return VulnerabilityLedger(store, clock), store, clock


def covering(
    scan: Scan, *seen: str, hosts: tuple[str, ...] = ("10.0.0.5",), ports: tuple[int, ...] = (22,)
) -> Coverage:
    return Coverage(
        scan.scan_id,
        scan.org_id,
        scan.live,
        frozenset(hosts),
        frozenset((port, "tcp") for port in ports),
        frozenset(seen),
    )


def test_the_ledger_is_the_pipelines_finding_ledger() -> None:
    implementation: FindingLedger = ledger()[0]
    assert implementation is not None


async def test_a_first_finding_opens_a_record_with_its_creation_in_the_history() -> None:
    service, _, _ = ledger()
    finding = SCAN_1.finding()
    sighting = await service.record(finding)
    assert sighting.vulnerability_id == vulnerability_id(finding.fingerprint)
    assert (sighting.status, sighting.first_sighting, sighting.changed) == ("open", True, True)
    record = await service.get(OWNER, sighting.vulnerability_id)
    assert record.first_seen == record.last_seen == T0
    assert [(e.kind, e.actor, e.before, e.after, e.scan_id) for e in record.history] == [
        (Change.CREATED, "rampart", "", "open", "scan_1")
    ]


async def test_the_same_finding_of_the_same_scan_twice_changes_nothing() -> None:
    service, store, _ = ledger()
    await service.record(SCAN_1.finding())
    writes = store.writes
    again = await service.record(SCAN_1.finding())
    assert (again.changed, again.first_sighting, again.status) == (False, True, "open")
    assert store.writes == writes
    record = await service.get(OWNER, again.vulnerability_id)
    assert record.sightings_total == 1
    assert len(record.history) == 1


async def test_a_later_scan_adds_a_sighting_and_its_evidence_becomes_the_latest() -> None:
    service, _, _ = ledger()
    await service.record(SCAN_1.finding(severity=Severity.HIGH))
    sighting = await service.record(SCAN_2.finding(severity=Severity.CRITICAL))
    assert (sighting.first_sighting, sighting.changed) == (False, True)
    record = await service.get(OWNER, sighting.vulnerability_id)
    assert (record.first_seen, record.last_seen) == (T0, SCAN_2.at)
    assert (record.first_scan_id, record.last_scan_id) == ("scan_1", "scan_2")
    assert [s.scan_id for s in record.sightings] == ["scan_2", "scan_1"]
    assert record.observation.evidence == {"scan": "scan_2"}
    assert record.observation.severity is Severity.CRITICAL
    assert len(record.history) == 1  # a sighting is not a change of state


async def test_an_older_scan_arriving_late_does_not_replace_the_newer_evidence() -> None:
    service, _, _ = ledger()
    await service.record(SCAN_2.finding())
    sighting = await service.record(SCAN_1.finding())
    record = await service.get(OWNER, sighting.vulnerability_id)
    assert record.observation.evidence == {"scan": "scan_2"}
    assert (record.first_seen, record.first_scan_id, record.last_scan_id) == (T0, "scan_1", "scan_2")


async def test_a_record_lists_only_its_most_recent_sightings_but_counts_them_all() -> None:
    service, _, _ = ledger()
    for n in range(MAX_SIGHTINGS + 5):
        sighting = await service.record(Scan(f"scan_{n}", T0 + timedelta(hours=n)).finding())
    record = await service.get(OWNER, sighting.vulnerability_id)
    assert record.sightings_total == MAX_SIGHTINGS + 5
    assert len(record.sightings) == MAX_SIGHTINGS
    assert record.sightings[0].scan_id == f"scan_{MAX_SIGHTINGS + 4}"


async def test_live_and_test_findings_of_the_same_problem_are_separate_records() -> None:
    service, _, _ = ledger()
    live = await service.record(SCAN_1.finding())
    test = await service.record(Scan("scan_t", live=False).finding())
    assert live.vulnerability_id != test.vulnerability_id
    assert test.first_sighting
    with pytest.raises(VulnerabilityNotFound):
        await service.get(Viewer("org_a", False, "usr_a"), live.vulnerability_id)
    page = await service.list(Viewer("org_a", False, "usr_a"), Listing())
    assert [v.vulnerability_id for v in page.items] == [test.vulnerability_id]


async def test_another_organisations_record_is_not_found_for_reading_or_triage() -> None:
    service, _, _ = ledger()
    sighting = await service.record(SCAN_1.finding())
    stranger = Viewer("org_b", True, "usr_b")
    with pytest.raises(VulnerabilityNotFound):
        await service.get(stranger, sighting.vulnerability_id)
    with pytest.raises(VulnerabilityNotFound):
        await service.update(stranger, sighting.vulnerability_id, Triage(status=Status.FALSE_POSITIVE))
    assert (await service.get(OWNER, sighting.vulnerability_id)).status is Status.OPEN


async def test_a_covering_scan_that_no_longer_sees_it_resolves_it_as_fixed_by_that_scan() -> None:
    service, _, _ = ledger()
    sighting = await service.record(SCAN_1.finding())
    settled = await service.settle(covering(SCAN_2))
    assert (settled.findings, settled.resolved) == (0, 1)
    record = await service.get(OWNER, sighting.vulnerability_id)
    assert (record.status, record.resolution, record.resolved_scan_id) == (Status.RESOLVED, "fixed", "scan_2")
    last = record.history[-1]
    assert (last.actor, last.before, last.after, last.scan_id) == ("rampart", "open", "resolved", "scan_2")
    assert "fixed" in last.note


async def test_settling_twice_changes_nothing_and_answers_the_same() -> None:
    service, store, _ = ledger()
    await service.record(SCAN_1.finding())
    await service.record(SCAN_2.finding("RMP-SSH-001", severity=Severity.MEDIUM))
    first = await service.settle(covering(SCAN_2))
    writes = store.writes
    assert await service.settle(covering(SCAN_2)) == first
    assert store.writes == writes
    assert (first.findings, first.resolved) == (1, 1)
    assert first.by_severity == {"info": 0, "low": 0, "medium": 1, "high": 0, "critical": 0}


async def test_a_scan_that_did_not_cover_the_port_or_host_resolves_nothing() -> None:
    service, _, _ = ledger()
    sighting = await service.record(SCAN_1.finding())
    await service.settle(covering(SCAN_2, ports=(80,)))
    await service.settle(covering(SCAN_2, hosts=("10.0.0.6",)))
    assert (await service.get(OWNER, sighting.vulnerability_id)).status is Status.OPEN


async def test_a_scan_that_saw_it_does_not_resolve_it_even_if_the_coverage_forgets_it() -> None:
    service, _, _ = ledger()
    sighting = await service.record(SCAN_1.finding())
    await service.settle(covering(SCAN_1))  # seen is empty, the ledger knows what scan_1 recorded
    assert (await service.get(OWNER, sighting.vulnerability_id)).status is Status.OPEN


async def test_seen_again_after_being_resolved_it_is_reopened_and_the_history_says_so() -> None:
    service, _, _ = ledger()
    await service.record(SCAN_1.finding())
    await service.settle(covering(SCAN_2))
    sighting = await service.record(SCAN_3.finding())
    assert sighting.status == "reopened"
    record = await service.get(OWNER, sighting.vulnerability_id)
    assert [(e.before, e.after) for e in record.history if e.kind is Change.STATUS] == [
        ("open", "resolved"),
        ("resolved", "reopened"),
    ]
    assert record.history[-1].scan_id == "scan_3"
    assert record.resolution == ""


async def test_a_false_positive_survives_rescans_that_see_it_and_that_do_not() -> None:
    service, _, _ = ledger()
    sighting = await service.record(SCAN_1.finding())
    await service.update(OWNER, sighting.vulnerability_id, Triage(Status.FALSE_POSITIVE, "banner lies"))
    assert (await service.record(SCAN_2.finding())).status == "false_positive"
    await service.settle(covering(SCAN_3))
    record = await service.get(OWNER, sighting.vulnerability_id)
    assert record.status is Status.FALSE_POSITIVE
    assert record.history[-1].actor == "usr_a"
    assert record.history[-1].note == "banner lies"


async def test_an_unexpired_accepted_risk_survives_rescans() -> None:
    service, _, clock = ledger()
    sighting = await service.record(SCAN_1.finding())
    until = T0 + timedelta(days=30)
    await service.update(OWNER, sighting.vulnerability_id, Triage(Status.ACCEPTED_RISK, "legacy box", until))
    clock.advance(days=2)
    assert (await service.record(SCAN_3.finding())).status == "accepted_risk"
    await service.settle(covering(Scan("scan_4")))
    record = await service.get(OWNER, sighting.vulnerability_id)
    assert (record.status, record.accepted_until) == (Status.ACCEPTED_RISK, until)


async def test_an_expired_accepted_risk_is_open_again_at_the_next_sighting() -> None:
    service, _, clock = ledger()
    sighting = await service.record(SCAN_1.finding())
    until = T0 + timedelta(days=1)
    await service.update(
        OWNER, sighting.vulnerability_id, Triage(Status.ACCEPTED_RISK, "until patch day", until)
    )
    clock.advance(days=3)
    assert (await service.record(SCAN_3.finding())).status == "open"
    record = await service.get(OWNER, sighting.vulnerability_id)
    last = record.history[-1]
    assert (last.actor, last.before, last.after) == ("rampart", "accepted_risk", "open")
    assert "expired" in last.note
    assert record.accepted_until is None


async def test_an_invalid_transition_is_refused_naming_the_allowed_ones() -> None:
    service, _, _ = ledger()
    sighting = await service.record(SCAN_1.finding())
    await service.update(OWNER, sighting.vulnerability_id, Triage(Status.FALSE_POSITIVE))
    with pytest.raises(TransitionNotAllowed) as refused:
        await service.update(OWNER, sighting.vulnerability_id, Triage(Status.CONFIRMED))
    assert refused.value.details["allowed"] == ["open"]
    with pytest.raises(TransitionNotAllowed):  # reopened is the scans' word, not a person's
        await service.update(OWNER, sighting.vulnerability_id, Triage(Status.REOPENED))


async def test_accepting_a_risk_needs_a_future_expiry_and_a_reason() -> None:
    service, _, _ = ledger()
    record_id = (await service.record(SCAN_1.finding())).vulnerability_id
    for triage in (
        Triage(Status.ACCEPTED_RISK, "why"),
        Triage(Status.ACCEPTED_RISK, "why", T0 - timedelta(days=1)),
        Triage(Status.ACCEPTED_RISK, "  ", T0 + timedelta(days=1)),
        Triage(Status.CONFIRMED, "x", T0 + timedelta(days=1)),
    ):
        with pytest.raises(InvalidArgument):
            await service.update(OWNER, record_id, triage)
    assert (await service.get(OWNER, record_id)).status is Status.OPEN


async def test_triage_assignee_and_note_each_join_the_history_with_who_and_when() -> None:
    service, _, clock = ledger()
    record_id = (await service.record(SCAN_1.finding())).vulnerability_id
    clock.advance(hours=1)
    await service.update(OWNER, record_id, Triage(Status.CONFIRMED, "reproduced", assignee="usr_b"))
    clock.advance(hours=1)
    record = await service.update(OWNER, record_id, Triage(note="patch scheduled"))
    assert record.assignee == "usr_b"
    assert [(e.kind, e.actor, e.before, e.after, e.note, e.at) for e in record.history[1:]] == [
        (Change.STATUS, "usr_a", "open", "confirmed", "reproduced", T0 + timedelta(hours=1)),
        (Change.ASSIGNEE, "usr_a", "", "usr_b", "", T0 + timedelta(hours=1)),
        (Change.NOTE, "usr_a", "", "", "patch scheduled", T0 + timedelta(hours=2)),
    ]


async def test_a_crash_after_the_marker_is_completed_by_the_redelivery_once() -> None:
    """Marker written, record never updated: the redelivery applies it, exactly once."""
    service, store, _ = ledger()
    finding = SCAN_1.finding()
    await store.mark(_mark(finding))  # the first delivery stopped right after its marker
    sighting = await service.record(finding)
    assert (sighting.changed, sighting.first_sighting) == (True, True)
    assert (await service.record(finding)).changed is False
    assert len((await service.get(OWNER, sighting.vulnerability_id)).history) == 1


async def test_a_crash_before_the_marker_is_marked_applied_does_not_apply_twice() -> None:
    """Record updated, marker left unapplied: the redelivery sees the scan on the record, changes nothing."""
    service, store, _ = ledger()
    await service.record(SCAN_1.finding())
    finding = SCAN_2.finding()
    await service.record(finding)
    key = f"{vulnerability_id(finding.fingerprint)}:scan_2"
    store.marks[key] = (store.marks[key][0], False)  # the crash: the applied flag never written
    writes = store.writes
    again = await service.record(finding)
    assert again.changed is False
    assert store.writes == writes
    assert (await service.get(OWNER, again.vulnerability_id)).sightings_total == 2


async def test_a_lost_version_race_is_retried_on_the_fresh_record() -> None:
    service, store, _ = ledger()
    record_id = (await service.record(SCAN_1.finding())).vulnerability_id
    store.lose_next_saves = 2
    await service.record(SCAN_2.finding())
    record = await service.get(OWNER, record_id)
    assert record.sightings_total == 2


def _mark(finding: Finding) -> SightingMark:
    record_id = vulnerability_id(finding.fingerprint)
    return SightingMark(
        record_id, finding.org_id, finding.live, finding.scan_id, finding.severity, finding.detected_at
    )


async def test_a_finding_arriving_after_its_own_scan_settled_undoes_that_scans_resolution() -> None:
    service, _, _ = ledger()
    record_id = (await service.record(SCAN_1.finding())).vulnerability_id
    await service.update(OWNER, record_id, Triage(Status.CONFIRMED))
    await service.settle(covering(SCAN_2))  # scan_2's finding had not arrived yet
    late = await service.record(SCAN_2.finding())
    assert late.status == "confirmed"
    record = await service.get(OWNER, record_id)
    assert (record.resolution, record.resolved_scan_id) == ("", "")
    assert record.history[-1].note == "seen by scan scan_2 after it settled"


async def test_the_asset_inventory_is_told_each_hosts_open_findings_after_settling_and_triage() -> None:
    assets = AssetService(FakeAssets())
    store, clock = FakeVulnerabilities(), Clock()
    service = VulnerabilityLedger(store, clock, assets)
    exposure = await service.record(SCAN_1.finding("RMP-AUTH-001", port=6379, severity=Severity.HIGH))
    await service.record(SCAN_1.finding())  # CVE-2023-38408, critical, on 22
    await service.record(SCAN_1.finding("RMP-SSH-001", host="10.0.0.6", severity=Severity.MEDIUM))
    await service.count_open("org_a", True, ("10.0.0.5", "10.0.0.6"))

    async def counts(host: str) -> dict[str, int]:
        return (await assets.get("org_a", True, asset_id("org_a", host))).findings

    assert await counts("10.0.0.5") == {"critical": 1, "high": 1}
    assert await counts("10.0.0.6") == {"medium": 1}
    await service.update(OWNER, exposure.vulnerability_id, Triage(Status.FALSE_POSITIVE, "lab"))
    assert await counts("10.0.0.5") == {"critical": 1}  # a false positive is not an open finding
    await service.settle(covering(SCAN_2, ports=(22,)))  # 22 covered, not seen: fixed
    await service.count_open("org_a", True, ("10.0.0.5",))
    assert await counts("10.0.0.5") == {}
    assert await counts("10.0.0.6") == {"medium": 1}  # not covered, not recounted, still open


# ---- many findings at once (a fetch of port events) ----------------------------------------------


async def test_recording_many_at_once_does_what_recording_each_does() -> None:
    """New records, a sighting of an existing one, and the same finding twice in one batch (port_found
    then service_detected of one port): one record each, one sighting and one history entry each."""
    service, store, _ = ledger()
    existing = await service.record(SCAN_1.finding("CVE-2023-38408"))
    batch = [
        SCAN_2.finding("CVE-2023-38408"),
        SCAN_2.finding("CVE-2024-6387"),
        SCAN_2.finding("RMP-SSH-001", port=2222),
        SCAN_2.finding("CVE-2024-6387"),
    ]
    sightings = await service.record_many(batch)
    assert [s.changed for s in sightings] == [True, True, True, False]
    assert [s.first_sighting for s in sightings] == [False, True, True, True]
    assert sightings[0].vulnerability_id == existing.vulnerability_id
    assert sightings[3].vulnerability_id == sightings[1].vulnerability_id
    assert len(store.records) == 3
    sighted = await service.get(OWNER, existing.vulnerability_id)
    assert (sighted.sightings_total, len(sighted.history)) == (2, 1)
    for sighting in sightings[1:3]:
        record = await service.get(OWNER, sighting.vulnerability_id)
        assert (record.sightings_total, len(record.history)) == (1, 1)
    assert all(applied for _, applied in store.marks.values())


async def test_a_batch_delivered_again_changes_nothing() -> None:
    service, store, _ = ledger()
    batch = [SCAN_1.finding("CVE-2023-38408"), SCAN_1.finding("RMP-SSH-001")]
    await service.record_many(batch)
    writes = store.writes
    again = await service.record_many(batch)
    assert [s.changed for s in again] == [False, False]
    assert store.writes == writes


async def test_a_batch_after_a_crash_between_its_steps_completes_each_finding_once() -> None:
    """The first delivery stopped after one marker (never applied) and after another record's write
    (marker left unapplied): the redelivered batch finishes the first and leaves the second alone."""
    service, store, _ = ledger()
    await service.record(SCAN_1.finding("RMP-SSH-001"))
    interrupted, written = SCAN_2.finding("CVE-2023-38408"), SCAN_2.finding("RMP-SSH-001")
    await store.mark(_mark(interrupted))
    await service.record(written)
    key = f"{vulnerability_id(written.fingerprint)}:scan_2"
    store.marks[key] = (store.marks[key][0], False)
    sightings = await service.record_many([interrupted, written])
    assert [s.changed for s in sightings] == [True, False]
    for sighting, total in zip(sightings, (1, 2), strict=True):
        record = await service.get(OWNER, sighting.vulnerability_id)
        assert (record.sightings_total, len(record.history)) == (total, 1)


async def test_a_batch_losing_version_races_records_every_sighting_once() -> None:
    service, store, _ = ledger()
    first = [SCAN_1.finding("CVE-2023-38408"), SCAN_1.finding("RMP-SSH-001")]
    await service.record_many(first)
    store.lose_next_saves = 1  # another writer (a person's triage) changes one record meanwhile
    sightings = await service.record_many([SCAN_2.finding("CVE-2023-38408"), SCAN_2.finding("RMP-SSH-001")])
    assert all(s.changed for s in sightings)
    for sighting in sightings:
        record = await service.get(OWNER, sighting.vulnerability_id)
        assert [s.scan_id for s in record.sightings] == ["scan_2", "scan_1"]
