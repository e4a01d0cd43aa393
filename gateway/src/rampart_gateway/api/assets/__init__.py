"""Assets: every host the organisation's scans have seen, listed and read."""

from rampart_gateway.api.assets.operations import OPERATIONS, ROUTES

__all__ = ["OPERATIONS", "ROUTES"]
