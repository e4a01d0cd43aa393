"""Narrative reports over one scan, for executive, technical or remediation readers."""

from __future__ import annotations

from collections import Counter

from rampart_ai.answers import Evidence, exposure, remediate, urgent
from rampart_ai.domain import Audience, Intent, Report, Section
from rampart_ai.draft import Draft, plural
from rampart_ai.knowledge.base import KnowledgeBase
from rampart_ai.observations import observations

SECTIONS = ("summary", "vulnerabilities", "recommendations")
TITLES = {"summary": "Summary", "vulnerabilities": "Vulnerabilities", "recommendations": "Recommendations"}


def _section(name: str, draft: Draft) -> Section:
    return Section(name, TITLES[name], "\n".join(draft.lines), tuple(draft.citations))


def _summary(evidence: Evidence, audience: Audience, kb: KnowledgeBase) -> Section:
    if audience is Audience.TECHNICAL:
        answer = exposure(evidence, kb)
        return Section("summary", TITLES["summary"], answer.text, tuple(answer.citations))
    draft = Draft(Intent.SUMMARY)
    scan = evidence.scan
    assert scan is not None  # the service only reports on a scan it fetched
    mark = draft.cite(scan.citation())
    ports = scan.open_ports
    draft.say(
        f"Scan {scan.scan_id} {mark} of {', '.join(scan.targets)} ({scan.status}) found "
        f"{plural(len(ports), 'open port')} on {plural(len({p.host for p in ports}) or 0, 'host')}."
    )
    vulns = evidence.open_vulns()
    if vulns:
        by_severity = Counter(v.severity for v in vulns)
        parts = [
            f"{by_severity[s]} {s}" for s in ("critical", "high", "medium", "low", "info") if by_severity[s]
        ]
        marks = draft.cite(*(v.citation() for v in vulns[:10]))
        draft.say(f"Open findings: {', '.join(parts)} {marks}.")
        kev = [v for v in vulns if v.kev]
        if kev:
            draft.say(
                f"{plural(len(kev), 'finding')} concern vulnerabilities known to be exploited in the wild "
                f"{draft.cite(*(v.citation() for v in kev))}: fix these first."
            )
    else:
        risky = [p for p in ports if observations(p)]
        if risky:
            marks = draft.cite(*(p.citation() for p in risky[:10]))
            where = plural(len(risky), "port")
            draft.say(f"No open findings are recorded; the scan observed weaknesses on {where} {marks}.")
        else:
            draft.say("No open findings are recorded for this scan.")
    return _section("summary", draft)


def build(evidence: Evidence, audience: Audience, sections: tuple[str, ...], kb: KnowledgeBase) -> Report:
    """The report's sections in the order asked (all three when none)."""
    scan = evidence.scan
    assert scan is not None
    out = []
    for name in sections or SECTIONS:
        if name == "summary":
            out.append(_summary(evidence, audience, kb))
        elif name == "vulnerabilities":
            answer = urgent(evidence, kb)
            out.append(Section(name, TITLES[name], answer.text, tuple(answer.citations)))
        else:
            answer = remediate(evidence, kb, "")
            out.append(Section(name, TITLES[name], answer.text, tuple(answer.citations)))
    return Report(scan.scan_id, audience, tuple(out), tuple(evidence.gaps))
