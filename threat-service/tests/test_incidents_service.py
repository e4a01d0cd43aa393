"""Incident use cases on in-memory fakes: lifecycle, triage, SLA, timeline, tenancy, listing."""

from __future__ import annotations

from datetime import timedelta
from pathlib import Path

import pytest
from incidents_fakes import T0, FakeAssets, FakeIncidents, RecordingNotifier, service

from rampart.lib.catalogue import subjects
from rampart.lib.errors import InvalidArgument
from rampart_threat.incidents.domain import (
    Change,
    Incident,
    IncidentNotFound,
    Severity,
    Status,
    TransitionNotAllowed,
)
from rampart_threat.incidents.service import Actor, IncidentDraft, IncidentListing, IncidentUpdate
from rampart_threat.incidents.triage import SlaTable

ALICE = Actor("org_a", "usr_alice")
MALLORY = Actor("org_b", "usr_mallory")


def draft(**fields: object) -> IncidentDraft:
    values: dict[str, object] = {"title": "Web server beaconing", "severity": Severity.HIGH}
    values.update(fields)
    return IncidentDraft(**values)  # type: ignore[arg-type]


def incident() -> Incident:
    return Incident.open("inc_1", "org_a", "usr_a", T0, title="t", severity=Severity.LOW)


# ---- the lifecycle (domain) ------------------------------------------------------------------


def test_an_incident_moves_through_every_status_in_order_and_each_move_is_in_the_timeline() -> None:
    found = incident()
    steps = [found.triage_done, found.investigate, found.contain, found.resolve, found.close]
    for n, step in enumerate(steps, start=1):
        step("usr_a", T0 + timedelta(minutes=n), "")
    assert found.status is Status.CLOSED
    moves = [(e.before, e.after) for e in found.timeline if e.kind is Change.STATUS]
    assert moves == [
        ("open", "triaged"),
        ("triaged", "investigating"),
        ("investigating", "contained"),
        ("contained", "resolved"),
        ("resolved", "closed"),
    ]
    assert found.updated_at == T0 + timedelta(minutes=5)


@pytest.mark.parametrize(
    ("path", "target"),
    [
        ((), Status.CONTAINED),  # open cannot skip to contained
        ((), Status.CLOSED),
        ((Status.TRIAGED,), Status.OPEN),  # no way back to open
        (
            (Status.TRIAGED, Status.INVESTIGATING, Status.CONTAINED, Status.RESOLVED, Status.CLOSED),
            Status.INVESTIGATING,
        ),
    ],
)
def test_a_step_outside_the_lifecycle_is_refused_and_names_the_allowed_ones(
    path: tuple[Status, ...], target: Status
) -> None:
    found = incident()
    for status in path:
        found.move_to(status, "usr_a", T0)
    before = list(found.timeline)
    with pytest.raises(TransitionNotAllowed) as refused:
        found.move_to(target, "usr_a", T0)
    assert refused.value.public_code == "INCIDENT_TRANSITION_NOT_ALLOWED"
    assert refused.value.details["requested"] == target.value
    assert found.timeline == before
    assert found.status is (path[-1] if path else Status.OPEN)


def test_a_resolved_incident_can_be_reopened_but_a_closed_one_cannot_change() -> None:
    found = incident()
    for status in (Status.TRIAGED, Status.INVESTIGATING, Status.CONTAINED, Status.RESOLVED):
        found.move_to(status, "usr_a", T0)
    found.move_to(Status.INVESTIGATING, "usr_a", T0, "the beacon came back")
    assert found.status is Status.INVESTIGATING
    assert found.timeline[-1].reason == "the beacon came back"
    for status in (Status.CONTAINED, Status.RESOLVED, Status.CLOSED):
        found.move_to(status, "usr_a", T0)
    with pytest.raises(TransitionNotAllowed):
        found.change_severity(Severity.CRITICAL, "usr_a", T0, "worse")
    with pytest.raises(TransitionNotAllowed):
        found.assign("usr_b", "usr_a", T0)


def test_a_severity_change_needs_a_reason_and_records_both_values() -> None:
    found = incident()
    with pytest.raises(InvalidArgument):
        found.change_severity(Severity.HIGH, "usr_a", T0, "  ")
    found.change_severity(Severity.HIGH, "usr_a", T0, "data left the network")
    entry = found.timeline[-1]
    assert (entry.kind, entry.before, entry.after, entry.reason) == (
        Change.SEVERITY,
        "low",
        "high",
        "data left the network",
    )


# ---- creation and triage ----------------------------------------------------------------------


