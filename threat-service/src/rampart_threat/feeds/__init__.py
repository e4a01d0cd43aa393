"""Vulnerability feeds: read NVD 2.0, CVE JSON 5, CISA KEV and FIRST EPSS files into the store.

``readers`` streams raw per-CVE dicts out of each format; ``repository`` keeps them in
generations switched by one pointer document; ``service`` runs an import and reports its
provenance; ``__main__`` is the operator's command.
"""
