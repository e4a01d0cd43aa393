"""Exports of a scan: JSON, CSV, SARIF 2.1.0, HTML and PDF (docs/exports.md)."""