async def test_triage_links_known_hosts_by_address_id_and_network_and_lists_the_rest() -> None:
    assets = FakeAssets()
    web = assets.seen("org_a", "10.0.0.5", 22, 3389, scan_id="scan_w")
    db = assets.seen("org_a", "10.0.1.7", 5432)
    assets.seen("org_b", "10.0.0.9", 80)  # another organisation's host, inside the same network
    systems = ("10.0.0.5", db, "10.0.0.0/24", "192.0.2.44", "mail.example.com")
    created = await service(assets=assets).create(ALICE, draft(affected_systems=systems))
    linked = {link.asset.host: link.matched for link in created.triage.assets}
    assert linked == {"10.0.0.5": "10.0.0.5", "10.0.1.7": db}
    assert created.triage.unresolved == ("192.0.2.44", "mail.example.com")
    assert created.triage.assets[0].asset.asset_id == web
    assert created.triage.assets[0].asset.open_ports == (22, 3389)
    steps = "\n".join(created.triage.next_steps)
    assert "3389/RDP on 10.0.0.5" in steps
    assert "Isolate or restrict network access to 10.0.0.5, 10.0.1.7" in steps
    assert "Scan 192.0.2.44" in steps
    assert any("192.0.2.44, mail.example.com" in note for note in created.triage.notes)


async def test_priority_and_due_date_come_from_the_sla_table_and_a_custom_table_replaces_it(
    tmp_path: Path,
) -> None:
    created = await service().create(ALICE, draft(severity=Severity.CRITICAL))
    assert created.triage.priority == "P1"
    assert created.triage.due_at == created.created_at + timedelta(hours=24)
    table = tmp_path / "sla.toml"
    table.write_text(
        "".join(
            f'[{s}]\npriority = "X-{s}"\nresolve_hours = {h}\n'
            for s, h in [("critical", 2), ("high", 8), ("medium", 40), ("low", 400)]
        )
    )
    custom = await service(sla=SlaTable.load(table)).create(ALICE, draft(severity=Severity.HIGH))
    assert (custom.triage.priority, custom.triage.due_at) == (
        "X-high",
        custom.created_at + timedelta(hours=8),
    )


def test_an_sla_table_missing_a_severity_is_refused(tmp_path: Path) -> None:
    table = tmp_path / "sla.toml"
    table.write_text('[critical]\npriority = "P1"\nresolve_hours = 1\n')
    with pytest.raises(ValueError, match="lacks low, medium, high"):
        SlaTable.load(table)


async def test_related_findings_are_kept_as_given_and_triage_says_they_are_not_verified() -> None:
    created = await service().create(ALICE, draft(related_findings=("vuln_1",), related_analyses=("ana_9",)))
    assert created.related_findings == ("vuln_1",)
    assert any("issue 11" in note for note in created.triage.notes)
    assert any("ana_9" in step for step in created.triage.next_steps)


async def test_creation_is_announced_once_with_the_creation_and_triage_in_the_timeline() -> None:
    notifier = RecordingNotifier()
    created = await service(notifier=notifier).create(ALICE, draft())
    assert [n.subject for n in notifier.notices] == [subjects.INCIDENT_CREATED]
    assert [e.kind for e in created.timeline] == [Change.CREATED, Change.TRIAGED]
    assert notifier.notices[0].incident.incident_id == created.incident_id


@pytest.mark.parametrize(
    "bad",
    [
        {"title": "  "},
        {"title": "x" * 201},
        {"affected_systems": ("",)},
        {"affected_systems": tuple(f"10.0.0.{i}" for i in range(101))},
    ],
)
async def test_an_invalid_draft_is_refused(bad: dict[str, object]) -> None:
    incidents = FakeIncidents()
    with pytest.raises(InvalidArgument):
        await service(incidents=incidents).create(ALICE, draft(**bad))
    assert incidents.rows == {}


# ---- changes ------------------------------------------------------------------------------------


async def test_an_update_applies_each_change_as_a_timeline_entry_and_announces_them_once() -> None:
    notifier = RecordingNotifier()
    incidents = service(notifier=notifier)
    created = await incidents.create(ALICE, draft())
    changed = await incidents.update(
        ALICE,
        created.incident_id,
        IncidentUpdate(status=Status.TRIAGED, severity=Severity.CRITICAL, assignee="usr_bob", reason="exfil"),
    )
    kinds = [e.kind for e in changed.timeline[2:]]
    assert kinds == [Change.SEVERITY, Change.ASSIGNEE, Change.STATUS]
    assert (changed.status, changed.severity, changed.assignee) == (
        Status.TRIAGED,
        Severity.CRITICAL,
        "usr_bob",
    )
    assert [n.subject for n in notifier.notices] == [subjects.INCIDENT_CREATED, subjects.INCIDENT_UPDATED]
    assert len(notifier.notices[1].changes) == 3
    again = await incidents.get(ALICE, created.incident_id)
    assert again.timeline == changed.timeline


