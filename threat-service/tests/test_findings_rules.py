"""Every shipped rule, positive and negative, on PortResults built here; the fact map and the evidence."""

from __future__ import annotations

from datetime import timedelta
from typing import Any

import pytest
from findings_ports import NOW, SAFE_SSH, certificate, https, port, ssh, tls

from rampart.scan.v1 import scan_pb2
from rampart_threat.findings.facts import flatten
from rampart_threat.findings.model import Confidence, Finding, FindingType, Severity
from rampart_threat.findings.ports import ScanContext
from rampart_threat.findings.rules import load_rules
from rampart_threat.findings.source import MAX_EVIDENCE_VALUE, make_finding_source

RULES = load_rules()
STANDARD = ScanContext(scan_id="scn_1", org_id="org_1", live=True, profile="standard")
PENTEST = ScanContext(scan_id="scn_1", org_id="org_1", live=True, profile="pentest")


async def findings(p: scan_pb2.PortResult, context: ScanContext = STANDARD) -> list[Finding]:
    source = make_finding_source(None, clock=lambda: NOW)
    return list(await source.findings_for(context, p))


async def fired(p: scan_pb2.PortResult, context: ScanContext = STANDARD) -> set[str]:
    return {f.subject for f in await findings(p, context)}


def _cert(**kw: Any) -> scan_pb2.PortResult:
    return https(tls(cert=certificate(**kw)))


def _svc(name: str, number: int, **facts: str) -> scan_pb2.PortResult:
    return port(name, {k.replace("__", "."): v for k, v in facts.items()}, number=number)


# rule id -> (what makes it fire, the same service configured safely)
CASES: dict[str, tuple[scan_pb2.PortResult, scan_pb2.PortResult]] = {
    "RMP-TLS-001": (_cert(expired=True, not_after=NOW - timedelta(days=3)), _cert()),
    "RMP-TLS-002": (_cert(not_yet_valid=True), _cert()),
    "RMP-TLS-003": (_cert(self_signed=True), _cert()),
    "RMP-TLS-004": (_cert(hostname_mismatch=True), _cert()),
    "RMP-TLS-005": (https(tls(("TLSv1", "TLSv1.1", "TLSv1.2"))), https(tls(("TLSv1.2", "TLSv1.3")))),
    "RMP-TLS-006": (https(tls(cipher="DES-CBC3-SHA")), https(tls(cipher="ECDHE-RSA-AES128-GCM-SHA256"))),
    "RMP-TLS-007": (_cert(key_bits=1024), _cert(key_type="EC (secp256r1)", key_bits=256)),
    "RMP-TLS-008": (_cert(signature="sha1WithRSAEncryption"), _cert(signature="ecdsa-with-SHA256")),
    "RMP-TLS-009": (
        _cert(not_after=NOW + timedelta(days=29, hours=23)),
        _cert(not_after=NOW + timedelta(days=30, hours=1)),
    ),
    "RMP-SSH-001": (ssh(kex="diffie-hellman-group1-sha1"), ssh()),
    "RMP-SSH-002": (ssh(kex="diffie-hellman-group14-sha1"), ssh(kex="diffie-hellman-group18-sha512")),
    "RMP-SSH-003": (ssh(ciphers="3des-cbc"), ssh()),
    "RMP-SSH-004": (ssh(ciphers="aes256-cbc"), ssh()),
    "RMP-SSH-005": (ssh(macs="hmac-md5-96"), ssh()),
    "RMP-SSH-006": (ssh(hostkey="ssh-dss"), ssh()),
    "RMP-SSH-007": (ssh(hostkey="ssh-rsa"), ssh()),
    "RMP-AUTH-001": (_svc("redis", 6379, redis__auth="none"), _svc("redis", 6379, redis__auth="required")),
    "RMP-AUTH-002": (
        _svc("memcached", 11211, memcached__auth="none"),
        _svc("memcached", 11211, memcached__auth="required"),
    ),
    "RMP-AUTH-003": (
        _svc("mongodb", 27017, mongodb__auth="none"),
        _svc("mongodb", 27017, mongodb__auth="required"),
    ),
    "RMP-AUTH-004": (
        _svc("nats", 4222, nats__auth_required="false", nats__tls_required="false"),
        _svc("nats", 4222, nats__auth_required="true", nats__tls_required="true"),
    ),
    "RMP-AUTH-005": (
        _svc("mqtt", 1883, mqtt__anonymous="accepted"),
        _svc("mqtt", 1883, mqtt__anonymous="refused"),
    ),
    "RMP-AUTH-006": (_svc("http", 2375, http__api="docker"), _svc("http", 2375, http__server="nginx")),
    "RMP-AUTH-007": (_svc("https", 6443, http__api="kubernetes"), _svc("https", 6443, http__server="x")),
    "RMP-AUTH-008": (_svc("http", 9200, http__api="elasticsearch"), _svc("http", 9200, http__server="x")),
    "RMP-AUTH-009": (_svc("ftp", 21, ftp__anonymous="accepted"), _svc("ftp", 21, ftp__anonymous="refused")),
    "RMP-CLEAR-001": (_svc("telnet", 23), _svc("ssh", 22)),
    "RMP-CLEAR-002": (_svc("ftp", 21, ftp__auth_tls="false"), _svc("ftp", 21, ftp__auth_tls="true")),
    "RMP-CLEAR-003": (_svc("pop3", 110, pop3__starttls="false"), _svc("pop3", 110, pop3__starttls="true")),
    "RMP-CLEAR-004": (_svc("imap", 143, imap__starttls="false"), _svc("imap", 143, imap__starttls="true")),
    "RMP-CLEAR-005": (_svc("smtp", 25, smtp__starttls="false"), _svc("smtp", 25, smtp__starttls="true")),
    "RMP-CLEAR-006": (
        _svc("nats", 4222, nats__auth_required="true", nats__tls_required="false"),
        _svc("nats", 4222, nats__auth_required="true", nats__tls_required="true"),
    ),
    "RMP-HTTP-001": (https(http__hsts=""), https()),
    "RMP-HTTP-002": (https(http__hsts="max-age=0"), https(http__hsts="max-age=31536000")),
    "RMP-HTTP-003": (https(http__directory_listing="true"), https()),
    "RMP-HTTP-004": (https(http__server="nginx/1.22.1"), https(http__server="nginx")),
}


