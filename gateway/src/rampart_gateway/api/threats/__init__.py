"""Threat analysis: analyse an indicator, list and read the organisation's analyses."""

from starlette.routing import BaseRoute

from rampart_gateway.api.threats.operations import OPERATIONS

ROUTES: tuple[BaseRoute, ...] = ()

__all__ = ["OPERATIONS", "ROUTES"]
