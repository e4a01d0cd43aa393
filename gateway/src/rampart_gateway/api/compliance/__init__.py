"""Compliance: posture per framework, controls (manual status, evidence files), posture history."""

from starlette.routing import BaseRoute

from rampart_gateway.api.compliance.operations import OPERATIONS

ROUTES: tuple[BaseRoute, ...] = ()

__all__ = ["OPERATIONS", "ROUTES"]
