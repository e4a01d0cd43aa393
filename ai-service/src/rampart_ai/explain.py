"""Explanations: a knowledge-base note at a level, with an example from the caller's data."""

from __future__ import annotations

from rampart_ai.answers import Evidence
from rampart_ai.domain import Citation, Explanation, Level, PortFact, VulnFact
from rampart_ai.draft import quoted
from rampart_ai.knowledge.library import Library, Note
from rampart_ai.observations import observations


def _port_example(port: PortFact) -> tuple[str, Citation]:
    what = port.service or "an unidentified service"
    software = f" ({quoted(port.software, 60)})" if port.software else ""
    notes = observations(port)
    seen = f"; observed: {'; '.join(notes)}" if notes else ""
    return (
        f"In scan {port.scan_id}, {port.endpoint}/{port.protocol} is open running {what}{software}{seen}.",
        port.citation(),
    )


def _vuln_example(vuln: VulnFact) -> tuple[str, Citation]:
    cve = f" ({vuln.cve})" if vuln.cve else ""
    return (
        f"Finding {vuln.vulnerability_id}: {vuln.title}{cve} on {vuln.endpoint}, {vuln.severity}.",
        vuln.citation(),
    )


def example(note: Note, evidence: Evidence) -> tuple[str, Citation] | None:
    """The caller's object that illustrates ``note``, when one exists; ports named in the question first."""
    scan = evidence.scan
    ports = [
        p
        for p in (scan.open_ports if scan is not None else ())
        if not evidence.ports or p.port in evidence.ports
    ]
    kind = note.concept.example if note.concept is not None else "service"
    names: set[str] = set(note.guide.names) if note.guide is not None else set()
    if note.concept is not None and note.concept.id == "ssh":
        kind, names = "service", {"ssh"}
    cwe = {r.id for r in note.related if r.kind == "cwe"}
    if note.ref.startswith("cwe/"):
        cwe.add(note.ref.removeprefix("cwe/"))
    vulns = sorted(evidence.vulns, key=lambda v: v.rank, reverse=True)
    wanted: list[PortFact] = []
    if kind in {"tls", "certificate"}:
        wanted = [p for p in ports if p.tls is not None]
    elif kind == "open_port":
        wanted = ports
    elif kind == "service":
        wanted = [p for p in ports if p.service in names] if names else [p for p in ports if observations(p)]
    if wanted:
        endpoints = {(p.host, p.port) for p in wanted}
        on_ports = [v for v in vulns if (v.host, v.port) in endpoints and (not cwe or set(v.cwe) & cwe)]
        return _vuln_example(on_ports[0]) if on_ports else _port_example(wanted[0])
    if kind in {"finding", "cve"} or cwe:
        chosen = [v for v in vulns if set(v.cwe) & cwe] or (vulns if kind in {"finding", "cve"} else [])
        if kind == "cve":
            chosen = [v for v in chosen if v.cve]
        if chosen:
            return _vuln_example(chosen[0])
    if scan is not None and kind == "scan" and scan.ports:
        return (
            f"Your scan {scan.scan_id} of {', '.join(scan.targets)} found {scan.counts[0]} open ports.",
            scan.citation(),
        )
    if scan is not None and kind == "filtered_port" and scan.counts[2]:
        return f"Scan {scan.scan_id} saw {scan.counts[2]} filtered ports (no answer).", scan.citation()
    return None


def explain(library: Library, concept: str, level: Level, evidence: Evidence) -> Explanation:
    note = library.find(concept, level)
    if note is None:
        return Explanation(
            concept,
            level,
            f"The knowledge base has no note on {quoted(concept)}. Try a broader term, for example "
            "ports and services, TLS, SSH, CVE, CVSS, EPSS, KEV, CWE, port scanning or compliance.",
            found=False,
        )
    found = example(note, evidence)
    citations = [note.citation()]
    text = f"{note.text} [1]"
    example_text = ""
    if found is not None:
        example_text, citation = found
        citations.append(citation)
        text += f"\n\nFrom your data: {example_text} [2]"
    return Explanation(note.title, level, text, note.related, example_text, tuple(citations))
