"""The offline assistant's evaluation set: questions over fixed scans, each with the facts a
right answer contains and facts it must not contain.

Figures (printed with -s, asserted): coverage of required facts (goal >= 90%), invented facts
about the caller's systems (an endpoint or object id named or cited that the caller does not
have; must be 0), tenant leaks (anything of the other tenant; must be 0).
"""

from __future__ import annotations

import re

import pytest
from assistant_eval_world import BOB_HOSTS, BOB_IDS, evaluation_world
from assistant_fakes import ALICE, World

from rampart_ai.domain import Answer, ScanNotFound
from rampart_ai.service import AskContext

S2 = {"scan_id": "scan_lab_w2"}
S1 = {"scan_id": "scan_lab_w1"}
# (question, context, facts it must contain, facts it must not contain)
CASES: list[tuple[str, dict[str, str], tuple[str, ...], tuple[str, ...]]] = [
    # what is exposed
    (
        "What is exposed?",
        S2,
        ("127.0.0.3:6379", "127.0.0.3:27017", "127.0.0.2:23", "127.0.0.2:443"),
        ("5432", "8080"),
    ),
    ("Which ports are open?", S2, ("127.0.0.2:21", "127.0.0.2:22", "127.0.0.3:1883"), ("5432",)),
    ("What is open on 127.0.0.3?", S2, ("127.0.0.3:3306", "127.0.0.3:11211"), ("127.0.0.2:",)),
    ("What is running on 127.0.0.2?", S2, ("vsftpd", "Exim smtpd", "nginx"), ("MariaDB",)),
    (
        "What is listening on port 443?",
        S2,
        ("127.0.0.2:443", "accepts deprecated TLSv1.0"),
        ("127.0.0.2:80/",),
    ),
    ("Is port 6379 reachable?", S2, ("127.0.0.3:6379", "redis.auth = none"), ("27017",)),
    ("What is exposed?", {}, ("scan_lab_w2", "127.0.0.3:4222"), ("8080",)),
    (
        "What services are exposed without authentication?",
        S2,
        ("Redis answered without authentication", "MQTT accepted an anonymous client"),
        (),
    ),
    (
        "Which services are visible on the db host 127.0.0.3?",
        S2,
        ("MongoDB listed databases without authentication",),
        ("Exim",),
    ),
    (
        "What is exposed on the asset?",
        {"asset": "127.0.0.2"},
        ("127.0.0.2:25", "127.0.0.2:143"),
        ("127.0.0.3:",),
    ),
    ("What was open in the first scan?", S1, ("127.0.0.2:8080",), ("127.0.0.2:23", "27017")),
    ("Is telnet exposed?", S2, ("127.0.0.2:23", "telnet without TLS"), ()),
    ("What services run on this network?", S2, ("Dropbear sshd", "Mosquitto", "MariaDB"), ()),
    ("Is SMTP exposed?", S2, ("127.0.0.2:25", "SMTP offers no STARTTLS"), ()),
    # most urgent
    ("What should I fix first?", S2, ("1. Exim remote code execution", "CVE-2023-42115"), ("Old dropbear",)),
    ("What is most urgent and why?", S2, ("critical severity", "EPSS 35%"), ()),
    (
        "What are the top risks?",
        {},
        ("Redis answers without authentication", "MongoDB lists databases"),
        ("Old dropbear",),
    ),
    (
        "Which critical issues do we have?",
        S2,
        ("Exim remote code execution", "Redis answers without authentication", "MongoDB lists databases"),
        (),
    ),
    ("What is the biggest risk on 127.0.0.3?", S2, ("Redis answers without authentication",), ("Exim",)),
    ("Prioritise the findings on port 443", S2, ("TLS 1.0 accepted", "Self-signed certificate"), ("Redis",)),
    ("What is most urgent?", {"incident_id": "inc_lab_1"}, ("Redis answers without authentication",), ()),
    (
        "What should we fix first in the old scan?",
        S1,
        ("No open findings are recorded", "FTP offers no AUTH TLS"),
        ("Old dropbear",),
    ),
    # changes
    (
        "What changed since the last scan?",
        S2,
        ("newly open: 127.0.0.2:23/tcp", "newly open: 127.0.0.3:27017/tcp"),
        (),
    ),
    ("What changed?", S2, ("no longer open: 127.0.0.2:8080/tcp",), ("newly open: 127.0.0.2:21",)),
    (
        "Anything new compared to last week?",
        S2,
        ("“Dropbear sshd 2020.81” became “Dropbear sshd 2022.83”",),
        (),
    ),
    ("What changed since the previous scan?", S1, ("no earlier finished scan",), ("newly open",)),
    ("What changed on 127.0.0.3?", S2, ("127.0.0.3:4222", "127.0.0.3:27017"), ("127.0.0.2:23",)),
    ("What is new since the last scan?", {}, ("scan_lab_w1", "127.0.0.3:4222"), ()),
    # how to fix
    (
        "How do I fix the Redis?",
        S2,
        ("Require AUTH (ACL users)", "bind 127.0.0.1", "127.0.0.3:6379"),
        ("Exim",),
    ),
    ("How do I secure memcached?", S2, ("Listen on loopback only and disable UDP.", "-U 0"), ()),
    ("How should we harden SSH?", S2, ("PasswordAuthentication no", "127.0.0.2:22"), ()),
    (
        "How do I fix the FTP server?",
        S2,
        ("Require FTPS (AUTH TLS) or move to SFTP.", "force_local_logins_ssl"),
        (),
    ),
    (
        "How can I fix this?",
        {"vulnerability_id": "vuln_lab_tls10"},
        ("Accept only TLS 1.2 and 1.3.", "TLS 1.0 accepted on 127.0.0.2:443"),
        ("Redis",),
    ),
    (
        "How do I remediate this finding?",
        {"vulnerability_id": "vuln_lab_exim"},
        ("Upgrade Exim to 4.96.1 or later.",),
        (),
    ),
    ("How do I lock down mongodb?", S2, ("security.authorization", "127.0.0.3:27017"), ()),
    ("How to fix telnet?", S2, ("Disable telnetd and use SSH.", "Disable the Telnet service"), ()),
    ("How do I secure RDP?", S2, ("found none open", "Network Level Authentication"), ("198.51.100",)),
    ("How to fix the mqtt broker", S2, ("allow_anonymous false",), ()),
    ("Steps to fix the nginx directory listing", S2, ("Turn off autoindex.",), ()),
    ("How do I fix everything?", S2, ("Upgrade Exim to 4.96.1 or later.", "Require AUTH (ACL users)"), ()),
    # CVE checks
    (
        "Is 127.0.0.2 vulnerable to CVE-2023-42115?",
        {},
        ("127.0.0.2:25 runs “Exim smtpd 4.96”", "affected"),
        (),
    ),
    (
        "Are we affected by CVE-2023-48795?",
        S2,
        ("127.0.0.2:22 runs “Dropbear sshd 2022.83”", "affected (high confidence)"),
        (),
    ),
    ("Is 127.0.0.3 vulnerable to CVE-2023-42115?", S2, ("does not list it",), ("127.0.0.2:25 runs",)),
    ("Is anything vulnerable to CVE-2099-1234?", S2, ("no record of CVE-2099-1234",), ()),
    (
        "Does finding vuln_lab_exim concern CVE-2023-42115?",
        S2,
        ("Finding vuln_lab_exim on 127.0.0.2:25",),
        (),
    ),
    (
        "Is the SSH server affected by CVE-2023-48795 in the first scan?",
        S1,
        ("Dropbear sshd 2020.81", "does not list it"),
        (),
    ),
    # explanations
    ("What does an open SSH port on 22 mean for security?", S2, ("password", "127.0.0.2:22"), ()),
    ("Explain EPSS", {}, ("probability",), ()),
    ("What is KEV?", {}, ("active exploitation",), ()),
    ("What does CVSS mean?", {}, ("base score",), ()),
    ("Explain TLS", S2, ("TLS 1.2", "127.0.0.2:443"), ()),
    ("What is CWE-306?", {}, ("Missing Authentication for Critical Function",), ()),
    ("What is port scanning?", {}, ("open", "closed", "filtered"), ()),
    ("What does PCI DSS require for scanning?", {}, ("three months",), ()),
    ("What is a self-signed certificate?", S2, ("certificate",), ()),
    ("What is SQL injection?", {}, ("parameterised queries",), ()),
    # context objects
    (
        "Tell me about this incident",
        {"incident_id": "inc_lab_1"},
        ("Unauthenticated data stores", "P2", "Firewall 6379 and 27017"),
        (),
    ),
    (
        "Summarise this finding",
        {"vulnerability_id": "vuln_lab_mongo"},
        ("MongoDB lists databases without authentication", "127.0.0.3:27017"),
        (),
    ),
    ("Summarise this scan", S2, ("scan_lab_w2", "open finding"), ()),
    ("What do we know about this host?", {"asset": "127.0.0.3"}, ("127.0.0.3",), ("127.0.0.2:",)),
    ("hello", {}, ("scan_lab_w2",), ()),
]
ALICE_IDS_PATTERN = re.compile(r"\b(?:scan|vuln|inc)_[a-z0-9_]+\b")
ENDPOINT = re.compile(r"\b(\d{1,3}(?:\.\d{1,3}){3}):(\d{1,5})\b")


