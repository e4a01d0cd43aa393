"""The assistant's use cases: ask, explain, report; the offline, deterministic engine.

Each use case fetches the caller's objects through the ports with the caller's identity (an
object of another organisation is not found, so it can never reach an answer), then composes
the answer from those facts and the knowledge base.
"""

from __future__ import annotations

from dataclasses import dataclass, replace

from rampart_ai import answers
from rampart_ai.answers import FINISHED, Evidence
from rampart_ai.domain import (
    Answer,
    Audience,
    Caller,
    CveFact,
    Explanation,
    Intent,
    InvalidQuestion,
    Level,
    Report,
    ScanFacts,
    VulnerabilityNotFound,
)
from rampart_ai.explain import explain
from rampart_ai.grounding import check, messages
from rampart_ai.intent import Parsed, parse
from rampart_ai.knowledge.library import Library
from rampart_ai.ports import Findings, Scans, SourceUnavailable, Threats, TokenBudget
from rampart_ai.provider import ChatProvider, ProviderError, prompt_tokens
from rampart_ai.report import SECTIONS, build

MAX_QUESTION = 2_000
MAX_CONCEPT = 200
MAX_CVE_CHECKS = 20  # ports matched against the catalogue per CVE
NEEDS_SCAN = {Intent.EXPOSURE, Intent.URGENT, Intent.CHANGES, Intent.REMEDIATE, Intent.CVE_CHECK}


@dataclass(frozen=True)
class AskContext:
    """The object a question is about; at most one is set."""

    scan_id: str = ""
    vulnerability_id: str = ""
    asset: str = ""
    incident_id: str = ""

    def given(self) -> list[str]:
        return [name for name, value in vars(self).items() if value]


