"""Vulnerability knowledge: typed CVE records, the feeds' parsers, and the CPE/version matcher."""
