"""Change monitoring and alerts: the ScanChanged a settled scan makes, the change kinds, an
organisation's preferences and the scan.changed webhook they filter; report.completed / failed."""

from __future__ import annotations

import json
from collections.abc import Sequence
from datetime import UTC, datetime, timedelta
from typing import Any, cast

import pytest
from nats.aio.msg import Msg
from timeline_fakes import FakeTimelineRepository
from webhook_fakes import FakeWebhookRepository, settings

from rampart.common.v1 import common_pb2
from rampart.lib.errors import InvalidArgument
from rampart.lib.events import Outcome, PoisonMessage
from rampart.lib.ids import to_timestamp
from rampart.report.v1 import report_pb2
from rampart.scan.v1 import scan_pb2
from rampart_report.alerts.changes import changes_of, scan_changed
from rampart_report.alerts.detector import ChangeDetector
from rampart_report.alerts.model import DEFAULTS, AlertPreferences, RuleChange, alerting
from rampart_report.alerts.repository import MemoryPreferencesRepository
from rampart_report.alerts.service import AlertService
from rampart_report.bootstrap import Parts, assemble

NOW = datetime(2026, 11, 21, 12, 0, tzinfo=UTC)
OWNER = common_pb2.Owner(org_id="org_a", user_id="usr_a")
URL = "http://127.0.0.1:9/hook"


def message(data: bytes) -> Msg:
    return Msg(_client=cast(Any, None), data=data)


def port(number: int, product: str = "", version: str = "") -> scan_pb2.PortChange:
    service = scan_pb2.ServiceInfo(name="ssh" if product else "", product=product, version=version)
    return scan_pb2.PortChange(host="127.0.0.1", port=number, protocol="tcp", service=service)


def expiring(number: int, days: int) -> scan_pb2.CertificateExpiry:
    cert = scan_pb2.Certificate(subject=f"CN=svc{number}", not_after=to_timestamp(NOW + timedelta(days=days)))
    return scan_pb2.CertificateExpiry(
        host="127.0.0.1", port=number, protocol="tcp", certificate=cert, days_left=days
    )


def notice(fingerprint: str, severity: str, status: str = "open") -> scan_pb2.FindingNotice:
    return scan_pb2.FindingNotice(
        fingerprint=fingerprint,
        severity=severity,
        status=status,
        host="127.0.0.1",
        port=22,
        title=fingerprint,
    )


def diff_of(**lists: Any) -> scan_pb2.ScanDiff:
    diff = scan_pb2.ScanDiff(**lists)
    diff.scan.scan_id, diff.against.scan_id = "scan_new", "scan_old"
    diff.scan.targets.append("127.0.0.1")
    return diff


def settled(scan_id: str = "scan_new", status: int = scan_pb2.SCAN_STATUS_COMPLETED) -> scan_pb2.ScanEvent:
    return scan_pb2.ScanEvent(
        event_id=f"{scan_id}.final.findings_settled",
        scan_id=scan_id,
        owner=OWNER,
        type=scan_pb2.SCAN_EVENT_TYPE_FINDINGS_SETTLED,
        status=cast(Any, status),
    )


def a_change() -> report_pb2.ScanChanged:
    diff = diff_of(
        ports_opened=[port(8443)],
        ports_closed=[port(21)],
        services_changed=[
            scan_pb2.ServiceChange(
                host="127.0.0.1",
                port=22,
                protocol="tcp",
                before=scan_pb2.ServiceInfo(name="ssh", product="OpenSSH", version="8.9"),
                after=scan_pb2.ServiceInfo(name="ssh", product="OpenSSH", version="9.6"),
            )
        ],
        certificates_expiring=[expiring(993, 60), expiring(443, 10)],
    )
    before = [notice("fp_gone", "medium"), notice("fp_kept", "high")]
    after = [
        notice("fp_kept", "high"),
        notice("fp_low", "low"),
        notice("fp_crit", "critical"),
        notice("fp_back", "high", status="reopened"),
    ]
    changed = scan_changed(settled(), diff, before, after, NOW)
    assert changed is not None
    return changed


# ---- the event and its classification --------------------------------------------------------


