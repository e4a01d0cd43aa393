"""Composed answers, one function per intent, from the evidence the service gathered.

Each sentence about the caller's systems is built from a fact and carries that fact's citation;
when the evidence lacks what a question needs, the answer says so and records a gap.
"""

from __future__ import annotations

from dataclasses import dataclass, field

from rampart_ai.domain import (
    Answer,
    Citation,
    CveFact,
    CveVerdict,
    IncidentFact,
    Intent,
    PortFact,
    ScanFacts,
    VulnFact,
)
from rampart_ai.draft import Draft, plural, quoted
from rampart_ai.intent import Parsed
from rampart_ai.knowledge.base import KnowledgeBase, ServiceGuide
from rampart_ai.observations import observations

FINISHED = {"completed", "failed", "cancelled", "timed_out", "ended_early"}


@dataclass
class Evidence:
    """The caller's objects fetched for one question, and what could not be fetched."""

    scan: ScanFacts | None = None
    scan_note: str = ""  # how the scan was chosen when the caller did not name it
    previous: ScanFacts | None = None
    vulns: list[VulnFact] = field(default_factory=list)
    focus: VulnFact | None = None
    incident: IncidentFact | None = None
    cves: dict[str, CveFact | None] = field(default_factory=dict)
    verdicts: list[CveVerdict] = field(default_factory=list)
    notice: str = ""  # said first: the object asked about could not be read
    hosts: tuple[str, ...] = ()  # the hosts the question or context is about ("" = all)
    ports: tuple[int, ...] = ()
    gaps: list[str] = field(default_factory=list)

    def selected_ports(self, open_only: bool = True) -> list[PortFact]:
        if self.scan is None:
            return []
        ports = self.scan.open_ports if open_only else self.scan.ports
        return [
            p
            for p in ports
            if (not self.hosts or p.host in self.hosts) and (not self.ports or p.port in self.ports)
        ]

    def open_vulns(self) -> list[VulnFact]:
        chosen = [
            v
            for v in self.vulns
            if v.is_open
            and (not self.hosts or v.host in self.hosts)
            and (not self.ports or v.port in self.ports)
        ]
        return sorted(chosen, key=lambda v: v.rank, reverse=True)


def _start(intent: Intent, evidence: Evidence) -> Draft:
    draft = Draft(intent)
    for gap in evidence.gaps:
        draft.gap(gap)
    if evidence.notice:
        draft.say(evidence.notice)
    return draft


def _scan_line(draft: Draft, scan: ScanFacts, note: str) -> bool:
    """States which scan the answer uses; False when it has no results to use."""
    intro = f"{note} " if note else ""
    if scan.status not in FINISHED and not scan.ports:
        draft.say(
            f"{intro}Scan {scan.scan_id} {draft.cite(scan.citation())} is {scan.status}; "
            "it has no results yet."
        )
        draft.gap(f"scan {scan.scan_id} has no results yet")
        return False
    counts = f"{plural(scan.counts[0], 'open port')} on {plural(len(scan.hosts) or 1, 'host')}"
    draft.say(
        f"{intro}Scan {scan.scan_id} of {', '.join(scan.targets)} {draft.cite(scan.citation())} "
        f"({scan.status}) found {counts}."
    )
    return True


def _no_scan(draft: Draft) -> Answer:
    draft.say(
        "I have no scan results of yours to answer from: give a scan_id, or run a scan first. "
        "I do not guess about systems I have no data on."
    )
    draft.gap("no scan results")
    return draft.answer()


def _port_line(draft: Draft, port: PortFact, kb: KnowledgeBase) -> str:
    what = port.service or "unidentified service"
    if port.software:
        what += f" ({quoted(port.software, 60)})"
    line = f"- {port.endpoint}/{port.protocol}: {what} {draft.cite(port.citation())}"
    server = port.fact("http.server")
    if server:
        line += f"; Server header {quoted(server)}"
    elif port.banner and not port.software:
        line += f"; banner {quoted(port.banner, 120)}"
    notes = observations(port)
    if notes:
        line += "; observed: " + "; ".join(notes)
    guide = kb.guide_for(port.service, port.port)
    if guide is not None:
        line += f". Risk for {guide.title}: {guide.risk}"
    return line


