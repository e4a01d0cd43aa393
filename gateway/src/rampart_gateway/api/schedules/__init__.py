"""Schedules: scans started on a cron expression or an interval (scan-service runs them)."""

from rampart_gateway.api.schedules.operations import OPERATIONS, ROUTES

__all__ = ["OPERATIONS", "ROUTES"]
