"""The vulnerability RPCs through ``assemble``: listing filters, sort and paging, the full record, triage."""

from __future__ import annotations

from datetime import timedelta
from typing import Any, cast

import pytest
from findings_fakes import T0, Clock, FakeVulnerabilities, Scan
from incidents_fakes import FakeAssets, FakeIncidents, RecordingNotifier
from test_activity_service import FakeActivityRepository
from test_knowledge_service import catalog

from rampart.common.v1 import common_pb2
from rampart.lib.errors import InvalidArgument
from rampart.threat.v1 import threat_pb2
from rampart_threat.bootstrap import assemble
from rampart_threat.findings.domain import TransitionNotAllowed, VulnerabilityNotFound
from rampart_threat.findings.model import FindingType, Severity
from rampart_threat.findings.service import VulnerabilityLedger
from rampart_threat.incidents.wiring import incident_parts

LIVE = common_pb2.Owner(org_id="org_a", user_id="usr_a", mode=common_pb2.KEY_MODE_LIVE)
TEST = common_pb2.Owner(org_id="org_a", user_id="usr_a", mode=common_pb2.KEY_MODE_TEST)
CONTEXT = cast(Any, None)
S = threat_pb2


async def servicer() -> tuple[Any, VulnerabilityLedger, dict[str, str]]:
    """The servicer on an in-memory ledger holding five records of org_a (live) and one of each elsewhere."""
    knowledge, _, feeds = catalog()
    ledger = VulnerabilityLedger(FakeVulnerabilities(), Clock(T0 + timedelta(days=10)))
    parts = assemble(
        FakeActivityRepository(),
        incidents=incident_parts(FakeIncidents(), FakeAssets(), RecordingNotifier()),
        knowledge=feeds,
        catalog=knowledge,
        vulnerabilities=ledger,
    )
    first, second = Scan("scan_1"), Scan("scan_2", T0 + timedelta(days=1))
    ids = {}
    findings = {
        "regresshion": first.finding(
            "CVE-2024-6387", severity=Severity.HIGH, cvss_score=8.1, priority="attend", cwe=("CWE-362",)
        ),
        "agent": first.finding("CVE-2023-38408", severity=Severity.CRITICAL, priority="act", kev=True),
        "tls": first.finding("RMP-TLS-003", port=443, severity=Severity.MEDIUM, priority="track"),
        "redis": second.finding(
            "RMP-AUTH-001", host="10.0.0.6", port=6379, severity=Severity.HIGH, type=FindingType.EXPOSURE
        ),
        "apache": second.finding("CVE-2021-41773", port=80, severity=Severity.HIGH, cvss_score=7.5),
    }
    for name, finding in findings.items():
        ids[name] = (await ledger.record(finding)).vulnerability_id
    ids["test"] = (await ledger.record(Scan("scan_t", live=False).finding())).vulnerability_id
    ids["other"] = (await ledger.record(Scan("scan_o", org_id="org_b").finding())).vulnerability_id
    return parts.servicer, ledger, ids


def listing(owner: common_pb2.Owner = LIVE, **fields: Any) -> S.ListVulnerabilitiesRequest:
    page = fields.pop("page", common_pb2.PageRequest())
    return S.ListVulnerabilitiesRequest(owner=owner, page=page, **fields)


async def listed(api: Any, ids: dict[str, str], **fields: Any) -> list[str]:
    names = {value: key for key, value in ids.items()}
    reply = await api.ListVulnerabilities(listing(**fields), CONTEXT)
    return [names[v.vulnerability_id] for v in reply.vulnerabilities]


async def test_the_default_listing_is_the_callers_live_records_by_priority() -> None:
    api, _, ids = await servicer()
    assert await listed(api, ids) == ["agent", "regresshion", "tls", "apache", "redis"]
    reply = await api.ListVulnerabilities(listing(TEST), CONTEXT)
    assert [v.vulnerability_id for v in reply.vulnerabilities] == [ids["test"]]
    assert reply.vulnerabilities[0].owner.mode == common_pb2.KEY_MODE_TEST


async def test_each_filter_narrows_the_listing() -> None:
    api, _, ids = await servicer()
    assert await listed(api, ids, severities=[common_pb2.SEVERITY_CRITICAL, common_pb2.SEVERITY_MEDIUM]) == [
        "agent",
        "tls",
    ]
    assert await listed(api, ids, kev=True) == ["agent"]
    assert await listed(api, ids, cve="cve-2024-6387") == ["regresshion"]
    assert await listed(api, ids, host="10.0.0.6") == ["redis"]
    assert await listed(api, ids, port=443) == ["tls"]
    assert await listed(api, ids, scan_id="scan_2") == ["apache", "redis"]
    assert await listed(api, ids, type=S.VULNERABILITY_TYPE_EXPOSURE) == ["redis"]
    assert await listed(api, ids, statuses=[S.VULNERABILITY_STATUS_RESOLVED]) == []
    after = common_pb2.TimeRange()
    after.after.FromDatetime(T0 + timedelta(hours=12))
    assert await listed(api, ids, first_seen=after) == ["apache", "redis"]
    before = common_pb2.TimeRange()
    before.before.FromDatetime(T0 + timedelta(hours=12))
    assert await listed(api, ids, first_seen=before) == ["agent", "regresshion", "tls"]


