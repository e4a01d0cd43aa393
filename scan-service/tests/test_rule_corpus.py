"""The rule corpus (engine/data/rules/*.toml) reviewed like code: every rule pinned by a recorded banner.

Each transcript in tests/transcripts/rules/ holds the bytes a real server answered to one of our probes
(recorded by ``bench/detection_bench.py --record`` from the Debian package it names) or, where the
server cannot run here, bytes written from the protocol's public specification, with its source.
"""

from __future__ import annotations

import re
import tomllib
from dataclasses import dataclass
from pathlib import Path

import pytest

from rampart_scan.engine.services import RULES_DIR, Probe, Rule, Rules, load_rules, match_response

TRANSCRIPTS = Path(__file__).with_name("transcripts") / "rules"
# CPE 2.3 formatted string: part, vendor, product, version, update, edition, language, sw_edition,
# target_sw, target_hw, other; each an escaped value, "*" or "-" (NISTIR 7695, section 6.2).
VALUE = r"(?:\*|-|(?:[a-z0-9._~\-]|\\[^a-z0-9])+)"
CPE23 = re.compile(rf"^cpe:2\.3:[aho\*\-](?::{VALUE}){{10}}$")


@dataclass(frozen=True)
class Transcript:
    name: str
    probe: str
    data: bytes
    expect: dict[str, str]
    source: str


def transcripts() -> list[Transcript]:
    found = []
    for path in sorted(TRANSCRIPTS.glob("*.toml")):
        item = tomllib.loads(path.read_text())
        data = (
            bytes.fromhex(item["response_hex"])
            if "response_hex" in item
            else item["response"].encode("latin-1")
        )
        found.append(Transcript(path.stem, item["probe"], data, item["expect"], item["source"]))
    return found


def family_rules() -> Rules:
    """Only the rule files, in the engine's order, so each rule can be judged on its own."""
    return load_rules((*sorted(RULES_DIR.glob("*.toml")),))


def probe_named(name: str) -> Probe:
    return next(probe for probe in load_rules().probes if probe.name == name)


def first_rule(probe: Probe, data: bytes, rules: Rules) -> Rule | None:
    text = data.decode("latin-1")
    return next((rule for rule in rules.rules.get(probe.match_as, ()) if rule.pattern.search(text)), None)


ALL = transcripts()


@pytest.mark.parametrize("transcript", ALL, ids=[t.name for t in ALL])
def test_a_recorded_banner_is_named_with_product_version_and_cpe(transcript: Transcript) -> None:
    """The family rules turn the recorded reply into the service, product, version and CPE expected."""
    info = match_response(probe_named(transcript.probe), transcript.data, family_rules())
    assert info is not None, f"no rule matched {transcript.name}"
    expect = transcript.expect
    assert (info.name, info.product, info.version, info.cpe) == (
        expect["service"],
        expect["product"],
        expect.get("version", ""),
        expect["cpe"],
    )


@pytest.mark.parametrize("transcript", ALL, ids=[t.name for t in ALL])
def test_the_whole_engine_names_the_service_of_a_recorded_banner(transcript: Transcript) -> None:
    """probes.toml and every rule file together still name the right service for each reply."""
    info = match_response(probe_named(transcript.probe), transcript.data, load_rules())
    assert info is not None
    assert info.name == transcript.expect["service"]


def test_every_rule_in_the_family_files_is_pinned_by_a_transcript() -> None:
    """No rule lands untested: each is the first to match at least one recorded reply."""
    rules = family_rules()
    used = set()
    for transcript in ALL:
        probe = probe_named(transcript.probe)
        rule = first_rule(probe, transcript.data, rules)
        if rule is not None:
            used.add(id(rule))
    untested = [
        f"{rule.probe}: {rule.pattern.pattern}"
        for group in rules.rules.values()
        for rule in group
        if id(rule) not in used
    ]
    assert untested == []


def test_every_cpe_template_fills_to_a_well_formed_cpe23_name() -> None:
    for group in load_rules().rules.values():
        for rule in group:
            if not rule.cpe:
                continue
            filled = re.sub(r"\$\d", "1.0", rule.cpe)
            assert CPE23.match(filled), rule.cpe
            assert filled.count(":") == 12, rule.cpe


def test_every_transcript_says_where_its_bytes_came_from() -> None:
    for transcript in ALL:
        assert transcript.source.startswith(("real server:", "specification:")), transcript.name
        assert len(transcript.source) > 30, transcript.name


def test_a_reply_no_rule_knows_is_left_unnamed() -> None:
    """A made-up greeting does not get a product from a rule that is too loose."""
    info = match_response(probe_named("null"), b"HELLO rampart-test-daemon 9.9\r\n", load_rules())
    assert info is None or info.product == ""