def exposure(evidence: Evidence, kb: KnowledgeBase) -> Answer:
    draft = _start(Intent.EXPOSURE, evidence)
    if evidence.scan is None:
        return _no_scan(draft)
    if not _scan_line(draft, evidence.scan, evidence.scan_note):
        return draft.answer()
    ports = evidence.selected_ports()
    where = f" matching {', '.join(evidence.hosts)}" if evidence.hosts else ""
    if evidence.ports:
        where += f" on port {', '.join(str(p) for p in evidence.ports)}"
    if not ports:
        draft.say(f"It found no open port{where}.")
        return draft.answer()
    draft.say(f"Open{where} ({len(ports)}):")
    for port in ports:
        draft.say(_port_line(draft, port, kb))
    vulns = evidence.open_vulns()
    if vulns:
        marks = draft.cite(*(v.citation() for v in vulns[:10]))
        draft.say(f"Threat-service holds {plural(len(vulns), 'open finding')} on these systems {marks}.")
    return draft.answer()


def _why(vuln: VulnFact, ports: dict[tuple[str, int], PortFact], draft: Draft) -> str:
    reasons = []
    if vuln.kev:
        reasons.append("listed in CISA KEV (exploited in the wild)")
    if vuln.severity in {"critical", "high"}:
        reasons.append(f"{vuln.severity} severity")
    if vuln.cvss:
        reasons.append(f"CVSS {vuln.cvss:.1f}")
    if vuln.epss >= 0.1:
        reasons.append(f"EPSS {vuln.epss:.0%} chance of exploitation in 30 days")
    port = ports.get((vuln.host, vuln.port))
    if port is not None:
        reasons.append(f"the port answered in scan {port.scan_id} {draft.cite(port.citation())}")
    return ", ".join(reasons) or f"{vuln.severity} severity"


def urgent(evidence: Evidence, kb: KnowledgeBase) -> Answer:
    draft = _start(Intent.URGENT, evidence)
    if evidence.scan is not None:
        _scan_line(draft, evidence.scan, evidence.scan_note)
    vulns = evidence.open_vulns()
    ports = {(p.host, p.port): p for p in evidence.selected_ports()}
    if vulns:
        draft.say("Most urgent first (known exploited, then severity, EPSS, CVSS):")
        for rank, vuln in enumerate(vulns[:5], 1):
            cve = f" ({vuln.cve} {draft.cite(_cve_citation(vuln.cve, evidence))})" if vuln.cve else ""
            draft.say(
                f"{rank}. {vuln.title}{cve} on {vuln.endpoint} {draft.cite(vuln.citation())}: "
                f"{_why(vuln, ports, draft)}."
            )
        if len(vulns) > 5:
            draft.say(f"{plural(len(vulns) - 5, 'more open finding')} rank lower.")
        return draft.answer()
    observed = [(p, observations(p)) for p in ports.values()]
    observed = [(p, notes) for p, notes in observed if notes]
    if observed:
        draft.say("No open findings are recorded for this; the scan itself observed:")
        for port, notes in observed[:5]:
            draft.say(f"- {port.endpoint}: {'; '.join(notes)} {draft.cite(port.citation())}")
        return draft.answer()
    if evidence.scan is None and not evidence.vulns:
        return _no_scan(draft)
    draft.say("I find no open finding in your data for this, so I cannot name anything urgent.")
    return draft.answer()


def _cve_citation(cve_id: str, evidence: Evidence) -> Citation:
    fact = evidence.cves.get(cve_id)
    return (fact if fact is not None else CveFact(cve_id)).citation()


