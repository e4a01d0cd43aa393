"""Between protobuf and the alert domain."""

from __future__ import annotations

from collections.abc import Mapping
from datetime import UTC, datetime

from google.protobuf.message import DecodeError
from nats.aio.msg import Msg

from rampart.common.v1 import common_pb2
from rampart.lib.events import PoisonMessage
from rampart.lib.ids import from_timestamp, utcnow
from rampart.report.v1 import report_pb2
from rampart_report.alerts.changes import changes_of
from rampart_report.alerts.model import DAYS_KINDS, FINDING_KINDS, AlertPreferences, RuleChange
from rampart_report.alerts.service import ScanChange


def decode_scan_changed(message: Msg) -> report_pb2.ScanChanged:
    event = report_pb2.ScanChanged()
    try:
        event.ParseFromString(message.data)
    except DecodeError as error:
        raise PoisonMessage(f"undecodable ScanChanged: {error}") from error
    if not event.event_id or not event.owner.org_id or not event.scan_id:
        raise PoisonMessage("ScanChanged lacks event_id, owner or scan_id")
    return event


def scan_change(event: report_pb2.ScanChanged) -> ScanChange:
    return ScanChange(
        event_id=event.event_id,
        org_id=event.owner.org_id,
        scan_id=event.scan_id,
        against_scan_id=event.against_scan_id,
        targets=tuple(event.targets),
        counts=dict(event.counts),
        changes=tuple(changes_of(event)),
        created_at=from_timestamp(event.occurred_at) or utcnow(),
        expiring_within_days=event.expiring_within_days,
    )


def rule_changes(rules: Mapping[str, report_pb2.AlertRule]) -> dict[str, RuleChange]:
    return {
        kind: RuleChange(
            enabled=rule.enabled if rule.HasField("enabled") else None,
            min_severity=rule.min_severity if rule.HasField("min_severity") else None,
            days=rule.days if rule.HasField("days") else None,
        )
        for kind, rule in rules.items()
    }


def preferences_message(
    preferences: AlertPreferences, owner: common_pb2.Owner
) -> report_pb2.AlertPreferences:
    message = report_pb2.AlertPreferences(owner=common_pb2.Owner(org_id=owner.org_id))
    for kind, rule in preferences.rules.items():
        out = message.rules[kind]
        out.enabled = rule.enabled
        if kind in FINDING_KINDS:
            out.min_severity = rule.min_severity
        if kind in DAYS_KINDS:
            out.days = rule.days
    if preferences.updated_at:
        message.updated_at.FromDatetime(datetime.fromtimestamp(preferences.updated_at, UTC))
    return message
