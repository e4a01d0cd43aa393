"""Errors of the export use case."""

from __future__ import annotations

from rampart.lib.errors import RampartError


class ScanNotFound(RampartError):
    public_code = "SCAN_NOT_FOUND"


class FindingsUnavailable(Exception):
    """threat-service could not list the scan's findings; the export says so instead of them."""
