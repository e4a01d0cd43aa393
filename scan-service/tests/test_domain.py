"""Scan targets are cleaned and bounded before a scan is accepted."""

from __future__ import annotations

import pytest

from rampart_scan.domain import MAX_TARGETS, InvalidTarget, check_targets


def test_targets_are_trimmed_and_deduplicated_in_order() -> None:
    assert check_targets([" 127.0.0.1", "::1", "127.0.0.1 ", ""]) == ["127.0.0.1", "::1"]


def test_no_target_is_refused_naming_the_field() -> None:
    with pytest.raises(InvalidTarget) as refused:
        check_targets(["  ", ""])
    assert refused.value.public_code == "INVALID_TARGET"
    assert refused.value.details["field"] == "target"


def test_too_many_targets_are_refused() -> None:
    with pytest.raises(InvalidTarget):
        check_targets([f"127.0.0.{i % 250}:{i}" for i in range(MAX_TARGETS + 1)])