def test_every_shipped_rule_has_a_positive_and_a_negative_case() -> None:
    """A rule added to the files without a case here fails this test."""
    assert {r.id for r in RULES} == set(CASES)


@pytest.mark.parametrize("rule_id", sorted(CASES))
async def test_rule_fires_on_the_unsafe_service(rule_id: str) -> None:
    positive, _ = CASES[rule_id]
    context = PENTEST if rule_id == "RMP-AUTH-009" else STANDARD
    assert rule_id in await fired(positive, context)


@pytest.mark.parametrize("rule_id", sorted(CASES))
async def test_the_same_service_configured_safely_gives_no_finding(rule_id: str) -> None:
    _, negative = CASES[rule_id]
    assert await fired(negative, PENTEST) == set()


@pytest.mark.parametrize(
    ("rule_id", "positive"),
    [
        ("RMP-TLS-006", https(tls(cipher="RC4-MD5"))),
        ("RMP-TLS-006", https(tls(cipher="TLS_RSA_WITH_NULL_SHA256"))),
        ("RMP-SSH-001", ssh(kex="gss-gex-sha1-toWM5Slw5Ew8Mqkay+al2g==")),
        ("RMP-SSH-003", ssh(ciphers="arcfour256")),
        ("RMP-SSH-005", ssh(macs="none")),
        ("RMP-HTTP-004", https(http__powered_by="PHP/8.2.7")),
    ],
)
async def test_other_spellings_of_the_same_weakness_fire(rule_id: str, positive: scan_pb2.PortResult) -> None:
    assert rule_id in await fired(positive)


async def test_engine_recorded_weak_ciphers_fire_even_when_a_strong_one_was_negotiated() -> None:
    p = https(tls(cipher="TLS_AES_128_GCM_SHA256"), tls__weak_ciphers="DES-CBC3-SHA,RC4-SHA")
    [weak] = [f for f in await findings(p) if f.subject == "RMP-TLS-006"]
    assert weak.evidence["tls.weak_ciphers"] == "DES-CBC3-SHA,RC4-SHA"


async def test_list_items_match_whole_names_only() -> None:
    """group14-sha256 is not group14-sha1, and a name that merely contains a weak one is not it."""
    assert await fired(ssh(kex="diffie-hellman-group14-sha256,diffie-hellman-group1-sha1x")) == set()


async def test_hsts_rule_needs_https_and_collected_http_facts() -> None:
    """Plain HTTP without HSTS, or an HTTPS port whose page was not read, gives no HSTS finding."""
    plain = _svc("http", 80, http__server="nginx", http__directory_listing="false")
    unread = port("https", {}, audit=tls())
    assert "RMP-HTTP-001" not in await fired(plain)
    assert "RMP-HTTP-001" not in await fired(unread)


async def test_anonymous_ftp_is_checked_only_under_the_pentest_profile() -> None:
    p = _svc("ftp", 21, ftp__anonymous="accepted", ftp__auth_tls="true")
    assert "RMP-AUTH-009" not in await fired(p, STANDARD)
    assert "RMP-AUTH-009" in await fired(p, PENTEST)
    by_enum_name = ScanContext(scan_id="scn_1", org_id="org_1", live=True, profile="SCAN_PROFILE_PENTEST")
    assert "RMP-AUTH-009" in await fired(p, by_enum_name)


async def test_an_expired_certificate_is_not_also_reported_as_expiring_soon() -> None:
    got = await fired(_cert(expired=True, not_after=NOW - timedelta(days=3)))
    assert got == {"RMP-TLS-001"}


