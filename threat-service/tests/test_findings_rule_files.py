"""The shipped rule files load and cover issue 11's checks; a malformed rule file is refused by name."""

from __future__ import annotations

from pathlib import Path

import pytest

from rampart_threat.findings.rules import RULES_DIR, RuleFileError, load_rules

GOOD = """
[[rule]]
id = "RMP-TEST-001"
title = "A test rule"
severity = "low"
type = "exposure"
cwe = ["CWE-306"]
description = "What is wrong."
remediation = "What to do."
references = ["https://example.test/why"]
evidence = ["redis.auth"]
when = { all = [{ fact = "redis.auth", equals = "none" }] }
"""


def test_the_shipped_files_load_one_per_family() -> None:
    rules = load_rules()
    assert {p.stem for p in RULES_DIR.glob("*.toml")} == {"tls", "ssh", "auth", "cleartext", "http"}
    assert len({r.id for r in rules}) == len(rules)
    families = {r.family for r in rules}
    assert families == {"tls", "ssh", "auth", "cleartext", "http"}
    for rule in rules:
        assert rule.cwe, rule.id
        assert rule.references, rule.id
        assert rule.evidence, rule.id
        assert len(rule.description) > 80, rule.id  # explains the problem, not a one-liner
        assert rule.remediation, rule.id


def test_the_shipped_rules_cover_every_check_the_issue_lists() -> None:
    """Each listed check is a rule reading the fact that shows it."""
    by_fact: dict[str, set[str]] = {}
    for rule in load_rules():
        for cond in rule.conditions:
            by_fact.setdefault(cond.fact, set()).add(rule.id)
    needed = [
        "tls.cert.expired",
        "tls.cert.not_yet_valid",
        "tls.cert.self_signed",
        "tls.cert.hostname_mismatch",
        "tls.protocols",
        "tls.weak_ciphers",
        "tls.cert.key_bits",
        "tls.cert.signature_algorithm",
        "tls.cert.days_left",
        "ssh.kex",
        "ssh.ciphers",
        "ssh.macs",
        "ssh.hostkey",
        "redis.auth",
        "memcached.auth",
        "mongodb.auth",
        "nats.auth_required",
        "mqtt.anonymous",
        "http.api",
        "service.name",
        "ftp.auth_tls",
        "pop3.starttls",
        "imap.starttls",
        "smtp.starttls",
        "http.hsts",
        "http.directory_listing",
        "http.server",
    ]
    assert [f for f in needed if f not in by_fact] == []
    apis = {c.operand for r in load_rules() for c in r.conditions if c.fact == "http.api"}
    assert apis == {"docker", "kubernetes", "elasticsearch"}


def _load(tmp_path: Path, text: str, name: str = "test.toml") -> None:
    (tmp_path / name).write_text(text, "utf-8")
    load_rules(tmp_path)


def test_a_well_formed_file_loads(tmp_path: Path) -> None:
    (tmp_path / "test.toml").write_text(GOOD, "utf-8")
    [rule] = load_rules(tmp_path)
    assert rule.matches({"redis.auth": "none"})
    assert not rule.matches({"redis.auth": "required"})
    assert not rule.matches({})


@pytest.mark.parametrize(
    ("change", "message"),
    [
        (('severity = "low"', 'severity = "severe"'), "test.toml: rule 'RMP-TEST-001': severity 'severe'"),
        (('type = "exposure"', 'type = "vulnerable_service"'), "type 'vulnerable_service' is not one of"),
        (('title = "A test rule"', 'title = "A test rule"\nowner = "me"'), "unknown key(s) owner"),
        (('remediation = "What to do."\n', ""), "missing key(s) remediation"),
        (('equals = "none"', 'startswith = "n"'), "condition on 'redis.auth': unknown kind 'startswith'"),
        (('fact = "redis.auth"', 'fact = "redis.authh"'), "'redis.authh' is not a fact"),
        (('evidence = ["redis.auth"]', 'evidence = ["redis.pass"]'), "evidence: 'redis.pass' is not a fact"),
        (('equals = "none"', 'matches = "(unclosed"'), "is not a regular expression"),
        (('equals = "none"', 'less_than = "30"'), "'less_than' must be a number"),
        (('equals = "none"', 'equals = "none", present = true'), "must have exactly one of"),
        (("all = [", "every = ["), "'when' must be { all = [conditions] }"),
        (('cwe = ["CWE-306"]', 'cwe = ["306"]'), "'cwe': '306' is not of the form"),
        (('id = "RMP-TEST-001"', 'id = "TEST-1"'), "id must look like RMP-<FAMILY>-<3 digits>"),
        (('["https://example.test/why"]', '["http://example.test/why"]'), "references must be https URLs"),
        (
            ('evidence = ["redis.auth"]', 'evidence = ["redis.auth"]\nprofiles = ["redteam"]'),
            "unknown profile",
        ),
    ],
)
def test_a_malformed_rule_is_refused_naming_the_file_and_the_rule(
    tmp_path: Path, change: tuple[str, str], message: str
) -> None:
    old, new = change
    assert old in GOOD
    with pytest.raises(RuleFileError) as error:
        _load(tmp_path, GOOD.replace(old, new, 1))
    text = str(error.value)
    rule = "'TEST-1'" if 'TEST-1"' in new else "'RMP-TEST-001'"
    assert text.startswith(f"test.toml: rule {rule}: ")
    assert message in text


def test_a_duplicate_id_across_files_names_both(tmp_path: Path) -> None:
    (tmp_path / "a.toml").write_text(GOOD, "utf-8")
    (tmp_path / "b.toml").write_text(GOOD, "utf-8")
    with pytest.raises(
        RuleFileError, match=r"b\.toml: rule 'RMP-TEST-001': duplicate id \(also in a\.toml\)"
    ):
        load_rules(tmp_path)


def test_a_duplicate_id_within_one_file_is_refused(tmp_path: Path) -> None:
    with pytest.raises(RuleFileError, match="duplicate id"):
        _load(tmp_path, GOOD + GOOD)


def test_unknown_top_level_keys_and_bad_toml_are_refused(tmp_path: Path) -> None:
    with pytest.raises(RuleFileError, match=r"test\.toml: unknown top-level key\(s\) rules"):
        _load(tmp_path, GOOD.replace("[[rule]]", "[[rules]]"))
    with pytest.raises(RuleFileError, match=r"broken\.toml: not valid TOML"):
        _load(tmp_path, "[[rule]\n", "broken.toml")


def test_an_empty_directory_is_an_error(tmp_path: Path) -> None:
    with pytest.raises(RuleFileError, match="no rule files"):
        load_rules(tmp_path)


def test_the_rule_table_in_docs_matches_the_files() -> None:
    """docs/findings.md lists every rule with its severity, type and CWE as the files say."""
    docs = (Path(__file__).resolve().parents[2] / "docs" / "findings.md").read_text("utf-8")
    rows = {line.split("|")[1].strip(): line for line in docs.splitlines() if line.startswith("| RMP-")}
    rules = load_rules()
    assert set(rows) == {r.id for r in rules}
    for rule in rules:
        cells = [c.strip() for c in rows[rule.id].strip("|").split("|")]
        assert cells[2:] == [rule.severity.value, rule.type.value, ", ".join(rule.cwe)], rule.id
