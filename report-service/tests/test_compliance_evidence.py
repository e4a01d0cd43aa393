"""Evidence upload: size limit, type sniffed from the content, sha-256 stored, malicious payload refused."""

from __future__ import annotations

import hashlib

import pytest
from compliance_fakes import ACME, GLOBEX, world

from rampart_report.compliance.domain import (
    ControlNotFound,
    EvidenceMalicious,
    EvidenceTooLarge,
    EvidenceTypeNotAllowed,
)
from rampart_report.compliance.evidence import MAX_EVIDENCE_BYTES, sniff

PDF = b"%PDF-1.7\n1 0 obj<<>>endobj\ntrailer<<>>\n%%EOF\n"


async def test_an_accepted_file_is_stored_with_its_sniffed_type_and_digest_and_counted() -> None:
    w = world()
    stored = await w.service.add_evidence(ACME, "pci-dss:12.10.1", "../../etc/ir-plan.exe", PDF)
    assert stored.content_type == "application/pdf"  # by content, not by the name's extension
    assert stored.sha256 == hashlib.sha256(PDF).hexdigest()
    assert stored.size == len(PDF)
    assert stored.filename == "ir-plan.exe"
    assert w.scanner.seen == [(PDF, False)]
    detail = await w.service.control(ACME, "pci-dss:12.10.1")
    assert detail.posture.evidence_count == 1
    assert [e.sha256 for e in detail.evidence] == [stored.sha256]
    assert (await w.service.control(GLOBEX, "pci-dss:12.10.1")).posture.evidence_count == 0


async def test_a_malicious_file_is_refused_and_not_stored() -> None:
    w = world()
    with pytest.raises(EvidenceMalicious) as refused:
        await w.service.add_evidence(ACME, "pci-dss:12.10.1", "notes.txt", b"see " + w.scanner.marker)
    assert refused.value.details["analysis_id"] == "ana_bad"
    assert w.repository.files[(ACME.org_id, ACME.mode)] == []


async def test_a_file_over_the_limit_is_refused_before_analysis() -> None:
    w = world()
    with pytest.raises(EvidenceTooLarge):
        await w.service.add_evidence(ACME, "pci-dss:12.10.1", "big.txt", b"a" * (MAX_EVIDENCE_BYTES + 1))
    assert w.scanner.seen == []


async def test_evidence_for_an_unknown_control_is_refused() -> None:
    with pytest.raises(ControlNotFound):
        await world().service.add_evidence(ACME, "pci-dss:99.9", "x.txt", b"hello")


@pytest.mark.parametrize(
    ("content", "expected"),
    [
        (b"\x89PNG\r\n\x1a\n\x00\x00", "image/png"),
        (b"\xff\xd8\xff\xe0\x00\x10JFIF", "image/jpeg"),
        (b"PK\x03\x04\x14\x00", "application/zip"),
        (b'{"policy": "ir", "version": 3}', "application/json"),
        ("Politique de sécurité\n".encode(), "text/plain"),
    ],
)
def test_accepted_types_are_recognised_by_their_bytes(content: bytes, expected: str) -> None:
    sniffed = sniff(content)
    assert sniffed.content_type == expected
    assert sniffed.text is (expected in {"application/json", "text/plain"})


@pytest.mark.parametrize(
    "content",
    [
        b"MZ\x90\x00\x03",
        b"\x7fELF\x02\x01",
        b"#!/bin/sh\nrm -rf /\n",
        b"\x00\x01\x02\xfe\xff",
        b"text\x00with nul",
        b"",
    ],
)
def test_executables_scripts_and_unknown_binary_are_refused(content: bytes) -> None:
    with pytest.raises(EvidenceTypeNotAllowed):
        sniff(content)
