"""Alerts: which changes between two scans of the same targets send the scan.changed webhook
(report-service keeps the preferences; docs/alerts.md)."""

from starlette.routing import BaseRoute

from rampart_gateway.api.alerts.operations import OPERATIONS

ROUTES: tuple[BaseRoute, ...] = ()

__all__ = ["OPERATIONS", "ROUTES"]
