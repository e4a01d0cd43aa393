"""Scan activity keeps the status of the newest event, whatever order events arrive in."""

from __future__ import annotations

from rampart_threat.activity import last_status


def test_last_status_follows_sequence_not_arrival() -> None:
    assert last_status({"status_at": {"2": "cancelled", "1": "queued"}}) == "cancelled"
    assert last_status({"status_at": {"10": "completed", "9": "running"}}) == "completed"
    assert last_status({}) == ""
