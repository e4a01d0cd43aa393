"""Small shared helpers whose behaviour other code leans on."""

from __future__ import annotations

from datetime import UTC, datetime

import pytest

from rampart.lib.errors import error_from_metadata
from rampart.lib.events import retry_delay
from rampart.lib.ids import clean_request_id, from_timestamp, new_id, to_timestamp
from rampart.lib.store import read_time
from rampart_scan.domain import InvalidTarget, ScanNotFound


def test_caller_request_ids_are_kept_only_when_short_and_printable() -> None:
    assert clean_request_id("abc-123_x.y:z") == "abc-123_x.y:z"
    for hostile in ("", None, "a b", "x" * 129, "id\nInjected: header", "<script>"):
        replaced = clean_request_id(hostile)
        assert replaced.startswith("req_")
        assert replaced != hostile


def test_ids_are_prefixed_and_unique() -> None:
    ids = {new_id("scan") for _ in range(1000)}
    assert len(ids) == 1000
    assert all(i.startswith("scan_") and len(i) == 25 for i in ids)


def test_retry_delay_backs_off_and_is_capped() -> None:
    delays = [retry_delay(attempt) for attempt in range(1, 10)]
    assert delays[:4] == [0.5, 1.0, 2.0, 4.0]
    assert delays == sorted(delays)
    assert max(delays) == 30.0


def test_domain_error_crosses_the_wire_with_code_and_details() -> None:
    error = InvalidTarget("bad target", field="target", value="invalid..host")
    code, details = error_from_metadata(error.trailing_metadata())
    assert code == "INVALID_TARGET"
    assert details == {"field": "target", "value": "invalid..host"}
    assert error_from_metadata(ScanNotFound("gone").trailing_metadata())[0] == "SCAN_NOT_FOUND"
    assert error_from_metadata([("rampart-error-details", "not json")]) == (None, {})


def test_stored_times_read_back_as_aware_utc() -> None:
    aware = datetime(2026, 1, 2, 3, 4, 5, 600000, tzinfo=UTC)
    assert read_time(aware) == aware
    assert read_time(aware.replace(tzinfo=None)) == aware
    assert read_time("2026-01-02 03:04:05.600000") == aware  # nx-27017's form after $set
    assert read_time(None) is None
    with pytest.raises(TypeError):
        read_time(12)
    assert from_timestamp(to_timestamp(aware)) == aware  # type: ignore[arg-type]
