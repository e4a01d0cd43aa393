"""The analysis use cases: analyse a target (and store the answer), list and get analyses."""

from __future__ import annotations

import asyncio
import time
from dataclasses import dataclass, replace

from rampart.lib.ids import new_id, utcnow
from rampart_threat.analysis.assets import AssetLookup, NoAssets
from rampart_threat.analysis.detect import detect
from rampart_threat.analysis.domain import (
    Analysis,
    AnalysisNotFound,
    AssetMatch,
    FeedHit,
    Findings,
    Kind,
    Mode,
    Verdict,
)
from rampart_threat.analysis.engine import EngineConfig, EngineResult, Lookup, run
from rampart_threat.analysis.events import AnalysisPublisher, NoPublisher
from rampart_threat.analysis.feeds import IndicatorLookup
from rampart_threat.analysis.repository import AnalysisPage, AnalysisRepository
from rampart_threat.analysis.sandbox import SandboxLimits, run_sandboxed
from rampart_threat.analysis.scoring import score

MAX_LOOKUPS = 64
ASSET_WEIGHT = 0  # a match in the organisation's own assets is context, not a sign of maliciousness
MAX_PAGE = 100
DEFAULT_PAGE = 20


@dataclass(frozen=True)
class AnalyzeRequest:
    org_id: str
    user_id: str
    target: str
    kind: Kind | None = None
    mode: Mode = Mode.QUICK
    metadata: dict[str, str] | None = None


class AnalysisService:
    """Analyses indicators for an organisation; every analysis is stored under its owner."""

    def __init__(
        self,
        repository: AnalysisRepository,
        feeds: IndicatorLookup,
        config: EngineConfig | None = None,
        sandbox: SandboxLimits | None = None,
        publisher: AnalysisPublisher | None = None,
        assets: AssetLookup | None = None,
    ) -> None:
        self._repository = repository
        self._assets = assets or NoAssets()
        self._publisher = publisher or NoPublisher()
        self._feeds = feeds
        self._config = config or EngineConfig()
        self._sandbox = sandbox or SandboxLimits()

    async def analyze(self, request: AnalyzeRequest) -> Analysis:
        started = time.perf_counter()
        target = detect(request.target, request.kind)
        if request.mode is Mode.SANDBOX:
            sandboxed = await run_sandboxed(target, self._config, self._sandbox)
            result = sandboxed.result
            result.findings.limits.append(
                f"sandbox: {sandboxed.isolation}; peak memory {sandboxed.max_rss_kib} KiB"
            )
        elif request.mode is Mode.DEEP or target.kind is Kind.PAYLOAD:
            result = await asyncio.to_thread(
                run, target, request.mode, self._config
            )  # CPU-bound: off the loop
        else:
            result = run(target, request.mode, self._config)
        await self._look_up(result, request.org_id)
        matches = await self._match_assets(result, request.org_id)
        verdicts = score(target.kind, result.findings)
        analysis = Analysis(
            analysis_id=new_id("ana"),
            org_id=request.org_id,
            user_id=request.user_id,
            target=target,
            mode=request.mode,
            risk_score=verdicts.risk_score,
            verdict=verdicts.verdict,
            confidence=verdicts.confidence,
            reasons=tuple(result.findings.reasons),
            recommended_actions=verdicts.recommended_actions,
            extracted=tuple(result.extracted),
            feed_hits=tuple(result.findings.feed_hits),
            limits=tuple(dict.fromkeys(result.findings.limits)),
            metadata=dict(request.metadata or {}),
            analyzed_at=utcnow(),
            duration_us=int((time.perf_counter() - started) * 1e6),
            asset_matches=tuple(matches),
        )
        await self._repository.add(analysis)
        await self._publisher.completed(analysis)  # stored first: the event names a readable analysis
        return analysis

    async def _look_up(self, result: EngineResult, org_id: str) -> None:
        """Ask the feeds about the target and what it holds; each hit is a reason."""
        seen: set[tuple[str, str]] = set()
        for lookup in result.lookups[:MAX_LOOKUPS]:
            if (lookup.kind, lookup.value) in seen:
                continue
            seen.add((lookup.kind, lookup.value))
            hits = await self._feeds.lookup(lookup.kind, lookup.value, org_id)
            if hits:
                _feed_reason(result.findings, lookup, hits)

    async def _match_assets(self, result: EngineResult, org_id: str) -> list[AssetMatch]:
        """The organisation's assets each host the analysis names; each match is a reason of weight 0."""
        matches: dict[str, AssetMatch] = {}
        seen: set[tuple[str, str]] = set()
        for lookup in result.lookups[:MAX_LOOKUPS]:
            if (lookup.kind, lookup.value) in seen:
                continue
            seen.add((lookup.kind, lookup.value))
            for match in await self._assets.assets_for(org_id, lookup.kind, lookup.value):
                if match.asset_id in matches:
                    continue
                matches[match.asset_id] = replace(match, matched=lookup.value, role=lookup.role)
                _asset_reason(result.findings, lookup, match)
        return list(matches.values())

    async def get(self, org_id: str, analysis_id: str) -> Analysis:
        found = await self._repository.get(org_id, analysis_id)
        if found is None:
            raise AnalysisNotFound("no such analysis", analysis_id=analysis_id)
        return found

    async def list(
        self, org_id: str, page_size: int, page_token: str, verdict: Verdict | None = None
    ) -> AnalysisPage:
        size = DEFAULT_PAGE if page_size <= 0 else min(page_size, MAX_PAGE)
        return await self._repository.list(org_id, size, page_token, verdict)


def _feed_reason(found: Findings, lookup: Lookup, hits: list[FeedHit]) -> None:
    found.feed_hits.extend(hits)
    sources = ", ".join(sorted({hit.source for hit in hits}))
    threats = ", ".join(sorted({hit.threat for hit in hits if hit.threat}))
    evidence = f"{lookup.value} ({lookup.role}) listed by {sources}" + (f": {threats}" if threats else "")
    found.add(f"feed_hit:{lookup.kind}", lookup.weight, evidence)


def _asset_reason(found: Findings, lookup: Lookup, match: AssetMatch) -> None:
    ports = ", ".join(str(port) for port in match.open_ports) or "none open"
    scan = f", last scan {match.last_scan_id}" if match.last_scan_id else ""
    found.add(
        "seen_in_your_assets",
        ASSET_WEIGHT,
        f"{lookup.value} ({lookup.role}) is your asset {match.asset_id} ({match.host}; ports {ports}{scan})",
    )
