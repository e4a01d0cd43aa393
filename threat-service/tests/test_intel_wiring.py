"""Intel wired into the analysis (lists and imported feeds change verdicts per organisation) and
the analysis announcing each stored result to the incident rules (fakes, no I/O but tmp files)."""

from __future__ import annotations

from pathlib import Path
from typing import Any, cast

import pytest

from rampart.common.v1 import common_pb2
from rampart.lib.errors import InvalidArgument
from rampart.threat.v1 import threat_pb2
from rampart_threat.analysis.events import RecordingPublisher, completed_verdict
from rampart_threat.analysis.repository import InMemoryAnalysisRepository
from rampart_threat.analysis.service import AnalysisService, AnalyzeRequest
from rampart_threat.feeds.domain import FeedPathRefused
from rampart_threat.incidents import mappers as incident_mappers
from rampart_threat.intel.service import ORG_DENY, IntelService, ListEntryNotFound
from rampart_threat.intel.store import InMemoryIntelStore

pytestmark = pytest.mark.timeout(60)


def wired(feeds_dir: Path | None = None) -> tuple[IntelService, AnalysisService, RecordingPublisher]:
    intel = IntelService(InMemoryIntelStore(), feeds_dir=feeds_dir)
    publisher = RecordingPublisher()
    return intel, AnalysisService(InMemoryAnalysisRepository(), intel, publisher=publisher), publisher


async def test_a_deny_listed_domain_gets_an_org_deny_list_hit_and_a_higher_score_for_that_org_only() -> None:
    intel, analysis, _ = wired()
    before = await analysis.analyze(AnalyzeRequest("org_a", "u", "cdn-update.example"))
    await intel.add_entry("org_a", "deny", "cdn-update.example", "dropper host")
    after = await analysis.analyze(AnalyzeRequest("org_a", "u", "www.cdn-update.example"))
    assert [(h.source, h.value) for h in after.feed_hits] == [(ORG_DENY, "cdn-update.example")]
    assert after.risk_score > before.risk_score
    other = await analysis.analyze(AnalyzeRequest("org_b", "u", "www.cdn-update.example"))
    assert other.feed_hits == ()


async def test_an_import_under_feeds_dir_is_looked_up_and_an_allow_list_hides_it(tmp_path: Path) -> None:
    (tmp_path / "c2.txt").write_text("# c2\n192.0.2.77\n")
    intel, analysis, _ = wired(tmp_path)
    result = await intel.import_under_feeds_dir("plain", "c2.txt", "c2-list")
    assert (result.state.source, result.state.indicators) == ("c2-list", 1)
    hit = await analysis.analyze(AnalyzeRequest("org_a", "u", "192.0.2.77"))
    assert [h.source for h in hit.feed_hits] == ["c2-list"]
    allowed = await intel.add_entry("org_a", "allow", "192.0.2.0/24")
    assert (await analysis.analyze(AnalyzeRequest("org_a", "u", "192.0.2.77"))).feed_hits == ()
    await intel.remove_entry("org_a", allowed.entry_id)
    assert len((await analysis.analyze(AnalyzeRequest("org_a", "u", "192.0.2.77"))).feed_hits) == 1


async def test_imports_outside_feeds_dir_directories_and_unknown_kinds_are_refused(tmp_path: Path) -> None:
    (tmp_path / "in").mkdir()
    (tmp_path / "secret.txt").write_text("192.0.2.1\n")
    intel, _, _ = wired(tmp_path / "in")
    with pytest.raises(FeedPathRefused, match="outside FEEDS_DIR"):
        await intel.import_under_feeds_dir("plain", "../secret.txt")
    with pytest.raises(FeedPathRefused, match="not a directory"):
        await intel.import_under_feeds_dir("plain", ".")
    with pytest.raises(InvalidArgument, match="kind must be one of"):
        await intel.import_under_feeds_dir("csv", "x.txt")
    with pytest.raises(FeedPathRefused, match="FEEDS_DIR is not set"):
        await wired(None)[0].import_under_feeds_dir("plain", "x.txt")


async def test_list_entries_are_validated_and_another_organisations_entry_is_not_found() -> None:
    intel, _, _ = wired()
    with pytest.raises(InvalidArgument):
        await intel.add_entry("org_a", "deny", "not a host!")
    with pytest.raises(InvalidArgument):
        await intel.add_entry("org_a", "maybe", "a.example")
    entry = await intel.add_entry("org_a", "deny", "A.Example", "first")
    again = await intel.add_entry("org_a", "deny", "a.example.", "second")
    assert again.entry_id == entry.entry_id
    assert [(e.value, e.note) for e in await intel.entries("org_a")] == [("a.example", "second")]
    with pytest.raises(ListEntryNotFound):
        await intel.remove_entry("org_b", entry.entry_id)
    assert await intel.entries("org_b") == []


async def test_every_stored_analysis_is_announced_as_the_incident_rules_read_it() -> None:
    _, analysis, publisher = wired()
    found = await analysis.analyze(
        AnalyzeRequest("org_a", "usr_1", "http://paypa1-secure-login.xyz/webscr/verify.php")
    )
    assert publisher.published == [found]
    event = incident_mappers.analysis_completed(completed_verdict(found))
    read = incident_mappers.verdict(threat_pb2.AnalysisCompleted.FromString(event.SerializeToString()))
    assert (read.org_id, read.user_id, read.analysis_id, read.kind) == (
        "org_a",
        "usr_1",
        found.analysis_id,
        "url",
    )
    assert (read.classification, read.risk_score) == ("malicious", found.risk_score)
    assert read.event_id == completed_verdict(found).event_id  # a retried publish is a duplicate


async def test_the_list_rpcs_answer_for_the_callers_organisation() -> None:
    from rampart_threat.api import ThreatServicer

    intel, analysis, _ = wired()
    servicer = ThreatServicer(
        cast(Any, None), analysis, cast(Any, None), cast(Any, None), intel, cast(Any, None), cast(Any, None)
    )
    context = cast(Any, None)
    owner = common_pb2.Owner(org_id="org_a")
    added = await servicer.AddIndicatorListEntry(
        threat_pb2.AddIndicatorListEntryRequest(owner=owner, list="deny", value="203.0.113.9", note="n"),
        context,
    )
    assert (added.kind, added.value, added.list) == ("ipv4", "203.0.113.9", "deny")
    assert added.HasField("created_at")
    listed = await servicer.ListIndicatorListEntries(
        threat_pb2.ListIndicatorListEntriesRequest(owner=owner, list="allow"), context
    )
    assert list(listed.entries) == []
    removed = await servicer.RemoveIndicatorListEntry(
        threat_pb2.RemoveIndicatorListEntryRequest(owner=owner, entry_id=added.entry_id), context
    )
    assert removed.entry_id == added.entry_id
    status = await servicer.GetIntelStatus(threat_pb2.GetIntelStatusRequest(owner=owner), context)
    assert (list(status.sources), status.stale_after_days) == ([], 2.0)