async def test_an_update_that_changes_nothing_writes_and_announces_nothing() -> None:
    notifier = RecordingNotifier()
    incidents = service(notifier=notifier)
    created = await incidents.create(ALICE, draft())
    await incidents.update(
        ALICE, created.incident_id, IncidentUpdate(status=Status.OPEN, severity=Severity.HIGH)
    )
    assert len(notifier.notices) == 1


async def test_an_illegal_transition_changes_nothing_not_even_the_other_fields_asked() -> None:
    notifier = RecordingNotifier()
    incidents = service(notifier=notifier)
    created = await incidents.create(ALICE, draft())
    with pytest.raises(TransitionNotAllowed):
        await incidents.update(
            ALICE,
            created.incident_id,
            IncidentUpdate(status=Status.CLOSED, severity=Severity.LOW, reason="r"),
        )
    stored = await incidents.get(ALICE, created.incident_id)
    assert (stored.status, stored.severity, len(stored.timeline)) == (Status.OPEN, Severity.HIGH, 2)
    assert len(notifier.notices) == 1


async def test_a_change_lost_to_a_concurrent_writer_is_reapplied_on_the_fresh_copy() -> None:
    store = FakeIncidents()
    incidents = service(incidents=store)
    created = await incidents.create(ALICE, draft())
    store.lose_next_saves = 2
    changed = await incidents.comment(ALICE, created.incident_id, "looking at the proxy logs")
    assert [c.body for c in changed.comments] == ["looking at the proxy logs"]
    assert changed.timeline[-1].kind is Change.COMMENT


async def test_another_organisation_finds_nothing_and_changes_nothing() -> None:
    incidents = service()
    created = await incidents.create(ALICE, draft())
    with pytest.raises(IncidentNotFound):
        await incidents.get(MALLORY, created.incident_id)
    with pytest.raises(IncidentNotFound):
        await incidents.update(MALLORY, created.incident_id, IncidentUpdate(status=Status.TRIAGED))
    with pytest.raises(IncidentNotFound):
        await incidents.comment(MALLORY, created.incident_id, "hi")
    assert (await incidents.list(MALLORY, IncidentListing())).total == 0


# ---- listing ------------------------------------------------------------------------------------


async def test_listing_filters_by_status_severity_and_creation_time() -> None:
    incidents = service()
    made = [
        await incidents.create(ALICE, draft(title=f"i{n}", severity=severity))
        for n, severity in enumerate([Severity.LOW, Severity.HIGH, Severity.HIGH, Severity.CRITICAL])
    ]
    await incidents.update(ALICE, made[1].incident_id, IncidentUpdate(status=Status.TRIAGED))
    high = await incidents.list(ALICE, IncidentListing(severity=Severity.HIGH))
    assert [i.title for i in high.incidents] == ["i2", "i1"]
    assert high.total == 2
    triaged = await incidents.list(ALICE, IncidentListing(status=Status.TRIAGED))
    assert [i.title for i in triaged.incidents] == ["i1"]
    window = IncidentListing(created_after=made[1].created_at, created_before=made[3].created_at)
    assert [i.title for i in (await incidents.list(ALICE, window)).incidents] == ["i2", "i1"]


@pytest.mark.parametrize("sort", ["created_at", "severity"])
async def test_pages_walk_every_incident_once_in_order(sort: str) -> None:
    incidents = service()
    severities = [
        Severity.LOW,
        Severity.CRITICAL,
        Severity.MEDIUM,
        Severity.HIGH,
        Severity.LOW,
        Severity.HIGH,
        Severity.MEDIUM,
    ]
    for n, severity in enumerate(severities):
        await incidents.create(ALICE, draft(title=f"i{n}", severity=severity))
    seen: list[Incident] = []
    token = ""
    for _ in range(10):
        page = await incidents.list(ALICE, IncidentListing(sort=sort, page_size=3, page_token=token))
        seen += page.incidents
        assert page.total == 7
        token = page.next_page_token
        if not token:
            break
    assert sorted(i.title for i in seen) == sorted(f"i{n}" for n in range(7))
    if sort == "severity":
        ranks = [i.severity.rank for i in seen]
        assert ranks == sorted(ranks, reverse=True)
    else:
        assert [i.title for i in seen] == [f"i{n}" for n in reversed(range(7))]


@pytest.mark.parametrize("token", ["not-base64!", "eyJrIjogLTF9", "eyJvIjogInRlbiJ9"])
async def test_a_forged_page_token_is_refused(token: str) -> None:
    with pytest.raises(InvalidArgument):
        await service().list(ALICE, IncidentListing(page_token=token))
