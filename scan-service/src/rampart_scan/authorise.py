"""Which hosts a scan may reach: targets resolved and every address checked against the scope."""

from __future__ import annotations

from rampart_scan.engine.exclusions import Exclusions
from rampart_scan.engine.targets import (
    Host,
    Resolver,
    TargetUnresolvable,
    expand_targets,
    parse_target,
    system_resolver,
)
from rampart_scan.scope import ScopeBook, refuse
from rampart_scan.settings import ScanSettings


class TargetAuthoriser:
    """Resolves targets and checks them against the organisation's scope (docs/security/scope.md)."""

    def __init__(
        self, scopes: ScopeBook, settings: ScanSettings, resolver: Resolver = system_resolver
    ) -> None:
        self._scopes = scopes
        self._settings = settings
        self._resolver = resolver

    async def authorised_hosts(self, org_id: str, targets: list[str], max_hosts: int = 0) -> list[Host]:
        """Resolve every target and check every address against the organisation's scope."""
        cap = self.host_cap(max_hosts)
        scope = self._scopes.for_org(org_id)
        for target in targets:
            parsed = parse_target(target, cap)
            if isinstance(parsed, str):
                scope.check_name(parsed)
        try:
            hosts = await expand_targets(targets, cap, self._resolver, self._settings.resolve_budget())
        except TargetUnresolvable as unresolved:  # answered like a refusal: DNS is not an oracle
            raise refuse(unresolved.names[0], "does not resolve", unresolved=unresolved.names) from None
        for host in hosts:
            scope.check(host, self._settings.platform_networks())
        return hosts

    def excluded(self, hosts: list[Host], ports: list[int]) -> list[str]:
        """The platform's own endpoints among these hosts and ports: left out of the scan."""
        exclusions = Exclusions(self._settings.platform_endpoint_set())
        return exclusions.listed((h.address for h in hosts), ports)

    def sandbox_host_count(self, targets: list[str], max_hosts: int = 0) -> int:
        """Hosts a sandbox scan will show, from the targets' syntax alone (resolving sends a packet)."""
        cap = self.host_cap(max_hosts)
        return sum(len(p) if isinstance(p, list) else 1 for p in (parse_target(t, cap) for t in targets))

    def host_cap(self, max_hosts: int) -> int:
        """A scan's host cap (0: the platform's), never above the platform's."""
        platform = self._settings.max_hosts_per_scan
        return min(max_hosts, platform) if max_hosts > 0 else platform
