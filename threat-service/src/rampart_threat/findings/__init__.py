"""Findings: what is wrong with what a scan found (CVE matches and rule checks), and their lifecycle."""