def invented(answer: Answer, data: World) -> list[str]:
    """Endpoints and object ids the answer names or cites that the caller does not have."""
    mine_scans = {sid: facts for sid, (org, facts) in data.scans.scans.items() if org == ALICE.org_id}
    endpoints = {(p.host, p.port) for facts in mine_scans.values() for p in facts.ports}
    ids = set(mine_scans) | {vid for vid, (org, _) in data.findings.vulns.items() if org == ALICE.org_id}
    ids |= {iid for iid, (org, _) in data.threats.incidents.items() if org == ALICE.org_id}
    wrong = [f"{h}:{p}" for h, p in ENDPOINT.findall(answer.text) if (h, int(p)) not in endpoints]
    wrong += [i for i in ALICE_IDS_PATTERN.findall(answer.text) if i not in ids]
    for citation in answer.citations:
        if citation.kind == "port" and (citation.host, citation.port) not in endpoints:
            wrong.append(citation.ref)
        if citation.kind in {"scan", "vulnerability", "incident"} and citation.ref not in ids:
            wrong.append(citation.ref)
    return wrong


def leaks(answer: Answer) -> list[str]:
    text = answer.text + " ".join(f"{c.ref} {c.excerpt} {c.host} {c.scan_id}" for c in answer.citations)
    return [item for item in (*BOB_HOSTS, *BOB_IDS, "org_bob") if item in text]


