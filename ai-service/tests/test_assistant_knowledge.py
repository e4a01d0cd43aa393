"""Intent recognition, the knowledge base (our notes, cwe2's CWE data), its FTS5 index, explanations."""

from __future__ import annotations

import pytest
from assistant_fakes import ALICE, Caller, library, world

from rampart_ai.domain import Intent, Level
from rampart_ai.intent import parse
from rampart_ai.knowledge.base import cwe_catalogue_path, load, read_weaknesses
from rampart_ai.knowledge.index import Document, TextIndex


@pytest.mark.parametrize(
    ("question", "intent"),
    [
        ("What is exposed on my network?", Intent.EXPOSURE),
        ("Which ports are open?", Intent.EXPOSURE),
        ("What should we fix first?", Intent.URGENT),
        ("What is the most critical issue and why?", Intent.URGENT),
        ("What changed since the previous scan?", Intent.CHANGES),
        ("Anything new compared to last week?", Intent.CHANGES),
        ("How do I fix the FTP server?", Intent.REMEDIATE),
        ("How can we harden SSH?", Intent.REMEDIATE),
        ("Is 10.0.0.5 vulnerable to CVE-2023-48795?", Intent.CVE_CHECK),
        ("Are we affected by cve-2021-44228", Intent.CVE_CHECK),
        ("Explain EPSS", Intent.EXPLAIN),
        ("What does KEV mean?", Intent.EXPLAIN),
        ("What is CVE-2021-44228?", Intent.EXPLAIN),
        ("What is a CVSS score?", Intent.EXPLAIN),
        ("hello there", Intent.SUMMARY),
    ],
)
def test_question_kinds_are_recognised(question: str, intent: Intent) -> None:
    assert parse(question).intent is intent


def test_hosts_ports_and_ids_are_extracted_from_the_question() -> None:
    parsed = parse(
        "Is 10.0.0.5:6379 or [2001:db8::1]:443 or web.example.com affected by CVE-2023-48795 (CWE-306)?"
    )
    assert parsed.hosts == ("10.0.0.5", "2001:db8::1", "web.example.com")
    assert parsed.ports == (6379, 443)
    assert parsed.cves == ("CVE-2023-48795",)
    assert parsed.cwes == ("CWE-306",)
    assert parse("what runs on port 22 and 53/udp").ports == (22, 53)


def test_cwe_data_comes_from_the_cwe2_package_offline() -> None:
    path = cwe_catalogue_path()
    assert path.is_file()
    assert "cwe2" in str(path)
    found = read_weaknesses(path, ["CWE-79", "CWE-306"])
    assert found["CWE-79"].name.startswith("Improper Neutralization of Input During Web Page Generation")
    assert found["CWE-306"].name == "Missing Authentication for Critical Function"
    assert len(load().weaknesses) > 900


def test_every_id_the_notes_name_resolves() -> None:
    kb = load()
    for concept in kb.concepts:
        assert all(level in concept.text and concept.text[level] for level in Level)
        assert all(kb.weakness(c) for c in concept.cwe), concept.id
        assert all(t in kb.techniques for t in concept.attack), concept.id
    for guide in kb.services:
        assert guide.steps, guide.id
        assert all(kb.weakness(c) for c in guide.cwe), guide.id


def test_the_index_ranks_by_bm25_and_treats_query_syntax_as_words() -> None:
    index = TextIndex(
        [
            Document("a", "concept", "Redis hardening", "bind to loopback and require auth"),
            Document("b", "concept", "TLS", "protocol versions; redis is mentioned once"),
        ]
    )
    hits = index.search("redis")
    assert [h.doc_id for h in hits] == ["a", "b"]
    assert hits[0].score > hits[1].score
    assert index.search('redis" OR NEAR(x) AND *')
    assert index.search("the of a") == []
    assert [h.doc_id for h in index.search("loopback", kinds=("service",))] == []


@pytest.mark.parametrize(
    ("concept", "title"),
    [
        ("port scanning", "Port scanning"),
        ("ssl", "TLS (Transport Layer Security)"),
        ("What is EPSS?", "EPSS (Exploit Prediction Scoring System)"),
        ("known exploited vulnerabilities", "CISA KEV (Known Exploited Vulnerabilities)"),
        ("sql injection", "Injection (SQL, OS command, cross-site scripting)"),
        ("PCI DSS", "Compliance terms"),
        ("CWE-319", "CWE-319 Cleartext Transmission of Sensitive Information"),
        ("memcached", "memcached"),
    ],
)
async def test_explain_finds_the_note(concept: str, title: str) -> None:
    found = await world().assistant.explain(ALICE, concept, Level.INTERMEDIATE)
    assert found.found
    assert found.concept == title


async def test_explain_writes_for_the_level_asked() -> None:
    assistant = world().assistant
    texts = {level: (await assistant.explain(ALICE, "CVSS", level)).text for level in Level}
    assert len(set(texts.values())) == 3
    assert "0 to 10" in texts[Level.BEGINNER]
    assert "SSVC" in texts[Level.EXPERT]


async def test_explain_gives_the_callers_example_only_from_the_callers_data() -> None:
    assistant = world().assistant
    mine = await assistant.explain(ALICE, "missing authentication", Level.BEGINNER)
    assert "vuln_redis_open" in mine.example
    assert mine.citations[1].ref == "vuln_redis_open"
    nobody = await assistant.explain(Caller("u", "org_empty"), "missing authentication", Level.BEGINNER)
    assert nobody.example == ""
    assert len(nobody.citations) == 1


async def test_an_unknown_concept_is_said_to_be_unknown() -> None:
    found = await world().assistant.explain(ALICE, "zzqx flurble", Level.EXPERT)
    assert not found.found
    assert "has no note" in found.text
    assert not found.related


def test_the_library_is_indexed_once() -> None:
    assert library() is library()
    assert library().index.count() > 900
