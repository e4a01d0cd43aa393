"""Incident rules, the asset inventory fed by scan events, and the incident RPCs, on fakes."""

from __future__ import annotations

from datetime import UTC, datetime
from pathlib import Path
from typing import Any, cast

import pytest
from incidents_fakes import FakeAssets, FakeIncidents, RecordingNotifier
from nats.aio.msg import Msg

from rampart.common.v1 import common_pb2
from rampart.lib.events import Outcome, PoisonMessage
from rampart.threat.v1 import threat_pb2
from rampart_threat.findings.model import Finding, FindingType
from rampart_threat.findings.model import Severity as FindingSeverity
from rampart_threat.incidents.domain import IncidentNotFound, Severity, TransitionNotAllowed
from rampart_threat.incidents.mappers import analysis_completed
from rampart_threat.incidents.rules import Rule, Verdict, load_rules
from rampart_threat.incidents.service import Actor, IncidentListing
from rampart_threat.incidents.wiring import IncidentParts, incident_parts

RULE = Rule("malicious-ip", "org_a", "analysis.malicious", enabled=True, severity=Severity.CRITICAL)


def parts(rules: list[Rule], assets: FakeAssets | None = None) -> tuple[IncidentParts, FakeIncidents]:
    store = FakeIncidents()
    return incident_parts(store, assets or FakeAssets(), RecordingNotifier(), rules=rules), store


def verdict(**fields: Any) -> Verdict:
    values: dict[str, Any] = {
        "event_id": "evt_1",
        "org_id": "org_a",
        "user_id": "usr_a",
        "analysis_id": "ana_1",
        "indicator": "203.0.113.9",
        "kind": "ip",
        "classification": "malicious",
        "risk_score": 90,
    }
    values.update(fields)
    return Verdict(**values)


def msg(data: bytes, subject: str = "threat.analyses.completed") -> Msg:
    return Msg(_client=cast(Any, None), subject=subject, data=data)


# ---- rules ---------------------------------------------------------------------------------------


def test_the_shipped_rules_file_enables_nothing() -> None:
    assert load_rules() == []


async def test_without_an_enabled_rule_a_malicious_verdict_opens_nothing() -> None:
    built, store = parts([Rule("r", "org_a", "analysis.malicious", enabled=False)])
    assert await built.rules.on_analysis(verdict()) is Outcome.APPLIED
    assert store.rows == {}


async def test_an_enabled_rule_opens_one_incident_per_verdict_even_when_the_event_comes_twice() -> None:
    built, store = parts([RULE])
    assert await built.rules.on_analysis(verdict()) is Outcome.APPLIED
    assert await built.rules.on_analysis(verdict()) is Outcome.DUPLICATE
    [(incident, _)] = store.rows.values()
    assert incident.rule_id == "malicious-ip"
    assert incident.severity is Severity.CRITICAL
    assert incident.affected_systems == ("203.0.113.9",)
    assert incident.related_analyses == ("ana_1",)
    assert incident.timeline[0].actor == "rampart"


@pytest.mark.parametrize(
    "fields",
    [{"classification": "suspicious"}, {"org_id": "org_b"}, {"risk_score": 40}],
)
async def test_a_rule_fires_only_on_its_organisation_malicious_verdicts_above_its_score(
    fields: dict[str, Any],
) -> None:
    built, store = parts([Rule("r", "org_a", "analysis.malicious", enabled=True, min_risk_score=50)])
    await built.rules.on_analysis(verdict(**fields))
    assert store.rows == {}


async def test_seen_in_scans_limits_a_rule_to_indicators_the_organisation_scanned() -> None:
    assets = FakeAssets()
    assets.seen("org_a", "198.51.100.7", 443)
    rule = Rule("r", "org_a", "analysis.malicious", enabled=True, seen_in_scans=True)
    built, store = parts([rule], assets)
    await built.rules.on_analysis(verdict(event_id="e1", indicator="203.0.113.9"))
    assert store.rows == {}
    await built.rules.on_analysis(verdict(event_id="e2", indicator="198.51.100.7"))
    [(incident, _)] = store.rows.values()
    assert [link.asset.host for link in incident.triage.assets] == ["198.51.100.7"]


def kev_finding(**fields: Any) -> Finding:
    values: dict[str, Any] = {
        "org_id": "org_a",
        "scan_id": "scn_1",
        "live": True,
        "host": "10.0.0.5",
        "port": 80,
        "protocol": "tcp",
        "type": FindingType.VULNERABLE_SERVICE,
        "subject": "CVE-2021-41773",
        "title": "Apache HTTP Server path traversal",
        "severity": FindingSeverity.CRITICAL,
        "detected_at": datetime(2026, 11, 21, tzinfo=UTC),
        "kev": True,
        "service": "http Apache httpd 2.4.49",
    }
    values.update(fields)
    return Finding(**values)


