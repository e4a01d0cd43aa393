"""Posture from findings, scans and attestations, on fakes: statuses, gaps, exclusions, events, tenancy."""

from __future__ import annotations

from datetime import timedelta

import pytest
from compliance_fakes import ACME, GLOBEX, T0, completed_scan, finding, world

from rampart_report.compliance.catalogue import FrameworkNotFound
from rampart_report.compliance.domain import FindingStatus, Posture, Status
from rampart_report.compliance.service import ControlFilter

WEAK_CIPHERS = finding("vuln_weak", "10.0.0.5", rule_id="RMP-TLS-006", cwes=("CWE-327",), severity="high")


def control(posture: Posture, control_id: str):  # type: ignore[no-untyped-def]
    return next(c for c in posture.controls() if c.control.control_id == control_id)


async def test_a_finding_failing_pci_and_iso_controls_is_in_both_gaps_and_false_positive_restores_them() -> (
    None
):
    w = world()
    w.sources.scans_by_org[ACME.org_id].append(completed_scan("scan_1", "10.0.0.5"))
    w.sources.findings_by_org[ACME.org_id].append(WEAK_CIPHERS)

    posture = await w.service.posture(ACME)
    pci, iso = control(posture, "pci-dss:4.2.1"), control(posture, "iso27001:A.8.24")
    for failing in (pci, iso):
        assert failing.status is Status.FAILING
        assert [(g.finding_id, g.host, g.port, g.remediation) for g in failing.gaps] == [
            ("vuln_weak", "10.0.0.5", 443, "fix vuln_weak")
        ]
        assert failing.failing_hosts == ["10.0.0.5"]
    assert {f.key: f.score for f in posture.frameworks}["pci-dss"] < 100.0

    w.sources.set_status(ACME.org_id, "vuln_weak", FindingStatus.FALSE_POSITIVE)
    posture = await w.service.posture(ACME)
    for restored in (control(posture, "pci-dss:4.2.1"), control(posture, "iso27001:A.8.24")):
        assert restored.status is Status.PASSING
        assert restored.gaps == []
        assert [g.finding_id for g in restored.excluded] == ["vuln_weak"]
        assert "false_positive" in restored.excluded[0].check
    assert posture.findings_excluded == 1
    assert posture.findings_open == 0


async def test_an_accepted_risk_counts_again_once_its_acceptance_expires() -> None:
    w = world()
    w.sources.scans_by_org[ACME.org_id].append(completed_scan("scan_1", "10.0.0.5"))
    w.sources.findings_by_org[ACME.org_id].append(WEAK_CIPHERS)
    w.sources.set_status(ACME.org_id, "vuln_weak", FindingStatus.ACCEPTED_RISK, T0 + timedelta(days=2))
    assert control(await w.service.posture(ACME), "pci-dss:4.2.1").status is Status.PASSING
    w.clock.advance(days=3)
    w.sources.scans_by_org[ACME.org_id].append(completed_scan("scan_2", "10.0.0.5", days_ago=-3))
    assert control(await w.service.posture(ACME), "pci-dss:4.2.1").status is Status.FAILING


async def test_controls_are_not_assessed_without_any_asset_and_manual_ones_say_manual() -> None:
    w = world()
    posture = await w.service.posture(ACME)
    assert control(posture, "pci-dss:4.2.1").status is Status.NOT_ASSESSED
    assert control(posture, "pci-dss:12.10.1").status is Status.MANUAL
    assert control(posture, "gdpr:Art.33").status is Status.MANUAL
    assert all(f.score == 0.0 for f in posture.frameworks)


async def test_an_asset_not_scanned_within_the_freshness_window_fails_vulnerability_management() -> None:
    w = world()
    w.sources.scans_by_org[ACME.org_id] += [
        completed_scan("scan_new", "10.0.0.1", days_ago=5),
        completed_scan("scan_old", "10.0.0.2", days_ago=45),
    ]
    posture = await w.service.posture(ACME)
    iso = control(posture, "iso27001:A.8.8")  # 30 days
    assert iso.status is Status.FAILING
    assert [(g.host, g.check) for g in iso.gaps] == [("10.0.0.2", "freshness 30 days")]
    assert control(posture, "pci-dss:11.3.1").status is Status.PASSING  # 90 days


async def test_a_cve_at_or_above_the_controls_minimum_severity_fails_it_and_below_does_not() -> None:
    w = world()
    w.sources.scans_by_org[ACME.org_id].append(completed_scan("scan_1", "10.0.0.9"))
    w.sources.findings_by_org[ACME.org_id].append(
        finding("vuln_cve", "10.0.0.9", cve="CVE-2024-6387", type="vulnerable_service", severity="medium")
    )
    posture = await w.service.posture(ACME)
    assert control(posture, "pci-dss:6.3.3").status is Status.PASSING  # high and above
    iso = control(posture, "iso27001:A.8.8")  # medium and above
    assert iso.status is Status.FAILING
    assert iso.gaps[0].cve == "CVE-2024-6387"