def test_a_scan_change_counts_every_kind_and_orders_findings_and_certificates_by_urgency() -> None:
    changed = a_change()
    assert (changed.event_id, changed.scan_id, changed.against_scan_id) == (
        "chg.scan_new",
        "scan_new",
        "scan_old",
    )
    assert not changed.diff.HasField("scan")
    assert not changed.diff.HasField("against")
    counts = dict(changed.counts)
    assert counts["ports_opened"] == counts["ports_closed"] == counts["services_changed"] == 1
    assert counts["certificates_expiring"] == 2
    assert (counts["findings_new"], counts["findings_reopened"], counts["findings_resolved"]) == (2, 1, 1)
    assert [n.fingerprint for n in changed.findings_new] == ["fp_crit", "fp_low"]  # most severe first
    assert [c.port for c in changed.diff.certificates_expiring] == [443, 993]  # soonest first
    kinds = [c.kind for c in changes_of(changed)]
    assert sorted(set(kinds)) == sorted(
        {
            "new_open_port",
            "port_closed",
            "service_changed",
            "certificate_expiring",
            "new_finding",
            "finding_reopened",
            "finding_resolved",
        }
    )


def test_lists_hold_their_first_items_and_counts_all_of_them() -> None:
    diff = diff_of(ports_opened=[port(n) for n in range(1000, 1100)])
    findings = [notice(f"fp_{n}", "low") for n in range(70)] + [notice("fp_c", "critical")]
    changed = scan_changed(settled(), diff, [], findings, NOW, cap=50)
    assert changed is not None
    assert (len(changed.diff.ports_opened), changed.counts["ports_opened"]) == (50, 100)
    assert (len(changed.findings_new), changed.counts["findings_new"]) == (50, 71)
    assert changed.findings_new[0].fingerprint == "fp_c"  # a critical is never cut for lows


def test_nothing_changed_makes_no_event() -> None:
    same = [notice("fp_kept", "high")]
    assert scan_changed(settled(), diff_of(), same, same, NOW) is None


# ---- preferences -----------------------------------------------------------------------------


def test_the_defaults_alert_on_new_ports_and_high_findings_not_on_closed_ports() -> None:
    selected = alerting(AlertPreferences("org_a"), changes_of(a_change()))
    assert list(selected) == [
        "new_open_port",
        "service_changed",
        "certificate_expiring",
        "new_finding",
        "finding_reopened",
    ]
    assert [i["port"] for i in selected["new_open_port"]] == [8443]
    assert [i["fingerprint"] for i in selected["new_finding"]] == ["fp_crit"]  # the low is below "high"
    assert [i["port"] for i in selected["certificate_expiring"]] == [443]  # 10 days: within 30; 60: not


def test_preferences_select_kinds_severities_and_days() -> None:
    preferences = AlertPreferences("org_a").updated(
        {
            "new_open_port": RuleChange(enabled=False),
            "port_closed": RuleChange(enabled=True),
            "new_finding": RuleChange(min_severity="low"),
            "certificate_expiring": RuleChange(days=90),
            "service_changed": RuleChange(enabled=False),
            "finding_reopened": RuleChange(enabled=False),
        },
        replace_all=False,
        now=1.0,
    )
    selected = alerting(preferences, changes_of(a_change()))
    assert list(selected) == ["port_closed", "certificate_expiring", "new_finding"]
    assert [i["fingerprint"] for i in selected["new_finding"]] == ["fp_crit", "fp_low"]
    assert [i["port"] for i in selected["certificate_expiring"]] == [443, 993]


def test_patch_keeps_what_is_not_given_and_put_resets_it_to_the_defaults() -> None:
    first = AlertPreferences("org_a").updated({"port_closed": RuleChange(enabled=True)}, False, 1.0)
    patched = first.updated({"new_finding": RuleChange(min_severity="critical")}, False, 2.0)
    assert patched.rule("port_closed").enabled is True
    assert patched.rule("new_finding") == DEFAULTS["new_finding"].__class__(True, "critical", 0)
    put = patched.updated({"host_up": RuleChange(enabled=True)}, True, 3.0)
    assert put.rule("port_closed") == DEFAULTS["port_closed"]
    assert put.rule("new_finding") == DEFAULTS["new_finding"]
    assert put.rule("host_up").enabled is True
    assert put.updated_at == 3.0


