"""Webhooks: signed event deliveries to an organisation's endpoints (report-service delivers them)."""

from starlette.routing import BaseRoute

from rampart_gateway.api.webhooks.operations import OPERATIONS

ROUTES: tuple[BaseRoute, ...] = ()

__all__ = ["OPERATIONS", "ROUTES"]
