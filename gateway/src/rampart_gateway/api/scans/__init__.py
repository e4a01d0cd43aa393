"""Scans: create, list, read, cancel, results, export, and live SSE / WebSocket streams."""

from rampart_gateway.api.scans.operations import OPERATIONS, ROUTES

__all__ = ["OPERATIONS", "ROUTES"]
