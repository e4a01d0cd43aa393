"""Errors of the export use case."""

from __future__ import annotations

from rampart.lib.errors import RampartError


class ScanNotFound(RampartError):
    public_code = "SCAN_NOT_FOUND"


class FindingsUnavailable(Exception):
    """threat-service could not list the scan's findings; the export says so instead of them."""


class ExportTooLarge(RampartError):
    """More records match than one export holds (``MAX_RECORDS`` in service.py, docs/exports.md)."""

    public_code = "EXPORT_TOO_LARGE"