async def test_a_kev_rule_opens_one_incident_per_vulnerability_record_linked_to_it_and_its_host(
    tmp_path: Path,
) -> None:
    rules = tmp_path / "rules.toml"
    rules.write_text(
        '[[rule]]\nrule_id = "kev"\norg_id = "org_a"\ntrigger = "vulnerability.kev"\nenabled = true\n'
        'severity = "critical"\n'
    )
    assets = FakeAssets()
    built, store = parts(load_rules(rules), assets)
    await built.rules.on_kev_finding(kev_finding(), "vuln_abc")
    await built.rules.on_kev_finding(kev_finding(), "vuln_abc")  # a redelivery: nothing more
    await built.rules.on_kev_finding(kev_finding(scan_id="scn_2"), "vuln_abc")  # seen again later
    [(incident, _)] = store.rows.values()
    assert (incident.rule_id, incident.severity, incident.user_id) == ("kev", Severity.CRITICAL, "rampart")
    assert incident.title == "Known exploited CVE-2021-41773 on 10.0.0.5:80/tcp"
    assert (incident.affected_systems, incident.related_findings) == (("10.0.0.5",), ("vuln_abc",))
    await built.rules.on_kev_finding(kev_finding(port=8080, scan_id="scn_2"), "vuln_def")
    assert len(store.rows) == 2  # another record: another incident


async def test_a_kev_rule_ignores_other_organisations_sandbox_findings_and_findings_not_in_kev() -> None:
    built, store = parts([Rule("kev", "org_a", "vulnerability.kev", enabled=True)])
    await built.rules.on_kev_finding(kev_finding(org_id="org_b"), "vuln_1")
    await built.rules.on_kev_finding(kev_finding(live=False), "vuln_2")
    await built.rules.on_kev_finding(kev_finding(kev=False), "vuln_3")
    disabled, untouched = parts([Rule("kev", "org_a", "vulnerability.kev", enabled=False)])
    await disabled.rules.on_kev_finding(kev_finding(), "vuln_4")
    assert (store.rows, untouched.rows) == ({}, {})


def test_an_operator_rules_file_is_read(tmp_path: Path) -> None:
    rules = tmp_path / "rules.toml"
    rules.write_text(
        '[[rule]]\nrule_id = "m"\norg_id = "org_a"\ntrigger = "analysis.malicious"\nenabled = true\n'
        'severity = "medium"\nmin_risk_score = 70\n'
    )
    assert load_rules(rules) == [
        Rule("m", "org_a", "analysis.malicious", enabled=True, severity=Severity.MEDIUM, min_risk_score=70)
    ]


async def test_the_analysis_event_reaches_the_rules_and_garbage_is_poison() -> None:
    built, store = parts([RULE])
    event = analysis_completed(verdict()).SerializeToString()
    assert await built.on_analysis(msg(event)) is Outcome.APPLIED
    assert len(store.rows) == 1
    with pytest.raises(PoisonMessage):
        await built.on_analysis(msg(b"\xff\xff not protobuf"))
    with pytest.raises(PoisonMessage):
        await built.on_analysis(msg(threat_pb2.AnalysisCompleted(analysis_id="a").SerializeToString()))


# ---- the RPCs ----------------------------------------------------------------------------------------


def owner(org: str = "org_a") -> common_pb2.Owner:
    return common_pb2.Owner(org_id=org, user_id="usr_a")


async def test_the_incident_rpcs_create_read_change_and_list_through_the_servicer() -> None:
    from rampart_threat.api import ThreatServicer
    from rampart_threat.service import ActivityService

    built, _ = parts([])
    servicer = ThreatServicer(
        ActivityService(cast(Any, None)),
        cast(Any, None),
        built.service,
        cast(Any, None),
        cast(Any, None),
        cast(Any, None),
        cast(Any, None),
    )
    context = cast(Any, None)
    created = await servicer.CreateIncident(
        threat_pb2.CreateIncidentRequest(
            owner=owner(), title="t", severity=common_pb2.SEVERITY_HIGH, affected_systems=["10.0.0.1"]
        ),
        context,
    )
    assert created.status == threat_pb2.INCIDENT_STATUS_OPEN
    assert created.triage.priority == "P2"
    assert list(created.triage.unresolved_systems) == ["10.0.0.1"]
    changed = await servicer.UpdateIncident(
        threat_pb2.UpdateIncidentRequest(
            owner=owner(),
            incident_id=created.incident_id,
            status=threat_pb2.INCIDENT_STATUS_TRIAGED,
            assignee="",
        ),
        context,
    )
    assert changed.status == threat_pb2.INCIDENT_STATUS_TRIAGED
    assert changed.timeline[-1].kind == threat_pb2.INCIDENT_CHANGE_KIND_STATUS
    commented = await servicer.AddIncidentComment(
        threat_pb2.AddIncidentCommentRequest(owner=owner(), incident_id=created.incident_id, body="on it"),
        context,
    )
    assert [c.body for c in commented.comments] == ["on it"]
    listed = await servicer.ListIncidents(
        threat_pb2.ListIncidentsRequest(owner=owner(), status=threat_pb2.INCIDENT_STATUS_TRIAGED), context
    )
    assert [i.incident_id for i in listed.incidents] == [created.incident_id]
    assert listed.total == 1
    with pytest.raises(IncidentNotFound):
        await servicer.GetIncident(
            threat_pb2.GetIncidentRequest(owner=owner("org_b"), incident_id=created.incident_id), context
        )
    with pytest.raises(TransitionNotAllowed):
        await servicer.UpdateIncident(
            threat_pb2.UpdateIncidentRequest(
                owner=owner(), incident_id=created.incident_id, status=threat_pb2.INCIDENT_STATUS_CLOSED
            ),
            context,
        )
    assert (await built.service.list(Actor("org_a", ""), IncidentListing())).total == 1