@pytest.mark.parametrize(
    ("kind", "change", "field"),
    [
        ("open_port_found", RuleChange(enabled=True), "rules.open_port_found"),
        ("new_finding", RuleChange(min_severity="severe"), "new_finding.min_severity"),
        ("new_open_port", RuleChange(min_severity="high"), "new_open_port.min_severity"),
        ("certificate_expiring", RuleChange(days=0), "certificate_expiring.days"),
        ("certificate_expiring", RuleChange(days=91), "certificate_expiring.days"),
        ("host_down", RuleChange(days=5), "host_down.days"),
    ],
)
def test_an_invalid_rule_is_refused_naming_its_field(kind: str, change: RuleChange, field: str) -> None:
    with pytest.raises(InvalidArgument) as refused:
        AlertPreferences("org_a").updated({kind: change}, False, 1.0)
    assert refused.value.details.get("field") == field


# ---- the detector ------------------------------------------------------------------------------


class Diffs:
    def __init__(self, diff: scan_pb2.ScanDiff | None) -> None:
        self.diff_reply = diff
        self.asked: list[tuple[str, int]] = []

    async def diff(self, owner: common_pb2.Owner, scan_id: str, days: int) -> scan_pb2.ScanDiff | None:
        self.asked.append((scan_id, days))
        return self.diff_reply


class Findings:
    def __init__(self, by_scan: dict[str, list[scan_pb2.FindingNotice]]) -> None:
        self.by_scan = by_scan

    async def findings(self, owner: common_pb2.Owner, scan_id: str) -> Sequence[scan_pb2.FindingNotice]:
        return self.by_scan.get(scan_id, [])


class Outbox:
    """Idempotent per event id, like rampart.lib.outbox.Outbox.add."""

    def __init__(self) -> None:
        self.events: dict[str, tuple[str, bytes]] = {}

    async def __call__(self, subject: str, data: bytes, event_id: str) -> None:
        self.events.setdefault(event_id, (subject, data))


async def test_a_settled_completed_scan_that_changed_is_published_once_on_its_subject() -> None:
    outbox = Outbox()
    diffs = Diffs(diff_of(ports_opened=[port(8443)]))
    detector = ChangeDetector(diffs, Findings({}), outbox, clock=lambda: NOW)
    event = settled()
    assert await detector(message(event.SerializeToString())) is Outcome.APPLIED
    assert await detector(message(event.SerializeToString())) is Outcome.APPLIED  # redelivered
    ((subject, data),) = outbox.events.values()
    assert subject == "change.scan.scan_new"
    published = report_pb2.ScanChanged.FromString(data)
    assert [p.port for p in published.diff.ports_opened] == [8443]
    assert diffs.asked[0] == ("scan_new", 90)


async def test_findings_alone_make_a_change() -> None:
    outbox = Outbox()
    findings = Findings({"scan_old": [], "scan_new": [notice("fp_new", "critical")]})
    await ChangeDetector(Diffs(diff_of()), findings, outbox, clock=lambda: NOW).settled(settled())
    ((_, data),) = outbox.events.values()
    assert [n.fingerprint for n in report_pb2.ScanChanged.FromString(data).findings_new] == ["fp_new"]


@pytest.mark.parametrize(
    ("event", "diff"),
    [
        (settled(status=scan_pb2.SCAN_STATUS_FAILED), diff_of(ports_opened=[port(1)])),  # not completed
        (settled(), None),  # the first scan of these targets: nothing to compare
        (settled(), diff_of()),  # nothing changed
    ],
)
async def test_no_event_without_a_completed_scan_a_baseline_and_a_change(
    event: scan_pb2.ScanEvent, diff: scan_pb2.ScanDiff | None
) -> None:
    outbox = Outbox()
    await ChangeDetector(Diffs(diff), Findings({}), outbox, clock=lambda: NOW).settled(event)
    assert outbox.events == {}


# ---- through report-service's entry points -------------------------------------------------------


@pytest.fixture
def parts() -> Parts:
    return assemble(
        FakeTimelineRepository(),
        FakeWebhookRepository(),
        settings(),
        alert_repository=MemoryPreferencesRepository(),
    )


def bodies(parts: Parts) -> list[dict[str, Any]]:
    repository = cast(FakeWebhookRepository, parts.webhooks._repository)
    return [json.loads(d.body) for d in repository.deliveries.values()]