class AssistantService:
    """Ask, explain and report, grounded in the caller's own objects."""

    def __init__(
        self,
        scans: Scans,
        findings: Findings,
        threats: Threats,
        library: Library,
        provider: ChatProvider | None = None,
    ) -> None:
        self._provider = provider
        self._scans = scans
        self._findings = findings
        self._threats = threats
        self._library = library

    async def ask(
        self, caller: Caller, question: str, context: AskContext, budget: TokenBudget | None = None
    ) -> Answer:
        question = question.strip()
        if not question:
            raise InvalidQuestion("question is empty", field="question")
        if len(question) > MAX_QUESTION:
            raise InvalidQuestion(f"question is longer than {MAX_QUESTION} characters", field="question")
        if len(context.given()) > 1:
            raise InvalidQuestion("give at most one of scan_id, vulnerability_id, asset, incident_id")
        parsed = parse(question)
        if parsed.intent is not Intent.CVE_CHECK and self._library.definition(question, Level.INTERMEDIATE):
            parsed = replace(parsed, intent=Intent.EXPLAIN)
        evidence = Evidence(hosts=parsed.hosts, ports=parsed.ports)
        await self._gather(caller, context, parsed, evidence)
        offline = self._compose(question, context, parsed, evidence)
        if self._provider is None:
            return offline
        return await self._provided(self._provider, question, offline, budget)

    async def _provided(
        self, provider: ChatProvider, question: str, offline: Answer, budget: TokenBudget | None
    ) -> Answer:
        """The provider's wording of the offline answer's facts, checked; the offline answer on failure.

        With a ``budget``, the most the call can cost (prompt estimate + ``max_tokens``) is
        reserved first and settled at what the provider reports; no reservation, no call.
        """
        chat = messages(question, offline)
        reserved = prompt_tokens(chat) + provider.max_tokens
        if budget is not None and not await budget.reserve(reserved):
            offline.gaps.append("the plan's provider tokens for today are used up; answered offline")
            return offline
        try:
            completion = await provider.complete(chat)
        except ProviderError as error:
            if budget is not None:
                await budget.settle(reserved, 0)
            offline.gaps.append(f"provider failed ({error}); answered offline")
            return offline
        if budget is not None:
            await budget.settle(reserved, completion.tokens)
        offline.tokens = completion.tokens
        checked = check(completion.text, offline)
        if not checked.text:
            offline.gaps.append(
                "provider answer withheld: it named facts not in the context; answered offline"
            )
            return offline
        gaps = list(offline.gaps)
        if checked.dropped:
            gaps.append(
                f"{len(checked.dropped)} sentence(s) of the provider's answer dropped: "
                "they named facts not in the context"
            )
        confidence = offline.confidence - (20 if checked.dropped else 0)
        return Answer(
            offline.intent,
            checked.text,
            offline.citations,
            gaps,
            confidence,
            provider.name,
            completion.tokens,
        )

    def _compose(self, question: str, context: AskContext, parsed: Parsed, evidence: Evidence) -> Answer:
        kb = self._library.kb
        match parsed.intent:
            case Intent.EXPOSURE:
                return answers.exposure(evidence, kb)
            case Intent.URGENT:
                return answers.urgent(evidence, kb)
            case Intent.CHANGES:
                return answers.changes(evidence, kb)
            case Intent.REMEDIATE:
                return answers.remediate(evidence, kb, question)
            case Intent.CVE_CHECK:
                return answers.cve_check(evidence, kb, parsed)
            case Intent.EXPLAIN:
                return self._explained(question, evidence)
            case _:
                if not context.given() and self._library.find(question, Level.INTERMEDIATE) is not None:
                    return self._explained(question, evidence)
                return answers.summary(evidence, kb)

    def _explained(self, question: str, evidence: Evidence) -> Answer:
        if evidence.focus is not None or evidence.incident is not None:
            return answers.summary(evidence, self._library.kb)
        found = explain(self._library, question, Level.INTERMEDIATE, evidence)
        return Answer(
            Intent.EXPLAIN,
            found.text,
            list(found.citations),
            list(evidence.gaps) + ([] if found.found else ["no knowledge-base note matched"]),
            70 if found.found else 10,
        )

    async def explain(self, caller: Caller, concept: str, level: Level, scan_id: str = "") -> Explanation:
        concept = concept.strip()
        if not concept or len(concept) > MAX_CONCEPT:
            raise InvalidQuestion(f"concept must be 1 to {MAX_CONCEPT} characters", field="concept")
        evidence = Evidence()
        if scan_id:
            evidence.scan = await self._scans.get(caller, scan_id)
        else:
            await self._latest_scan(caller, evidence)
        if evidence.scan is not None:
            await self._scan_findings(caller, evidence.scan.scan_id, evidence)
        return explain(self._library, concept, level, evidence)

    async def report(
        self, caller: Caller, scan_id: str, audience: Audience, sections: tuple[str, ...]
    ) -> Report:
        unknown = [s for s in sections if s not in SECTIONS]
        if unknown:
            raise InvalidQuestion(f"unknown sections: {', '.join(unknown)}", field="include_sections")
        if not scan_id:
            raise InvalidQuestion("scan_id is required", field="scan_id")
        evidence = Evidence(scan=await self._scans.get(caller, scan_id))
        await self._scan_findings(caller, scan_id, evidence)
        return build(evidence, audience, tuple(dict.fromkeys(sections)), self._library.kb)

    # ---- gathering the caller's objects ------------------------------------------------------

    async def _gather(self, caller: Caller, context: AskContext, parsed: Parsed, evidence: Evidence) -> None:
        if context.scan_id:
            evidence.scan = await self._scans.get(caller, context.scan_id)
            await self._scan_findings(caller, context.scan_id, evidence)
        elif context.vulnerability_id:
            try:
                evidence.focus = await self._findings.get(caller, context.vulnerability_id)
            except SourceUnavailable as error:  # say so; claim nothing about it
                evidence.notice = (
                    f"I could not read finding {context.vulnerability_id} ({error.what}), "
                    "so I say nothing about it."
                )
                evidence.gaps.append(f"findings unavailable: {error.what}")
                return
            evidence.vulns = [evidence.focus]
            if evidence.focus.scan_id:
                evidence.scan = await self._scans.get(caller, evidence.focus.scan_id)
        elif context.asset:
            await self._asset(caller, context.asset, evidence)
        elif context.incident_id:
            evidence.incident = await self._threats.incident(caller, context.incident_id)
            await self._incident_findings(caller, evidence)
        elif parsed.intent in NEEDS_SCAN or parsed.intent is Intent.SUMMARY:
            await self._latest_scan(caller, evidence, parsed.hosts[0] if parsed.hosts else "")
            if evidence.scan is None and parsed.hosts:  # a host inside a scanned network
                evidence.gaps.clear()
                await self._latest_scan(caller, evidence)
            if evidence.scan is not None:
                await self._scan_findings(caller, evidence.scan.scan_id, evidence)
        if parsed.intent is Intent.CHANGES and evidence.scan is not None:
            evidence.previous = await self._previous(caller, evidence.scan)
        if parsed.intent is Intent.CVE_CHECK:
            await self._cve_checks(caller, parsed, evidence)
        if parsed.intent is Intent.URGENT:
            for cve_id in {v.cve for v in evidence.open_vulns()[:5] if v.cve}:
                evidence.cves[cve_id] = await self._cve(caller, cve_id, evidence)

    async def _scan_findings(self, caller: Caller, scan_id: str, evidence: Evidence) -> None:
        try:
            evidence.vulns = await self._findings.for_scan(caller, scan_id)
        except SourceUnavailable as error:
            evidence.gaps.append(f"findings unavailable: {error.what}")

    async def _incident_findings(self, caller: Caller, evidence: Evidence) -> None:
        assert evidence.incident is not None
        for finding_id in evidence.incident.related_findings[:10]:
            try:
                evidence.vulns.append(await self._findings.get(caller, finding_id))
            except SourceUnavailable as error:
                evidence.gaps.append(f"findings unavailable: {error.what}")
                return
            except VulnerabilityNotFound:
                evidence.gaps.append(f"related finding {finding_id} not found")

    async def _asset(self, caller: Caller, asset: str, evidence: Evidence) -> None:
        evidence.hosts = (asset,)
        await self._latest_scan(caller, evidence, asset)
        try:
            evidence.vulns = await self._findings.for_host(caller, asset)
        except SourceUnavailable as error:
            evidence.gaps.append(f"findings unavailable: {error.what}")
        if evidence.scan is not None and not any(p.host == asset for p in evidence.scan.ports):
            evidence.hosts = ()  # the target was named differently from the host the engine recorded

    async def _latest_scan(self, caller: Caller, evidence: Evidence, target: str = "") -> None:
        for scan in await self._scans.recent(caller, target, limit=10):
            if scan.status in FINISHED:
                evidence.scan = await self._scans.get(caller, scan.scan_id)
                evidence.scan_note = f"From your latest finished scan{' of ' + target if target else ''}:"
                return
        evidence.gaps.append(f"no finished scan{' of ' + target if target else ''}")

    async def _previous(self, caller: Caller, scan: ScanFacts) -> ScanFacts | None:
        target = scan.targets[0] if scan.targets else ""
        for other in await self._scans.recent(caller, target, limit=20):
            if (
                other.scan_id != scan.scan_id
                and other.status in FINISHED
                and set(other.targets) == set(scan.targets)
                and other.created_at is not None
                and scan.created_at is not None
                and other.created_at < scan.created_at
            ):
                return await self._scans.get(caller, other.scan_id)
        return None

    async def _cve(self, caller: Caller, cve_id: str, evidence: Evidence) -> CveFact | None:
        try:
            return await self._threats.cve(caller, cve_id)
        except SourceUnavailable as error:
            evidence.gaps.append(f"catalogue unavailable: {error.what}")
            return None

    async def _cve_checks(self, caller: Caller, parsed: Parsed, evidence: Evidence) -> None:
        for cve_id in parsed.cves[:5]:
            evidence.cves[cve_id] = await self._cve(caller, cve_id, evidence)
            candidates = [p for p in evidence.selected_ports() if p.software or p.cpe]
            for port in candidates[:MAX_CVE_CHECKS]:
                try:
                    evidence.verdicts.append(await self._threats.match(caller, port, cve_id))
                except SourceUnavailable as error:
                    evidence.gaps.append(f"catalogue matching unavailable: {error.what}")
                    break
