"""System: health, metrics and the API documentation pages."""

from rampart_gateway.api.system.operations import OPERATIONS, ROUTES

__all__ = ["OPERATIONS", "ROUTES"]
