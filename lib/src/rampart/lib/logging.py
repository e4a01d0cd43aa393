"""structlog configuration: JSON lines to stdout, request id carried in contextvars."""

from __future__ import annotations

import logging
import sys

import structlog

from rampart.lib.ids import new_request_id


def configure_logging(service: str, level: str = "info") -> None:
    """Configure structlog and the stdlib root logger for one process."""
    numeric = logging.getLevelNamesMapping().get(level.upper(), logging.INFO)
    renderer: structlog.typing.Processor = (
        structlog.dev.ConsoleRenderer() if sys.stdout.isatty() else structlog.processors.JSONRenderer()
    )
    structlog.configure(
        processors=[
            structlog.contextvars.merge_contextvars,
            structlog.processors.add_log_level,
            structlog.processors.StackInfoRenderer(),
            structlog.processors.format_exc_info,
            structlog.processors.TimeStamper(fmt="iso", utc=True),
            renderer,
        ],
        wrapper_class=structlog.make_filtering_bound_logger(numeric),
        logger_factory=structlog.PrintLoggerFactory(sys.stdout),
        cache_logger_on_first_use=True,
    )
    structlog.contextvars.clear_contextvars()
    structlog.contextvars.bind_contextvars(service=service)
    logging.basicConfig(level=max(numeric, logging.WARNING), stream=sys.stderr)


def bind_request(request_id: str) -> None:
    """Start a fresh log context for one request or one consumed event."""
    service = structlog.contextvars.get_contextvars().get("service")
    structlog.contextvars.clear_contextvars()
    if service:
        structlog.contextvars.bind_contextvars(service=service)
    structlog.contextvars.bind_contextvars(request_id=request_id)


def current_request_id() -> str:
    """The request id bound for the request or event being handled, or a new one."""
    value = structlog.contextvars.get_contextvars().get("request_id")
    return str(value) if value else new_request_id()