async def test_sorting_by_severity_and_first_seen_in_either_order() -> None:
    api, _, ids = await servicer()
    by_severity = common_pb2.PageRequest(sort="severity", descending=True)
    assert (await listed(api, ids, page=by_severity))[:2] == ["agent", "regresshion"]
    oldest_first = common_pb2.PageRequest(sort="first_seen", descending=False)
    assert set((await listed(api, ids, page=oldest_first))[:3]) == {"agent", "regresshion", "tls"}
    with pytest.raises(InvalidArgument):
        await api.ListVulnerabilities(listing(page=common_pb2.PageRequest(sort="title")), CONTEXT)


@pytest.mark.parametrize("sort", ["priority", "first_seen", "last_seen"])
async def test_following_the_cursor_visits_every_record_once(sort: str) -> None:
    api, _, ids = await servicer()
    seen: list[str] = []
    cursor = ""
    for _ in range(5):
        page = common_pb2.PageRequest(sort=sort, descending=True, per_page=2, cursor=cursor)
        reply = await api.ListVulnerabilities(listing(page=page), CONTEXT)
        assert reply.page.total == 5
        assert reply.page.pages == 3
        seen.extend(v.vulnerability_id for v in reply.vulnerabilities)
        cursor = reply.page.next_cursor
        if not cursor:
            break
    assert sorted(seen) == sorted(ids[name] for name in ("agent", "regresshion", "tls", "redis", "apache"))


async def test_a_cursor_from_another_sort_is_refused() -> None:
    api, _, _ = await servicer()
    first = await api.ListVulnerabilities(listing(page=common_pb2.PageRequest(per_page=2)), CONTEXT)
    other = common_pb2.PageRequest(sort="first_seen", per_page=2, cursor=first.page.next_cursor)
    with pytest.raises(InvalidArgument):
        await api.ListVulnerabilities(listing(page=other), CONTEXT)


async def test_page_numbers_page_through_with_total_and_pages() -> None:
    api, _, ids = await servicer()
    reply = await api.ListVulnerabilities(listing(page=common_pb2.PageRequest(page=3, per_page=2)), CONTEXT)
    assert (reply.page.total, reply.page.page, reply.page.pages, reply.page.next_cursor) == (5, 3, 3, "")
    assert [v.vulnerability_id for v in reply.vulnerabilities] == [ids["redis"]]


async def test_a_record_read_carries_evidence_sightings_history_and_the_cve_details() -> None:
    api, _, ids = await servicer()
    found = await api.GetVulnerability(
        S.GetVulnerabilityRequest(owner=LIVE, vulnerability_id=ids["regresshion"]), CONTEXT
    )
    assert (found.cve, found.host, found.port, found.cvss_score, list(found.cwe)) == (
        "CVE-2024-6387",
        "10.0.0.5",
        22,
        8.1,
        ["CWE-362"],
    )
    assert dict(found.evidence) == {"scan": "scan_1"}
    assert [s.scan_id for s in found.sightings] == ["scan_1"]
    assert [(h.kind, h.to_value) for h in found.history] == [(S.VULNERABILITY_CHANGE_KIND_CREATED, "open")]
    assert found.cve_details.cve_id == "CVE-2024-6387"
    assert found.cve_details.epss.score == pytest.approx(0.99506)
    rule = await api.GetVulnerability(
        S.GetVulnerabilityRequest(owner=LIVE, vulnerability_id=ids["tls"]), CONTEXT
    )
    assert rule.rule_id == "RMP-TLS-003"
    assert not rule.HasField("cve_details")


async def test_another_tenants_record_and_the_other_worlds_are_not_found() -> None:
    api, _, ids = await servicer()
    for owner, name in ((LIVE, "other"), (LIVE, "test"), (TEST, "agent")):
        with pytest.raises(VulnerabilityNotFound):
            await api.GetVulnerability(
                S.GetVulnerabilityRequest(owner=owner, vulnerability_id=ids[name]), CONTEXT
            )
        with pytest.raises(VulnerabilityNotFound):
            await api.UpdateVulnerability(
                S.UpdateVulnerabilityRequest(
                    owner=owner, vulnerability_id=ids[name], status=S.VULNERABILITY_STATUS_CONFIRMED
                ),
                CONTEXT,
            )


async def test_triage_through_the_rpc_records_status_expiry_assignee_and_refuses_bad_moves() -> None:
    api, _, ids = await servicer()
    request = S.UpdateVulnerabilityRequest(
        owner=LIVE,
        vulnerability_id=ids["tls"],
        status=S.VULNERABILITY_STATUS_ACCEPTED_RISK,
        note="internal only",
        assignee="usr_b",
    )
    request.accepted_until.FromDatetime(T0 + timedelta(days=40))
    changed = await api.UpdateVulnerability(request, CONTEXT)
    assert changed.status == S.VULNERABILITY_STATUS_ACCEPTED_RISK
    assert changed.accepted_until.ToDatetime().date().isoformat() == "2026-04-10"
    assert changed.assignee == "usr_b"
    assert [(h.kind, h.actor, h.from_value, h.to_value) for h in changed.history[1:]] == [
        (S.VULNERABILITY_CHANGE_KIND_STATUS, "usr_a", "open", "accepted_risk"),
        (S.VULNERABILITY_CHANGE_KIND_ASSIGNEE, "usr_a", "", "usr_b"),
    ]
    with pytest.raises(TransitionNotAllowed) as refused:
        await api.UpdateVulnerability(
            S.UpdateVulnerabilityRequest(
                owner=LIVE, vulnerability_id=ids["tls"], status=S.VULNERABILITY_STATUS_FALSE_POSITIVE
            ),
            CONTEXT,
        )
    assert refused.value.details["allowed"] == ["accepted_risk", "confirmed", "open", "resolved"]