def changes(evidence: Evidence, kb: KnowledgeBase) -> Answer:
    draft = _start(Intent.CHANGES, evidence)
    scan, previous = evidence.scan, evidence.previous
    if scan is None:
        return _no_scan(draft)
    if previous is None:
        draft.say(
            f"Scan {scan.scan_id} {draft.cite(scan.citation())} has no earlier finished scan of the same "
            "targets to compare with, so I cannot say what changed."
        )
        draft.gap("no earlier scan of the same targets")
        return draft.answer()
    now = {(p.host, p.port, p.protocol): p for p in evidence.selected_ports()}
    before = {
        (p.host, p.port, p.protocol): p
        for p in previous.open_ports
        if not evidence.hosts or p.host in evidence.hosts
    }
    draft.say(
        f"Compared scan {scan.scan_id} {draft.cite(scan.citation())} with the previous scan of the same "
        f"targets, {previous.scan_id} {draft.cite(previous.citation())}:"
    )
    opened = [now[k] for k in sorted(now.keys() - before.keys())]
    closed = [before[k] for k in sorted(before.keys() - now.keys())]
    changed = [
        (before[k], now[k])
        for k in sorted(now.keys() & before.keys())
        if (before[k].service, before[k].software) != (now[k].service, now[k].software)
    ]
    for port in opened:
        draft.say(
            f"- newly open: {port.endpoint}/{port.protocol} {port.service} {draft.cite(port.citation())}"
        )
    for port in closed:
        draft.say(f"- no longer open: {port.endpoint}/{port.protocol} {draft.cite(port.citation())}")
    for old, new in changed:
        draft.say(
            f"- {new.endpoint}: {quoted(old.software or old.service)} became "
            f"{quoted(new.software or new.service)} {draft.cite(old.citation(), new.citation())}"
        )
    if not (opened or closed or changed):
        draft.say("- no open port appeared, disappeared or changed software.")
    return draft.answer()


def remediate(evidence: Evidence, kb: KnowledgeBase, question: str) -> Answer:
    draft = _start(Intent.REMEDIATE, evidence)
    targets = [evidence.focus] if evidence.focus else evidence.open_vulns()
    named = _named_guides(question, kb)
    if named:
        targets = [
            v
            for v in targets
            if any(_port_service(evidence, v) in g.names or v.port in g.ports for g in named)
        ] or ([] if evidence.focus is None else targets)
    for vuln in targets[:5]:
        steps = vuln.remediation or "threat-service gives no remediation text for it"
        draft.say(f"- {vuln.title} on {vuln.endpoint} {draft.cite(vuln.citation())}: {steps}")
    ports = evidence.selected_ports()
    guides = named or [g for g in (kb.guide_for(p.service, p.port) for p in ports) if g is not None][:3]
    for guide in dict.fromkeys(guides):
        mine = [p for p in ports if kb.guide_for(p.service, p.port) == guide]
        where = (
            f" (yours: {', '.join(p.endpoint + ' ' + draft.cite(p.citation()) for p in mine[:5])})"
            if mine
            else ""
        )
        if named and not mine and evidence.scan is not None:
            where = f" (scan {evidence.scan.scan_id} {draft.cite(evidence.scan.citation())} found none open)"
        knowledge = draft.cite(_guide_citation(guide.id, guide.title))
        draft.say(f"Hardening {guide.title}{where} {knowledge}:")
        for step in guide.steps:
            draft.say(f"  - {step}")
    if not draft.lines:
        if evidence.scan is None and not evidence.vulns:
            return _no_scan(draft)
        draft.say("I find nothing in your data that this question names, and no guide for it.")
    return draft.answer()


def _port_service(evidence: Evidence, vuln: VulnFact) -> str:
    if evidence.scan is None:
        return ""
    port = next((p for p in evidence.scan.ports if (p.host, p.port) == (vuln.host, vuln.port)), None)
    return port.service if port is not None else ""


def _named_guides(question: str, kb: KnowledgeBase) -> list[ServiceGuide]:
    lowered = f" {question.lower()} "
    return [g for g in kb.services if any(f" {n} " in lowered or f" {n}?" in lowered for n in g.names)]


def _guide_citation(guide_id: str, title: str) -> Citation:
    return Citation("knowledge", f"service/{guide_id}", title)