async def test_a_manual_status_decides_a_manual_control_and_a_technical_gap_still_fails_it() -> None:
    w = world()
    detail = await w.service.update_control(ACME, "soc2:CC7.4", "passing", "IR plan v3 approved", "usr_carol")
    assert detail.posture.status is Status.PASSING
    assert detail.posture.attestation is not None
    assert detail.posture.attestation.owner == "usr_carol"
    assert next((h.from_status, h.to_status, h.actor) for h in detail.history) == (
        "manual",
        "passing",
        "usr_alice",
    )

    w.sources.scans_by_org[ACME.org_id].append(completed_scan("scan_1", "10.0.0.5"))
    w.sources.findings_by_org[ACME.org_id].append(
        finding("vuln_cfg", rule_id="RMP-HTTP-003", cwes=("CWE-548",))
    )
    await w.service.update_control(ACME, "soc2:CC8.1", "passing", "change board minutes", None)
    assert control(await w.service.posture(ACME), "soc2:CC8.1").status is Status.FAILING


async def test_a_control_evidenced_only_by_scans_refuses_a_manual_status() -> None:
    from rampart.lib.errors import InvalidArgument

    with pytest.raises(InvalidArgument):
        await world().service.update_control(ACME, "pci-dss:4.2.1", "passing", "trust me", None)


async def test_a_status_change_is_recorded_in_history_and_announced_once() -> None:
    w = world()
    w.sources.scans_by_org[ACME.org_id].append(completed_scan("scan_1", "10.0.0.5"))
    await w.service.posture(ACME)  # the baseline
    assert w.events.published == []
    w.sources.findings_by_org[ACME.org_id].append(WEAK_CIPHERS)
    await w.service.posture(ACME)
    await w.service.posture(ACME)  # nothing changed since: no second event
    changed = {(cid, ch.from_status, ch.to_status) for _, cid, _, ch, _ in w.events.published}
    assert ("pci-dss:4.2.1", "passing", "failing") in changed
    assert ("iso27001:A.8.24", "passing", "failing") in changed
    assert len(w.events.published) == len(changed)
    detail = await w.service.control(ACME, "pci-dss:4.2.1")
    assert [(h.actor, h.to_status) for h in detail.history] == [("rampart", "failing")]


async def test_history_keeps_one_snapshot_per_day() -> None:
    w = world()
    w.sources.scans_by_org[ACME.org_id].append(completed_scan("scan_1", "10.0.0.5"))
    await w.service.posture(ACME)
    w.sources.findings_by_org[ACME.org_id].append(WEAK_CIPHERS)
    await w.service.posture(ACME)
    w.clock.advance(days=1)
    await w.service.posture(ACME)
    days = await w.service.history(ACME, 7)
    assert [s.day for s in days] == ["2026-03-01", "2026-03-02"]
    assert days[0].statuses["pci-dss:4.2.1"] == "failing"


async def test_another_organisations_findings_and_manual_status_are_never_visible() -> None:
    w = world()
    w.sources.scans_by_org[GLOBEX.org_id].append(completed_scan("scan_g", "192.0.2.1"))
    w.sources.findings_by_org[GLOBEX.org_id].append(replace_host(WEAK_CIPHERS, "192.0.2.1"))
    await w.service.update_control(GLOBEX, "gdpr:Art.33", "passing", "globex process", "usr_bob")
    posture = await w.service.posture(ACME)
    assert control(posture, "pci-dss:4.2.1").status is Status.NOT_ASSESSED
    assert control(posture, "gdpr:Art.33").status is Status.MANUAL
    assert control(posture, "gdpr:Art.33").attestation is None
    assert (await w.service.control(ACME, "gdpr:Art.33")).history == []
    assert {t.org_id for t in w.sources.asked} == {GLOBEX.org_id, ACME.org_id}


async def test_controls_filter_by_framework_status_and_page() -> None:
    w = world()
    page, total = await w.service.controls(ACME, ControlFilter(framework="pci-dss", status="manual"), 1, 1)
    assert total == 2
    assert [c.control.control_id for c in page] == ["pci-dss:10.2.1"]
    page, _ = await w.service.controls(ACME, ControlFilter(framework="pci-dss", status="manual"), 2, 1)
    assert [c.control.control_id for c in page] == ["pci-dss:12.10.1"]
    with pytest.raises(FrameworkNotFound):
        await w.service.controls(ACME, ControlFilter(framework="nist-800-53"), 1, 10)


def replace_host(record, host):  # type: ignore[no-untyped-def]
    from dataclasses import replace

    return replace(record, host=host)


async def test_two_computations_racing_over_the_same_change_record_and_announce_it_once() -> None:
    w = world()
    w.sources.scans_by_org[ACME.org_id].append(completed_scan("scan_1", "10.0.0.5"))
    await w.service.posture(ACME)
    w.sources.findings_by_org[ACME.org_id].append(WEAK_CIPHERS)
    snapshot = await w.repository.latest_snapshot(ACME)
    await w.service.posture(ACME)
    w.repository.days[(ACME.org_id, ACME.mode)]["2026-03-01"] = snapshot  # the other saw the old one
    await w.service.posture(ACME)
    announced = [cid for _, cid, _, _, _ in w.events.published]
    assert announced.count("pci-dss:4.2.1") == 1
    history = (await w.service.control(ACME, "pci-dss:4.2.1")).history
    assert [h.to_status for h in history] == ["failing"]
