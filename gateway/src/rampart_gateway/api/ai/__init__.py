"""The assistant: ask, explain, report (offline engine in ai-service; SSE or whole JSON)."""

from rampart_gateway.api.ai.operations import OPERATIONS, ROUTES

__all__ = ["OPERATIONS", "ROUTES"]
