"""Diffs between two scans: the pure comparison on domain results, and the use case on fakes."""

from __future__ import annotations

from dataclasses import replace
from datetime import UTC, datetime, timedelta

import pytest
from scan_fakes import Platform, platform

from rampart.lib.errors import InvalidArgument
from rampart.scan.v1 import scan_pb2
from rampart_scan.domain import (
    COMPLETED,
    RUNNING,
    Certificate,
    HostResult,
    NoScanToCompare,
    Owner,
    PlanLimits,
    PortCounts,
    PortResult,
    Scan,
    ScanNotFinished,
    ScanNotFound,
    ScanSpec,
    ServiceInfo,
    TlsAudit,
)
from rampart_scan.domain.diff import ScanSide, diff_results
from rampart_scan.mappers import diff_to_proto

NOW = datetime(2026, 6, 1, tzinfo=UTC)
LIVE = Owner("usr_a", "org_a")


def cert(subject: str = "CN=a", days: int = 200) -> Certificate:
    return Certificate(
        subject=subject,
        issuer="CN=ca",
        subject_alt_names=("a",),
        not_before=NOW - timedelta(days=10),
        not_after=NOW + timedelta(days=days),
        key_type="RSA",
        key_bits=2048,
        signature_algorithm="sha256WithRSAEncryption",
        self_signed=False,
        expired=days < 0,
        not_yet_valid=False,
        hostname_mismatch=False,
    )


def port(host: str, number: int, version: str = "", certificate: Certificate | None = None) -> PortResult:
    service = ServiceInfo("ssh", "OpenSSH", version) if version else None
    tls = TlsAudit(certificate=certificate) if certificate else None
    return PortResult(host, number, "open", service=service, tls=tls)


def side(*ports: PortResult, hosts: tuple[HostResult, ...] = ()) -> ScanSide:
    return ScanSide("tcp", ports, hosts)


def test_opened_and_closed_ports_are_listed_with_their_service() -> None:
    before = side(port("10.0.0.1", 22, "8.9"), port("10.0.0.1", 80))
    after = side(port("10.0.0.1", 22, "8.9"), port("10.0.0.1", 443), port("10.0.0.1", 8080))
    diff = diff_results(before, after, NOW)
    assert [(c.host, c.port) for c in diff.ports_opened] == [("10.0.0.1", 443), ("10.0.0.1", 8080)]
    assert [(c.host, c.port) for c in diff.ports_closed] == [("10.0.0.1", 80)]
    assert diff.services_changed == ()
    assert diff.changed


def test_a_port_the_other_scan_did_not_probe_is_neither_opened_nor_closed() -> None:
    """Two scans of the same host with different port lists: only the ports both probed compare."""
    before = ScanSide("tcp", (port("h", 22), port("h", 80)), (), covered=frozenset(range(1, 101)))
    after = ScanSide(
        "tcp", (port("h", 22), port("h", 443), port("h", 90)), (), covered=frozenset(range(1, 1001))
    )
    diff = diff_results(before, after, NOW)
    assert [c.port for c in diff.ports_opened] == [90]  # 443 was outside the older scan's 1-100
    assert [c.port for c in diff.ports_closed] == [80]
    narrower = diff_results(after, before, NOW)
    assert [c.port for c in narrower.ports_closed] == [90]  # 443 not probed by the newer scan: not "closed"
    assert [c.port for c in narrower.ports_opened] == [80]


def test_a_version_upgrade_on_a_port_open_in_both_is_a_service_change() -> None:
    diff = diff_results(side(port("h", 22, "8.9")), side(port("h", 22, "9.6")), NOW)
    [change] = diff.services_changed
    assert (change.port, change.before and change.before.version, change.after and change.after.version) == (
        22,
        "8.9",
        "9.6",
    )
    assert diff.ports_opened == diff.ports_closed == ()


def test_identical_scans_have_no_change() -> None:
    results = side(port("h", 22, "8.9"), port("h", 443, certificate=cert()))
    diff = diff_results(results, results, NOW)
    assert not diff.changed


def test_hosts_answering_only_in_one_scan_are_up_or_down() -> None:
    answered = HostResult("10.0.0.3", counts=PortCounts(closed=1000))  # only resets: still up
    silent = HostResult("10.0.0.4", counts=PortCounts(filtered=1000))
    before = side(port("10.0.0.1", 22), hosts=(silent,))
    after = side(port("10.0.0.2", 22), hosts=(answered, silent))
    diff = diff_results(before, after, NOW)
    assert diff.hosts_up == ("10.0.0.2", "10.0.0.3")
    assert diff.hosts_down == ("10.0.0.1",)


