"""Proto enums and the public API's words: one rule, both directions."""

from __future__ import annotations

import pytest

from rampart.ai.v1 import ai_pb2
from rampart.lib.enums import enum_of, enum_value, enum_word, enum_words
from rampart.report.v1 import report_pb2
from rampart.scan.v1 import scan_pb2
from rampart.threat.v1 import threat_pb2


def test_public_words_are_the_value_names_without_the_enum_prefix_in_lower_case() -> None:
    assert enum_words(scan_pb2.ScanType) == ("tcp", "udp")
    assert enum_words(scan_pb2.ScanProfile) == ("standard", "compliance", "pentest")
    assert enum_words(threat_pb2.AnalysisMode) == ("quick", "deep", "sandbox")
    assert enum_words(threat_pb2.FindingType) == (
        "open_port",
        "vulnerable_service",
        "misconfiguration",
        "weak_tls",
    )
    assert enum_words(ai_pb2.ExplainLevel) == ("beginner", "intermediate", "expert")
    assert enum_words(ai_pb2.ReportType) == ("executive", "technical", "remediation")
    assert enum_words(ai_pb2.Intent) == (
        "exposure",
        "urgent",
        "changes",
        "remediate",
        "cve_check",
        "explain",
        "summary",
    )
    assert enum_words(report_pb2.ReportType) == (
        "executive",
        "technical",
        "compliance",
        "remediation",
        "diff",
    )


def test_every_word_maps_to_its_value_and_back() -> None:
    for enum in (scan_pb2.ScanType, scan_pb2.ScanProfile, threat_pb2.FindingType, report_pb2.ReportType):
        for word in enum_words(enum):
            assert enum_word(enum, enum_of(enum, word)) == word
    assert enum_value(scan_pb2.ScanProfile, "pentest") == scan_pb2.SCAN_PROFILE_PENTEST


def test_empty_means_unspecified_so_the_service_applies_its_default() -> None:
    assert enum_value(scan_pb2.ScanType, "") == scan_pb2.SCAN_TYPE_UNSPECIFIED
    assert enum_word(scan_pb2.ScanType, scan_pb2.SCAN_TYPE_UNSPECIFIED) == ""


def test_unknown_words_and_numbers_are_never_mistaken_for_a_value() -> None:
    for word in ("sctp", "TCP", "unspecified", "scan_type_udp", " tcp"):
        assert enum_value(scan_pb2.ScanType, word) is None, word
    assert enum_word(scan_pb2.ScanType, 99) == "99"  # the service then refuses it by name
    with pytest.raises(ValueError, match="ScanProfile"):
        enum_of(scan_pb2.ScanProfile, "quick")
