"""The framework files and the loader's refusals: every referenced rule id exists, clear errors otherwise."""

from __future__ import annotations

from pathlib import Path

import pytest

from rampart_report.compliance.catalogue import (
    DATA,
    MappingError,
    default_rules_dir,
    known_rule_ids,
    load_catalogue,
)

GOOD = """
framework = "test-fw"
name = "Test"
version = "1"

[[control]]
id = "T.1"
name = "A control"
description = "Something."
{extra}
"""


def write(tmp_path: Path, extra: str, name: str = "test.toml") -> Path:
    (tmp_path / name).write_text(GOOD.format(extra=extra))
    return tmp_path


def test_the_shipped_frameworks_load_with_their_own_control_ids() -> None:
    catalogue = load_catalogue()
    assert [f.key for f in catalogue.frameworks] == ["gdpr", "hipaa", "iso27001", "pci-dss", "soc2"]
    ids = {c.control_id for c in catalogue.controls()}
    assert {
        "soc2:CC6.1",
        "iso27001:A.8.8",
        "hipaa:164.312(e)(1)",
        "gdpr:Art.32(1)(a)",
        "pci-dss:6.3.3",
    } <= ids


def test_every_rule_id_the_shipped_mapping_names_is_defined_by_the_rule_files() -> None:
    rules = known_rule_ids(default_rules_dir())
    named = {rule for c in load_catalogue().controls() for rule in c.rules}
    assert named
    assert named <= rules


def test_an_unknown_rule_id_is_refused_naming_the_file_control_and_rule(tmp_path: Path) -> None:
    with pytest.raises(
        MappingError, match=r"test.toml: control 'T.1': unknown finding rule ids \['RMP-NOPE-001'\]"
    ):
        load_catalogue(write(tmp_path, 'rules = ["RMP-TLS-001", "RMP-NOPE-001"]'))


@pytest.mark.parametrize(
    ("extra", "message"),
    [
        ('cwes = ["327"]', "not CWE ids"),
        ('types = ["malware"]', "unknown finding types"),
        ('rules = ["RMP-TLS-001"]\nmin_severity = "severe"', "min_severity"),
        ("freshness_days = -1", "freshness_days"),
        ("", "no check"),
        ("manual = true\nweight = 3", "unknown keys"),
    ],
)
def test_a_malformed_control_is_refused_with_a_clear_message(
    tmp_path: Path, extra: str, message: str
) -> None:
    with pytest.raises(MappingError, match=message):
        load_catalogue(write(tmp_path, extra))


def test_a_control_id_defined_twice_is_refused(tmp_path: Path) -> None:
    text = (
        GOOD.format(extra="manual = true")
        + '\n[[control]]\nid = "T.1"\nname = "x"\ndescription = "y"\nmanual = true\n'
    )
    (tmp_path / "dup.toml").write_text(text)
    with pytest.raises(MappingError, match=r"defined twice: \['T.1'\]"):
        load_catalogue(tmp_path)


def test_an_empty_rules_directory_is_refused(tmp_path: Path) -> None:
    with pytest.raises(MappingError, match="no rule files"):
        load_catalogue(DATA, rules_dir=tmp_path)
