"""Posture: each control's status from the organisation's findings, scans and attestations (pure, no I/O).

Rules (docs/compliance.md):
- a finding counts against a control when it is open (open, confirmed, reopened, or an accepted risk
  whose acceptance expired) and the control's mapping names its rule id, one of its CWE classes, or its
  type at or above the control's ``min_severity``; false positives and unexpired accepted risks are
  listed as excluded and never fail anything;
- ``freshness_days`` fails when an asset (a finding's host or a scan's target) was last scanned
  longer ago than that (or never completed a scan);
- an automated control is ``not_assessed`` while the organisation has no asset at all, ``failing``
  with any gap, ``passing`` otherwise; a control that needs manual evidence is ``manual`` until a
  person sets its status, and a person's ``failing`` (or a technical gap) fails it.
"""

from __future__ import annotations

import heapq
from collections import defaultdict
from collections.abc import Iterable, Mapping, Sequence
from datetime import datetime, timedelta

from rampart_report.compliance.catalogue import Catalogue, Control
from rampart_report.compliance.domain import (
    SEVERITY_RANK,
    Attestation,
    CheckResult,
    ControlPosture,
    FindingRecord,
    FrameworkPosture,
    Gap,
    Posture,
    ScanRecord,
    Status,
)

MAX_GAPS = 50  # per control, worst first (then in the order read); gaps_total has them all
MAX_HOSTS = 50
MAX_EXCLUDED = 20


class _Index:
    """Which controls each rule id, CWE and finding type concerns (built once per catalogue)."""

    def __init__(self, catalogue: Catalogue) -> None:
        self.by_rule: dict[str, list[Control]] = defaultdict(list)
        self.by_cwe: dict[str, list[Control]] = defaultdict(list)
        self.by_type: dict[str, list[Control]] = defaultdict(list)
        for control in catalogue.controls():
            for rule in control.rules:
                self.by_rule[rule].append(control)
            for cwe in control.cwes:
                self.by_cwe[cwe].append(control)
            for kind in control.types:
                self.by_type[kind].append(control)

    def matches(self, finding: FindingRecord) -> dict[str, str]:
        """control id -> the check that matched (the most specific: rule, then CWE, then type)."""
        found: dict[str, str] = {}
        rank = SEVERITY_RANK.get(finding.severity, 0)
        for control in self.by_type.get(finding.type, ()):
            if rank >= SEVERITY_RANK[control.min_severity]:
                found[control.control_id] = f"type {finding.type} >= {control.min_severity}"
        for cwe in finding.cwes:
            for control in self.by_cwe.get(cwe, ()):
                found[control.control_id] = cwe
        if finding.rule_id:
            for control in self.by_rule.get(finding.rule_id, ()):
                found[control.control_id] = f"rule {finding.rule_id}"
        return found


def _index(catalogue: Catalogue) -> _Index:
    """Built once per catalogue and kept on it (the catalogue is immutable)."""
    index: _Index | None = getattr(catalogue, "_posture_index", None)
    if index is None:
        index = _Index(catalogue)
        object.__setattr__(catalogue, "_posture_index", index)
    return index


def last_scanned(
    findings: Iterable[FindingRecord], scans: Iterable[ScanRecord]
) -> dict[str, datetime | None]:
    """Every asset and when a completed scan last covered it (a finding's sighting counts as one)."""
    seen: dict[str, datetime | None] = {}

    def note(host: str, at: datetime | None) -> None:
        if not host:
            return
        current = seen.get(host)
        if at is not None and (current is None or at > current):
            seen[host] = at
        elif host not in seen:
            seen[host] = None

    for scan in scans:
        at = scan.completed_at if scan.status == "completed" else None
        for target in scan.targets:
            note(target, at)
    for finding in findings:
        note(finding.host, finding.last_seen)
    return seen


def compute(
    catalogue: Catalogue,
    findings: Sequence[FindingRecord],
    scans: Sequence[ScanRecord],
    attestations: Mapping[str, Attestation],
    evidence_counts: Mapping[str, int],
    now: datetime,
    frameworks: Sequence[str] = (),
) -> Posture:
    """The posture of every framework (or those named) at ``now``.

    One pass over the findings: each distinct (type, severity, rule, CWEs) is matched against the
    mapping once; a control keeps its failing findings in severity buckets (input order within one),
    so its worst gaps are taken without sorting everything.
    """
    index = _index(catalogue)
    matches: dict[tuple[str, str, str, tuple[str, ...]], list[tuple[str, str]]] = {}
    failing: dict[str, _Failing] = {}
    excluded: dict[str, list[Gap]] = defaultdict(list)
    excluded_counts: dict[str, int] = defaultdict(int)
    excluded_total = 0
    open_total = 0
    for finding in findings:
        reason = finding.excluded_reason(now)
        if reason == "resolved":
            continue
        key = (finding.type, finding.severity, finding.rule_id, finding.cwes)
        matched = matches.get(key)
        if matched is None:
            matched = matches[key] = list(index.matches(finding).items())
        if reason:
            excluded_total += 1
            for control_id, check in matched:
                excluded_counts[control_id] += 1
                if len(excluded[control_id]) < MAX_EXCLUDED:
                    excluded[control_id].append(_gap(f"{check} ({reason})", finding))
            continue
        open_total += 1
        for control_id, check in matched:
            entry = failing.get(control_id)
            if entry is None:
                entry = failing[control_id] = _Failing()
            entry.add(check, finding)
    assets = last_scanned(findings, scans)
    stale_by_days: dict[int, list[str]] = {}
    chosen = [f for f in catalogue.frameworks if not frameworks or f.key in frameworks]
    result: list[FrameworkPosture] = []
    for framework in chosen:
        controls: list[ControlPosture] = []
        for control in framework.controls:
            stale: list[str] = []
            if control.freshness_days:
                days = control.freshness_days
                if days not in stale_by_days:
                    cutoff = now - timedelta(days=days)
                    stale_by_days[days] = sorted(h for h, at in assets.items() if at is None or at < cutoff)
                stale = stale_by_days[days]
            controls.append(
                _control(
                    control,
                    failing.get(control.control_id) or _Failing(),
                    excluded.get(control.control_id, []),
                    excluded_counts.get(control.control_id, 0),
                    stale,
                    len(assets),
                    attestations.get(control.control_id),
                    evidence_counts.get(control.control_id, 0),
                )
            )
        result.append(FrameworkPosture(framework.key, framework.name, framework.version, controls))
    return Posture(result, now, len(assets), open_total, excluded_total)


