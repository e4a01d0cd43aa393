"""Which scans a report covers, decided when it is asked for (so refusals answer the POST).

- A report over assets and a period: the completed scans of the caller created in the period whose
  targets cover the assets (newest first, at most MAX_SCANS); none is a 422 naming ``assets``.
- A diff report: scan-service checks the pair (both the caller's, in its world, completed) and picks
  the baseline when one scan is given; the report records both ids. Over assets and a period, the
  newest scan is compared with the oldest scan of the same targets in the period (with its own
  previous scan when it is the only one).
"""

from __future__ import annotations

from dataclasses import replace
from datetime import datetime

from rampart.lib.errors import InvalidArgument
from rampart_report.exports.model import ScanInfo
from rampart_report.exports.ports import Requester
from rampart_report.reports.model import MAX_SCANS, ReportRequest, ReportType, Tenant
from rampart_report.reports.ports import DiffSource, ScanFinder
from rampart_report.reports.scope import Scope, covers, resolved_period


def requester_of(tenant: Tenant) -> Requester:
    return Requester(tenant.org_id, tenant.user_id, live=not tenant.sandbox)


def _newest_first(scans: tuple[ScanInfo, ...]) -> list[ScanInfo]:
    def at(scan: ScanInfo) -> float:
        moment = scan.completed_at or scan.created_at
        return moment.timestamp() if moment else 0.0

    return sorted(scans, key=at, reverse=True)


class ScanPicker:
    """``Picker`` over scan-service (and threat-service for asset ids)."""

    def __init__(self, finder: ScanFinder, diffs: DiffSource) -> None:
        self._finder = finder
        self._diffs = diffs

    async def prepare(self, tenant: Tenant, request: ReportRequest, now: datetime) -> ReportRequest:
        requester = requester_of(tenant)
        if request.scope is not None:
            request = await self._scoped(requester, request, now)
        if request.report_type is ReportType.DIFF:
            ids = request.scan_ids
            results = await self._diffs.diff(requester, ids[0], ids[1] if len(ids) > 1 else "")
            request = replace(request, scan_ids=(results.scan.scan_id, results.against.scan_id))
        return request

    async def _scoped(self, requester: Requester, request: ReportRequest, now: datetime) -> ReportRequest:
        assert request.scope is not None
        scope = resolved_period(request.scope, now)
        hosts = [a for a in scope.assets if a not in scope.asset_ids]
        for asset_id in scope.asset_ids:
            hosts.extend(await self._finder.asset_hosts(requester, asset_id))
        scope = replace(scope, hosts=tuple(dict.fromkeys(hosts)))
        assert scope.period_from is not None
        assert scope.period_to is not None
        listed = await self._finder.completed(requester, scope.period_from, scope.period_to)
        found = [
            s for s in _newest_first(listed) if s.sandbox != requester.live and covers(s.targets, scope.hosts)
        ]
        if not found:
            raise InvalidArgument(
                "no completed scan of these assets in the period", field="assets", period=_period(scope)
            )
        ids: tuple[str, ...]
        if request.report_type is ReportType.DIFF:
            newest = found[0]
            same = [s for s in found[1:] if sorted(s.targets) == sorted(newest.targets)]
            ids = (newest.scan_id, same[-1].scan_id) if same else (newest.scan_id,)
        else:
            ids = tuple(s.scan_id for s in found[:MAX_SCANS])
        return replace(request, scan_ids=ids, scope=scope)


def _period(scope: Scope) -> dict[str, str]:
    return {
        "from": scope.period_from.isoformat() if scope.period_from else "",
        "to": scope.period_to.isoformat() if scope.period_to else "",
    }
