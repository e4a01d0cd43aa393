"""Incidents: create, list, read, change (status, severity, assignee) and comment."""

from rampart_gateway.api.incidents.operations import OPERATIONS, ROUTES

__all__ = ["OPERATIONS", "ROUTES"]