async def test_scan_changed_reaches_only_the_organisations_subscribed_webhooks_once(parts: Parts) -> None:
    await parts.webhooks.create("org_a", "usr_a", URL, ("scan.changed",))
    await parts.webhooks.create("org_a", "usr_a", URL, ("scan.completed",))
    await parts.webhooks.create("org_b", "usr_b", URL, ("scan.changed",))
    data = a_change().SerializeToString()
    assert await parts.on_scan_changed(message(data)) is Outcome.APPLIED
    assert await parts.on_scan_changed(message(data)) is Outcome.DUPLICATE
    (body,) = bodies(parts)
    assert (body["type"], body["id"], body["organisation"]) == ("scan.changed", "chg.scan_new", "org_a")
    assert sorted(body["data"]["alerts"]) == sorted(body["data"]["changes"])
    assert [p["port"] for p in body["data"]["changes"]["new_open_port"]] == [8443]
    assert "port_closed" not in body["data"]["changes"]  # off by default
    assert body["data"]["counts"]["ports_closed"] == 1  # the counts show everything


async def test_preferences_set_through_the_rpc_switch_the_webhook_off(parts: Parts) -> None:
    await parts.webhooks.create("org_a", "usr_a", URL, ("scan.changed",))
    request = report_pb2.UpdateAlertPreferencesRequest(owner=OWNER, replace=True)
    for kind in DEFAULTS:
        request.rules[kind].enabled = False
    reply = await parts.servicer.UpdateAlertPreferences(request, cast(Any, None))
    assert not any(rule.enabled for rule in reply.rules.values())
    assert reply.HasField("updated_at")
    assert await parts.on_scan_changed(message(a_change().SerializeToString())) is Outcome.APPLIED
    assert bodies(parts) == []
    shown = await parts.servicer.GetAlertPreferences(
        report_pb2.GetAlertPreferencesRequest(owner=common_pb2.Owner(org_id="org_b")), cast(Any, None)
    )
    assert shown.rules["new_open_port"].enabled
    assert not shown.HasField("updated_at")
    assert shown.rules["new_finding"].min_severity == "high"
    assert shown.rules["certificate_expiring"].days == 30


async def test_an_undecodable_scan_changed_is_poison(parts: Parts) -> None:
    with pytest.raises(PoisonMessage):
        await parts.on_scan_changed(message(b"\xff\xff"))


def report_event(kind: str, status: int) -> bytes:
    report = report_pb2.Report(
        report_id="rep_1",
        owner=common_pb2.Owner(org_id="org_a"),
        title="Weekly",
        report_type=report_pb2.REPORT_TYPE_TECHNICAL,
        format=report_pb2.FORMAT_PDF,
        status=cast(Any, status),
        scan_ids=["scan_1"],
        size_bytes=1234,
        sha256="ab" * 32,
        filename="rep_1.pdf",
        content_type="application/pdf",
        error="renderer crashed" if kind == "failed" else "",
    )
    return report_pb2.ReportEvent(
        event_id=f"rep_1.{kind}", type=f"report.{kind}", report=report
    ).SerializeToString()


async def test_report_completed_and_failed_become_webhooks_and_progress_does_not(parts: Parts) -> None:
    await parts.webhooks.create("org_a", "usr_a", URL, ("report.completed", "report.failed"))
    await parts.on_report_event(message(report_event("progress", report_pb2.REPORT_STATUS_RUNNING)))
    assert bodies(parts) == []
    await parts.on_report_event(message(report_event("completed", report_pb2.REPORT_STATUS_READY)))
    await parts.on_report_event(message(report_event("failed", report_pb2.REPORT_STATUS_FAILED)))
    by_type = {b["type"]: b for b in bodies(parts)}
    done = by_type["report.completed"]["data"]
    assert (done["report_id"], done["format"], done["report_type"]) == ("rep_1", "pdf", "technical")
    assert done["download"] == "/api/v1/reports/rep_1/download"
    assert done["sha256"] == "ab" * 32
    assert by_type["report.failed"]["data"]["error"] == "renderer crashed"


async def test_the_preferences_service_answers_defaults_until_changed() -> None:
    service = AlertService(MemoryPreferencesRepository(), clock=lambda: 5.0)
    assert (await service.preferences("org_a")).updated_at == 0.0
    await service.update("org_a", {"host_up": RuleChange(enabled=True)}, replace_all=False)
    assert (await service.preferences("org_a")).rule("host_up").enabled
    assert not (await service.preferences("org_b")).rule("host_up").enabled
