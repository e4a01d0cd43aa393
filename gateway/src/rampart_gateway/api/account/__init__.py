"""Accounts: registration, tokens, stream tickets, API keys, profile and stats."""

from starlette.routing import BaseRoute

from rampart_gateway.api.account.operations import OPERATIONS

ROUTES: tuple[BaseRoute, ...] = ()

__all__ = ["OPERATIONS", "ROUTES"]
