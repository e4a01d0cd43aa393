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

MAX_GAPS = 50  # per control, worst first; gaps_total has them all
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
    """The posture of every framework (or those named) at ``now``."""
    index = _index(catalogue)
    failing: dict[str, list[Gap]] = defaultdict(list)
    excluded: dict[str, list[Gap]] = defaultdict(list)
    excluded_total = 0
    open_total = 0
    for finding in findings:
        matched = index.matches(finding)
        reason = finding.excluded_reason(now)
        if reason == "resolved":
            continue
        if reason:
            excluded_total += 1
        else:
            open_total += 1
        if not matched:
            continue
        for control_id, check in matched.items():
            gap = Gap(
                check if not reason else f"{check} ({reason})",
                finding.host,
                finding.port,
                finding.finding_id,
                finding.title,
                finding.severity,
                finding.rule_id,
                finding.cve,
                finding.remediation,
            )
            (excluded if reason else failing)[control_id].append(gap)
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
                    failing.get(control.control_id, []),
                    excluded.get(control.control_id, []),
                    stale,
                    len(assets),
                    attestations.get(control.control_id),
                    evidence_counts.get(control.control_id, 0),
                )
            )
        result.append(FrameworkPosture(framework.key, framework.name, framework.version, controls))
    return Posture(result, now, len(assets), open_total, excluded_total)


def _control(
    control: Control,
    failing: list[Gap],
    excluded: list[Gap],
    stale: list[str],
    assets: int,
    attestation: Attestation | None,
    evidence_count: int,
) -> ControlPosture:
    checks: list[CheckResult] = []
    gaps = list(failing)
    if control.freshness_days:
        check = f"freshness {control.freshness_days} days"
        gaps.extend(
            Gap(
                check,
                host,
                title=f"not scanned in the last {control.freshness_days} days",
                remediation="scan it",
            )
            for host in stale
        )
    automated = _automated_checks(control, failing, stale, assets, checks)
    if excluded:
        reasons = sorted({gap.check.rsplit("(", 1)[-1].rstrip(")") for gap in excluded})
        checks.append(
            CheckResult(
                "exclusions",
                "excluded",
                f"{len(excluded)} matching findings excluded: {', '.join(reasons)}",
                len(excluded),
            )
        )
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
    gaps.sort(key=lambda gap: (-SEVERITY_RANK.get(gap.severity, -1), gap.host, gap.port, gap.finding_id))
    hosts = sorted({gap.host for gap in gaps})
    return ControlPosture(
        control,
        status or Status.NOT_ASSESSED,
        checks,
        gaps[:MAX_GAPS],
        len(gaps),
        hosts[:MAX_HOSTS],
        excluded[:MAX_EXCLUDED],
        attestation,
        evidence_count,
    )


def _automated_checks(
    control: Control, failing: list[Gap], stale: list[str], assets: int, checks: list[CheckResult]
) -> Status | None:
    """The checks' results appended to ``checks``; the technical status (None: no technical check)."""
    if not control.automated:
        return None
    if assets == 0:
        checks.append(CheckResult("assets", "not_assessed", "no asset has been scanned yet"))
        return Status.NOT_ASSESSED
    by_check: dict[str, set[str]] = defaultdict(set)
    for gap in failing:
        by_check[gap.check].add(gap.host)
    named = [f"rule {rule}" for rule in control.rules] + list(control.cwes)
    named += [f"type {kind} >= {control.min_severity}" for kind in control.types]
    for check in named:
        hosts = by_check.get(check, set())
        count = sum(1 for gap in failing if gap.check == check)
        if count:
            checks.append(CheckResult(check, "fail", f"{count} open findings on {len(hosts)} hosts", count))
        else:
            checks.append(CheckResult(check, "pass", f"no open finding on {assets} assets"))
    if control.freshness_days:
        check = f"freshness {control.freshness_days} days"
        if stale:
            detail = f"{len(stale)} of {assets} assets not scanned in the last {control.freshness_days} days"
            checks.append(CheckResult(check, "fail", detail, len(stale)))
        else:
            checks.append(
                CheckResult(
                    check, "pass", f"all {assets} assets scanned within {control.freshness_days} days"
                )
            )
    return Status.FAILING if failing or stale else Status.PASSING