def test_a_replaced_certificate_is_a_change_and_one_expiring_soon_is_listed() -> None:
    before = side(
        port("h", 443, certificate=cert("CN=old", days=5)), port("h", 8443, certificate=cert(days=20))
    )
    after = side(
        port("h", 443, certificate=cert("CN=new", days=365)), port("h", 8443, certificate=cert(days=20))
    )
    diff = diff_results(before, after, NOW)
    [changed] = diff.certificates_changed
    assert changed.port == 443
    assert changed.before is not None
    assert changed.before.subject == "CN=old"
    assert changed.after is not None
    assert changed.after.subject == "CN=new"
    assert [(e.port, e.days_left) for e in diff.certificates_expiring] == [(8443, 20)]
    assert diff_results(before, after, NOW, expiring_within_days=10).certificates_expiring == ()


def test_an_expired_certificate_has_negative_days_left() -> None:
    diff = diff_results(side(), side(port("h", 443, certificate=cert(days=-3))), NOW)
    assert [e.days_left for e in diff.certificates_expiring] == [-3]


async def completed(
    p: Platform,
    ports: list[PortResult],
    owner: Owner = LIVE,
    target: str = "127.0.0.1",
    spec: str = "1-1000",
) -> Scan:
    p.clock.advance(60)
    scan = (await p.commands.create(owner, ScanSpec(targets=(target,), ports=spec), PlanLimits())).scan
    for result in ports:
        await p.store.save_port(scan, result)
    done = replace(scan, status=COMPLETED, completed_at=p.clock.now())
    p.store.scans[scan.id] = done
    return done


async def test_the_use_case_compares_only_the_ports_both_scans_probed() -> None:
    p = platform()
    await completed(p, [port("127.0.0.1", 22)], spec="1-100")
    wider = await completed(p, [port("127.0.0.1", 22), port("127.0.0.1", 90), port("127.0.0.1", 443)])
    diff = await p.queries.diff(LIVE, wider.id, "", 0, NOW)
    assert [c.port for c in diff.results.ports_opened] == [90]  # 443: the older scan never probed it


async def test_the_default_baseline_is_the_previous_completed_scan_of_the_same_targets() -> None:
    p = platform()
    oldest = await completed(p, [port("127.0.0.1", 22)])
    previous = await completed(p, [port("127.0.0.1", 22), port("127.0.0.1", 80)])
    await completed(p, [], target="127.0.0.9")  # other targets: never the baseline
    running = await completed(p, [])
    p.store.scans[running.id] = replace(running, status=RUNNING)  # not completed: never the baseline
    latest = await completed(p, [port("127.0.0.1", 22), port("127.0.0.1", 443)])
    diff = await p.queries.diff(LIVE, latest.id, "", 0, NOW)
    assert diff.against.id == previous.id
    assert [c.port for c in diff.results.ports_opened] == [443]
    assert [c.port for c in diff.results.ports_closed] == [80]
    explicit = await p.queries.diff(LIVE, latest.id, oldest.id, 0, NOW)
    assert explicit.against.id == oldest.id
    assert [c.port for c in explicit.results.ports_closed] == []
    with pytest.raises(NoScanToCompare):
        await p.queries.diff(LIVE, oldest.id, "", 0, NOW)


async def test_another_organisations_scan_is_not_found_on_either_side() -> None:
    p = platform()
    mine = await completed(p, [port("127.0.0.1", 22)])
    theirs = await completed(p, [port("127.0.0.1", 22)], owner=Owner("usr_b", "org_b"))
    with pytest.raises(ScanNotFound):
        await p.queries.diff(LIVE, mine.id, theirs.id, 0, NOW)
    with pytest.raises(ScanNotFound):
        await p.queries.diff(LIVE, theirs.id, mine.id, 0, NOW)
    sandbox = Owner("usr_a", "org_a", sandbox=True)
    with pytest.raises(ScanNotFound):
        await p.queries.diff(sandbox, mine.id, "", 0, NOW)


async def test_an_unfinished_scan_or_a_bad_window_is_refused() -> None:
    p = platform()
    done = await completed(p, [])
    running = await completed(p, [])
    p.store.scans[running.id] = replace(running, status=RUNNING)
    with pytest.raises(ScanNotFinished):
        await p.queries.diff(LIVE, running.id, done.id, 0, NOW)
    with pytest.raises(ScanNotFinished):
        await p.queries.diff(LIVE, done.id, running.id, 0, NOW)
    with pytest.raises(InvalidArgument):
        await p.queries.diff(LIVE, done.id, "", -1, NOW)


async def test_the_diff_reply_carries_both_scans_and_every_change() -> None:
    p = platform()
    before = await completed(p, [port("127.0.0.1", 22, "8.9")])
    after = await completed(
        p, [port("127.0.0.1", 22, "9.6"), port("127.0.0.1", 443, certificate=cert(days=3))]
    )
    reply = diff_to_proto(await p.queries.diff(LIVE, after.id, "", 0, NOW))
    assert isinstance(reply, scan_pb2.ScanDiff)
    assert (reply.scan.scan_id, reply.against.scan_id) == (after.id, before.id)
    assert [c.port for c in reply.ports_opened] == [443]
    assert [(c.before.version, c.after.version) for c in reply.services_changed] == [("8.9", "9.6")]
    assert [(e.port, e.days_left) for e in reply.certificates_expiring] == [(443, 3)]