def _gap(check: str, finding: FindingRecord) -> Gap:
    return Gap(
        check,
        finding.host,
        finding.port,
        finding.finding_id,
        finding.title,
        finding.severity,
        finding.rule_id,
        finding.cve,
        finding.remediation,
    )


class _Failing:
    """One control's open findings: by severity (worst first), and per check the count and hosts."""

    __slots__ = ("buckets", "by_check", "hosts", "total")

    def __init__(self) -> None:
        self.buckets: dict[int, list[tuple[str, FindingRecord]]] = defaultdict(list)
        self.by_check: dict[str, tuple[list[int], set[str]]] = {}
        self.hosts: set[str] = set()
        self.total = 0

    def add(self, check: str, finding: FindingRecord) -> None:
        self.total += 1
        self.buckets[SEVERITY_RANK.get(finding.severity, 0)].append((check, finding))
        seen = self.by_check.get(check)
        if seen is None:
            seen = self.by_check[check] = ([0], set())
        seen[0][0] += 1
        seen[1].add(finding.host)
        self.hosts.add(finding.host)

    def worst(self, limit: int) -> list[Gap]:
        gaps: list[Gap] = []
        for rank in sorted(self.buckets, reverse=True):
            for check, finding in self.buckets[rank]:
                if len(gaps) >= limit:
                    return gaps
                gaps.append(_gap(check, finding))
        return gaps


def _control(
    control: Control,
    failing: _Failing,
    excluded: list[Gap],
    excluded_count: int,
    stale: list[str],
    assets: int,
    attestation: Attestation | None,
    evidence_count: int,
) -> ControlPosture:
    checks: list[CheckResult] = []
    gaps = failing.worst(MAX_GAPS)
    if control.freshness_days and len(gaps) < MAX_GAPS:
        check = f"freshness {control.freshness_days} days"
        title = f"not scanned in the last {control.freshness_days} days"
        gaps.extend(
            Gap(check, host, title=title, remediation="scan it") for host in stale[: MAX_GAPS - len(gaps)]
        )
    automated = _automated_checks(control, failing, stale, assets, checks)
    if excluded_count:
        reasons = sorted({gap.check.rsplit("(", 1)[-1].rstrip(")") for gap in excluded})
        detail = f"{excluded_count} matching findings excluded: {', '.join(reasons)}"
        checks.append(CheckResult("exclusions", "excluded", detail, excluded_count))
    status = automated
    if control.manual:
        attested = attestation.status if attestation else None
        checks.append(
            CheckResult(
                "manual evidence",
                attested.value if attested else "manual",
                f"{evidence_count} evidence files; "
                + (
                    f"set {attested.value} by {attestation.updated_by}"
                    if attestation and attested
                    else "no manual status yet"
                ),
                evidence_count,
            )
        )
        if automated is Status.FAILING or attested is Status.FAILING:
            status = Status.FAILING
        elif attested is None:
            status = Status.MANUAL
        elif automated is None:
            status = attested
        else:
            status = automated  # passing, or not_assessed until something is scanned
    hosts = sorted(failing.hosts | set(stale)) if len(failing.hosts) + len(stale) <= 10 * MAX_HOSTS else None
    if hosts is None:  # many: the first ones in order without sorting them all
        hosts = heapq.nsmallest(MAX_HOSTS, failing.hosts | set(stale))
    return ControlPosture(
        control,
        status or Status.NOT_ASSESSED,
        checks,
        gaps,
        failing.total + len(stale),
        hosts[:MAX_HOSTS],
        excluded,
        attestation,
        evidence_count,
    )


def _automated_checks(
    control: Control, failing: _Failing, stale: list[str], assets: int, checks: list[CheckResult]
) -> Status | None:
    """The checks' results appended to ``checks``; the technical status (None: no technical check)."""
    if not control.automated:
        return None
    if assets == 0:
        checks.append(CheckResult("assets", "not_assessed", "no asset has been scanned yet"))
        return Status.NOT_ASSESSED
    named = [f"rule {rule}" for rule in control.rules] + list(control.cwes)
    named += [f"type {kind} >= {control.min_severity}" for kind in control.types]
    for check in named:
        seen = failing.by_check.get(check)
        if seen:
            count, hosts = seen[0][0], seen[1]
            checks.append(CheckResult(check, "fail", f"{count} open findings on {len(hosts)} hosts", count))
        else:
            checks.append(CheckResult(check, "pass", f"no open finding on {assets} assets"))
    if control.freshness_days:
        check = f"freshness {control.freshness_days} days"
        if stale:
            detail = f"{len(stale)} of {assets} assets not scanned in the last {control.freshness_days} days"
            checks.append(CheckResult(check, "fail", detail, len(stale)))
        else:
            detail = f"all {assets} assets scanned within {control.freshness_days} days"
            checks.append(CheckResult(check, "pass", detail))
    return Status.FAILING if failing.total or stale else Status.PASSING
