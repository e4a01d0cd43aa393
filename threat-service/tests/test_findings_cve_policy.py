"""How a CVE match becomes a finding's severity, confidence and remediation (docs/findings.md)."""

from __future__ import annotations

import pytest

from rampart_threat.findings.cves import affected_range, confidence, remediation, severity
from rampart_threat.findings.model import Confidence, Severity
from rampart_threat.knowledge.matcher import Basis, Match, Verdict
from rampart_threat.knowledge.matcher import Confidence as MatchConfidence
from rampart_threat.knowledge.model import CpeMatch, CveRecord, CvssMetric, KevEntry


def metric(version: str, score: float, rating: str) -> CvssMetric:
    return CvssMetric(version, "AV:N/AC:L", score, rating, "nvd@nist.gov", "Primary")


@pytest.mark.parametrize(
    ("chosen", "kev", "expected"),
    [
        (metric("3.1", 9.8, "CRITICAL"), False, Severity.CRITICAL),
        (metric("3.1", 5.3, "MEDIUM"), False, Severity.MEDIUM),
        (metric("2.0", 10.0, "HIGH"), False, Severity.HIGH),  # CVSS 2 has no critical rating
        (metric("4.0", 6.9, ""), False, Severity.MEDIUM),  # no rating given: from the score
        (metric("3.1", 0.0, "NONE"), False, Severity.INFO),
        (None, False, Severity.MEDIUM),  # not scored yet
        (metric("3.1", 5.3, "MEDIUM"), True, Severity.HIGH),  # exploited in the wild
        (metric("3.1", 9.8, "CRITICAL"), True, Severity.CRITICAL),
    ],
)
def test_severity_is_the_chosen_scores_rating_raised_for_kev(
    chosen: CvssMetric | None, kev: bool, expected: Severity
) -> None:
    assert severity(chosen, kev) is expected


def match(verdict: Verdict, basis: Basis, confirmed: bool = True, tentative: bool = False) -> Match:
    return Match(
        "CVE-2099-0001",
        verdict,
        basis,
        "NVD: cpe:2.3:o:example:os:*:*:*:*:*:*:*:* running on",
        MatchConfidence.HIGH,
        confirmed,
        tentative=tentative,
        tentative_reason="distribution may have backported the fix (debian 2+deb12u3)" if tentative else None,
        cpe_match=CpeMatch(True, "cpe:2.3:a:example:daemon:*:*:*:*:*:*:*:*", version_end_excluding="2.0"),
    )


@pytest.mark.parametrize(
    ("m", "expected"),
    [
        (match(Verdict.AFFECTED, Basis.NVD), Confidence.CONFIRMED),
        (match(Verdict.AFFECTED, Basis.NVD, tentative=True), Confidence.TENTATIVE),
        (match(Verdict.AFFECTED, Basis.CNA), Confidence.TENTATIVE),
        (match(Verdict.AFFECTED, Basis.ADP), Confidence.TENTATIVE),
        (match(Verdict.AFFECTED, Basis.DESCRIPTION, confirmed=False, tentative=True), Confidence.TENTATIVE),
        (match(Verdict.CONDITIONAL, Basis.NVD, confirmed=False), Confidence.CONDITIONAL),
    ],
)
def test_confidence_follows_what_decided_the_match(m: Match, expected: Confidence) -> None:
    assert confidence(m) is expected


def test_remediation_names_the_range_the_platform_the_backport_and_kev() -> None:
    record = CveRecord(
        "CVE-2099-0001",
        kev=KevEntry("CVE-2099-0001", "2099-01-02", due_date="2099-01-23", required_action="Patch it."),
    )
    text = remediation(match(Verdict.CONDITIONAL, Basis.NVD, tentative=True), record, "Daemon")
    assert text.startswith("Upgrade Daemon to a version outside the affected range (< 2.0, per NVD).")
    assert "applies only on the platform NVD names" in text
    assert "backported" in text
    assert "in CISA KEV since 2099-01-02. CISA's required action (due 2099-01-23): Patch it." in text


@pytest.mark.parametrize(
    ("entry", "words"),
    [
        (CpeMatch(True, "cpe:2.3:a:x:y:*:*:*:*:*:*:*:*", "8.6", None, None, "9.8"), ">= 8.6, < 9.8"),
        (CpeMatch(True, "cpe:2.3:a:x:y:*:*:*:*:*:*:*:*", None, "1.0", "1.4.0", None), "> 1.0, <= 1.4.0"),
        (CpeMatch(True, "cpe:2.3:a:openbsd:openssh:9.3:p1:*:*:*:*:*:*"), "exactly 9.3 p1"),
        (CpeMatch(True, "cpe:2.3:a:apache:http_server:2.4.49:*:*:*:*:*:*:*"), "exactly 2.4.49"),
    ],
)
def test_an_nvd_entry_in_words(entry: CpeMatch, words: str) -> None:
    assert affected_range(entry) == words