async def test_the_evaluation_set_has_enough_questions_and_meets_its_figures() -> None:
    assert len(CASES) >= 60
    data = evaluation_world()
    required = found = 0
    misses, wrongs, leaked, forbidden = [], [], [], []
    for question, context, must, must_not in CASES:
        answer = await data.assistant.ask(ALICE, question, AskContext(**context))
        for fact in must:
            required += 1
            if fact in answer.text:
                found += 1
            else:
                misses.append((question, fact))
        forbidden += [(question, fact) for fact in must_not if fact in answer.text]
        wrongs += [(question, item) for item in invented(answer, data)]
        leaked += [(question, item) for item in leaks(answer)]
    coverage = found / required
    print(f"\nassistant evaluation: {len(CASES)} questions, {required} required facts")
    figures = f"invented {len(wrongs)}, tenant leaks {len(leaked)}, forbidden {len(forbidden)}"
    print(f"coverage {coverage:.1%}, {figures}")
    for question, fact in misses:
        print(f"  missing: {question!r}: {fact!r}")
    assert wrongs == []
    assert leaked == []
    assert forbidden == []
    assert coverage >= 0.9, misses


async def test_the_other_tenants_scan_is_refused_for_every_question_kind() -> None:
    data = evaluation_world()
    for question in {q for q, context, _, _ in CASES if context == S2}:
        with pytest.raises(ScanNotFound):
            await data.assistant.ask(ALICE, question, AskContext(scan_id="scan_bob_lab"))