async def test_a_closed_port_gives_nothing() -> None:
    p = _svc("redis", 6379, redis__auth="none")
    p.state = scan_pb2.PORT_STATE_CLOSED
    assert await findings(p) == []


async def test_a_rule_finding_carries_the_rule_the_port_and_its_evidence() -> None:
    p = port("https", {"http.directory_listing": "false"}, audit=tls(("TLSv1", "TLSv1.2")), number=8443)
    [legacy] = [f for f in await findings(p) if f.subject == "RMP-TLS-005"]
    rule = next(r for r in RULES if r.id == "RMP-TLS-005")
    assert legacy.type is FindingType.MISCONFIGURATION
    assert legacy.severity is Severity.MEDIUM
    assert legacy.title == rule.title
    assert legacy.cwe == ("CWE-327",)
    assert legacy.references == rule.references
    assert legacy.remediation == rule.remediation
    assert legacy.confidence is Confidence.CONFIRMED
    assert legacy.priority == "track*"
    assert (legacy.host, legacy.port, legacy.protocol) == ("127.0.0.1", 8443, "tcp")
    assert (legacy.org_id, legacy.scan_id, legacy.live) == ("org_1", "scn_1", True)
    assert legacy.detected_at == NOW
    assert dict(legacy.evidence) == {"tls.protocols": "TLSv1,TLSv1.2", "tls.negotiated_protocol": "TLSv1.2"}
    assert legacy.rule_id == "RMP-TLS-005"
    assert legacy.cve == ""


async def test_an_exposure_rule_is_typed_exposure_and_prioritised_by_severity() -> None:
    [docker] = await findings(_svc("http", 2375, http__api="docker"))
    assert docker.type is FindingType.EXPOSURE
    assert docker.severity is Severity.CRITICAL
    assert docker.priority == "act"
    assert dict(docker.evidence) == {"http.api": "docker", "port": "2375"}


async def test_evidence_values_are_size_capped() -> None:
    long_list = ",".join(f"aes{i}-cbc" for i in range(400)) + ",aes256-cbc"
    p = port("ssh", {**SAFE_SSH, "ssh.ciphers": long_list}, number=22)
    [cbc] = [f for f in await findings(p) if f.subject == "RMP-SSH-004"]
    assert len(cbc.evidence["ssh.ciphers"]) == MAX_EVIDENCE_VALUE
    assert cbc.evidence["ssh.ciphers"].endswith("…")


async def test_the_same_problem_seen_twice_has_one_fingerprint() -> None:
    first = await findings(_svc("redis", 6379, redis__auth="none"))
    again = await findings(_svc("redis", 6379, redis__auth="none"))
    other_port = await findings(_svc("redis", 6380, redis__auth="none"))
    assert first[0].fingerprint == again[0].fingerprint
    assert first[0].fingerprint != other_port[0].fingerprint


def test_the_fact_map_flattens_service_tls_and_certificate() -> None:
    p = https(tls(("TLSv1.2", "TLSv1.3"), cert=certificate(not_after=NOW + timedelta(days=10, hours=2))))
    facts = flatten(p, NOW)
    assert facts["service.name"] == "https"
    assert facts["port"] == "443"
    assert facts["protocol"] == "tcp"
    assert facts["tls.protocols"] == "TLSv1.2,TLSv1.3"
    assert facts["tls.cipher"] == "TLS_AES_256_GCM_SHA384"
    assert facts["tls.cert.days_left"] == "10"
    assert facts["tls.cert.not_after"] == "2026-12-01T14:00:00Z"
    assert facts["tls.cert.key_bits"] == "2048"
    assert facts["tls.cert.self_signed"] == "false"
    assert facts["http.server"] == "nginx"


def test_days_left_follows_the_injected_clock() -> None:
    p = _cert(not_after=NOW + timedelta(days=40))
    assert flatten(p, NOW)["tls.cert.days_left"] == "40"
    assert flatten(p, NOW + timedelta(days=15))["tls.cert.days_left"] == "25"
    assert flatten(p, NOW + timedelta(days=41))["tls.cert.days_left"] == "-1"


async def test_expiring_soon_depends_on_when_the_scan_runs() -> None:
    p = _cert(not_after=NOW + timedelta(days=40))
    later = make_finding_source(None, clock=lambda: NOW + timedelta(days=15))
    assert "RMP-TLS-009" not in await fired(p)
    assert "RMP-TLS-009" in {f.subject for f in await later.findings_for(STANDARD, p)}


def test_typed_fields_win_over_an_engine_fact_of_the_same_key() -> None:
    p = port("redis", {"service.name": "spoofed", "redis.auth": "none"}, number=6379)
    facts = flatten(p, NOW)
    assert facts["service.name"] == "redis"
    assert facts["redis.auth"] == "none"
    assert not any(k.startswith("tls.") for k in facts)