def cve_check(evidence: Evidence, kb: KnowledgeBase, parsed: Parsed) -> Answer:
    draft = _start(Intent.CVE_CHECK, evidence)
    for cve_id in parsed.cves:
        fact = evidence.cves.get(cve_id)
        if fact is None:
            draft.say(f"The vulnerability catalogue has no record of {cve_id}; I cannot check it.")
            draft.gap(f"{cve_id} not in the catalogue")
        else:
            score = f", CVSS {fact.score:.1f}" if fact.score else ""
            kev = ", listed in CISA KEV" if fact.kev else ""
            draft.say(f"{cve_id}{score}{kev} {draft.cite(fact.citation())}: {fact.description[:300]}")
        named = [
            v for v in evidence.vulns if v.cve == cve_id and (not evidence.hosts or v.host in evidence.hosts)
        ]
        for vuln in named:
            draft.say(
                f"- Finding {vuln.vulnerability_id} on {vuln.endpoint} {draft.cite(vuln.citation())} "
                f"names it ({vuln.state})."
            )
        verdicts = [v for v in evidence.verdicts if v.cve_id == cve_id]
        for verdict in verdicts:
            port = verdict.port
            software = quoted(port.software or port.service, 60)
            mark = draft.cite(port.citation())
            if verdict.verdict == "not_listed":
                draft.say(
                    f"- {port.endpoint} runs {software} {mark}: the catalogue does not list it for {cve_id}."
                )
            else:
                reason = f" ({verdict.reason})" if verdict.reason else ""
                draft.say(
                    f"- {port.endpoint} runs {software} {mark}: {verdict.verdict} "
                    f"({verdict.confidence or 'unrated'} confidence){reason}."
                )
        if not named and not verdicts:
            if evidence.scan is None:
                draft.say("I have no scan results of yours to check it against.")
                draft.gap("no scan results")
            else:
                where = f" on {', '.join(evidence.hosts)}" if evidence.hosts else ""
                mark = draft.cite(evidence.scan.citation())
                draft.say(
                    f"Scan {evidence.scan.scan_id} {mark} shows no open port{where} "
                    f"with identified software to check against {cve_id}."
                )
    return draft.answer()


def incident_lines(draft: Draft, incident: IncidentFact) -> None:
    mark = draft.cite(incident.citation())
    title = quoted(incident.title, 120)
    draft.say(f"Incident {incident.incident_id} {mark}: {title}, {incident.severity}, {incident.status}.")
    if incident.affected_systems:
        draft.say(f"Affected systems {mark}: {', '.join(incident.affected_systems)}.")
    if incident.priority:
        draft.say(f"Triage priority {incident.priority} {mark}.")
    for step in incident.next_steps:
        draft.say(f"- next step {mark}: {step}")


def summary(evidence: Evidence, kb: KnowledgeBase) -> Answer:
    draft = _start(Intent.SUMMARY, evidence)
    if evidence.incident is not None:
        incident_lines(draft, evidence.incident)
    if evidence.focus is not None:
        vuln = evidence.focus
        mark = draft.cite(vuln.citation())
        cve = f", {vuln.cve}" if vuln.cve else ""
        where = f"on {vuln.endpoint}, {vuln.severity}{cve}, {vuln.state}"
        draft.say(f"Finding {vuln.vulnerability_id} {mark}: {vuln.title} {where}.")
        if vuln.description:
            draft.say(vuln.description)
        if vuln.remediation:
            draft.say(f"Fix {mark}: {vuln.remediation}")
    elif evidence.incident is not None:
        for vuln in evidence.vulns[:10]:
            draft.say(f"- related finding: {vuln.title} on {vuln.endpoint} {draft.cite(vuln.citation())}")
    about_scan = evidence.scan is not None and evidence.focus is None and evidence.incident is None
    if about_scan and evidence.scan is not None and _scan_line(draft, evidence.scan, evidence.scan_note):
        vulns = evidence.open_vulns()
        if vulns:
            marks = draft.cite(*(v.citation() for v in vulns[:10]))
            draft.say(f"{plural(len(vulns), 'open finding')} {marks}; ask what is most urgent for the order.")
    if not draft.lines:
        draft.say(
            "I can answer, from your scans and findings: what is exposed, what is most urgent and why, "
            "what changed since the previous scan, how to fix a service or finding, whether a host is "
            "affected by a CVE; and explain security concepts."
        )
        draft.gap("no object of yours matched the question")
    return draft.answer()
