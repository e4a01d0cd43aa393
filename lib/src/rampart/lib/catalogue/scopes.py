"""API key scopes: what a credential may do. ``*`` grants every scope."""

from __future__ import annotations

from collections.abc import Mapping
from dataclasses import dataclass

ALL_SCOPES = "*"


@dataclass(frozen=True)
class Scope:
    """One scope a key or token can carry."""

    name: str
    description: str


_SCOPES = (
    Scope(ALL_SCOPES, "everything the account may do"),
    Scope("scans:read", "read scans"),
    Scope("scans:write", "start and cancel scans"),
    Scope("threats:read", "read findings"),
    Scope("threats:write", "triage findings and incidents"),
    Scope("reports:read", "read reports"),
    Scope("reports:write", "create reports and webhooks"),
    Scope("ai:use", "use the assistant"),
    Scope("keys:manage", "manage API keys"),
)
SCOPES: Mapping[str, Scope] = {scope.name: scope for scope in _SCOPES}
