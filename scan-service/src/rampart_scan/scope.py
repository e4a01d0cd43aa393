"""Who may scan what: allow- and deny-lists of networks and domains, per organisation.

Deny always wins. Link-local, cloud-metadata, multicast, broadcast and unspecified addresses
and the platform's own addresses are denied unless an operator lists them under
``allow_special``. Without a scope file (or its ``default`` entry) the default scope allows
nothing, or loopback only with SCAN_DEFAULT_SCOPE=loopback (development). Names are resolved
and every address they resolve to must be allowed; the engine then connects to those checked
addresses only, so a name cannot re-resolve elsewhere between the check and the scan.

Every address is checked in all its forms (see ``engine.addresses``): ``::ffff:10.0.0.1``,
``64:ff9b::a00:1`` and ``2002:a00:1::1`` are all 10.0.0.1 as far as the lists go. A name
admitted by ``allow_domains`` may resolve only to globally routable addresses; anything else
needs an ``allow`` network. A refusal says only that the target is outside the authorised
scope (or, for a denied domain, denied); the rule and the address go to the operator's log.

The scope file (SCAN_SCOPE_FILE, JSON) is re-read when it changes::

    {"default": {"allow": ["127.0.0.0/8", "::1/128"]},
     "orgs": {"org_abc": {"allow": ["10.20.0.0/16"], "allow_domains": ["example.com"],
                          "deny": ["10.20.5.0/24"], "deny_domains": ["prod.example.com"]}}}
"""

from __future__ import annotations

import ipaddress
import json
import os
from dataclasses import dataclass, field
from pathlib import Path

import structlog

from rampart.lib.errors import PermissionDenied
from rampart_scan.engine.addresses import IPAddress, forms, is_global
from rampart_scan.engine.targets import Host

log = structlog.get_logger(__name__)

Network = ipaddress.IPv4Network | ipaddress.IPv6Network
SPECIAL = tuple(
    ipaddress.ip_network(block)
    for block in (
        "169.254.0.0/16",  # link-local, incl. 169.254.169.254 (AWS, GCP, Azure metadata)
        "fe80::/10",  # IPv6 link-local
        "fd00:ec2::254/128",  # AWS metadata over IPv6
        "100.100.100.200/32",  # Alibaba Cloud metadata
        "224.0.0.0/4",  # multicast
        "ff00::/8",  # IPv6 multicast
        "255.255.255.255/32",  # broadcast
        "0.0.0.0/8",  # "this network"
        "::/128",  # unspecified
    )
)
DEFAULT_ALLOW = ("127.0.0.0/8", "::1/128")


class TargetNotAllowed(PermissionDenied):
    """A target outside the caller's authorised scope; the message never says which rule."""

    public_code = "TARGET_NOT_ALLOWED"


def refuse(target: str, reason: str, denied: bool = False, **detail: object) -> TargetNotAllowed:
    """The public refusal names only the target; the operator's log keeps the rule and address."""
    log.info("target refused", target=target, reason=reason, **detail)
    verdict = "is denied" if denied else "is outside the authorised scope"
    return TargetNotAllowed(f"{target} {verdict}", field="target", value=target)


def _networks(values: list[str]) -> tuple[Network, ...]:
    return tuple(ipaddress.ip_network(value, strict=False) for value in values)


def _within(address: IPAddress, networks: tuple[Network, ...]) -> bool:
    return any(address in network for network in networks)


def _domain_in(name: str, domains: tuple[str, ...]) -> bool:
    name = name.lower().rstrip(".")
    return any(name == d or name.endswith("." + d) for d in domains)


@dataclass(frozen=True)
class Scope:
    """One organisation's scope."""

    allow: tuple[Network, ...] = ()
    deny: tuple[Network, ...] = ()
    allow_domains: tuple[str, ...] = ()
    deny_domains: tuple[str, ...] = ()
    allow_special: tuple[Network, ...] = ()

    @classmethod
    def from_dict(cls, data: dict[str, list[str]]) -> Scope:
        return cls(
            allow=_networks(data.get("allow", [])),
            deny=_networks(data.get("deny", [])),
            allow_domains=tuple(d.lower().rstrip(".") for d in data.get("allow_domains", [])),
            deny_domains=tuple(d.lower().rstrip(".") for d in data.get("deny_domains", [])),
            allow_special=_networks(data.get("allow_special", [])),
        )

    def check_name(self, name: str) -> None:
        """Domain rules, before resolving: a denied domain is refused whatever it resolves to."""
        if _domain_in(name, self.deny_domains):
            raise refuse(name, "in a denied domain", denied=True)

    def check(self, host: Host, platform: tuple[Network, ...] = ()) -> None:
        reason = self._refusal(host.address, host.name, platform)
        if reason:
            raise refuse(host.typed or host.label, reason, address=str(host.address))

    def _refusal(self, address: IPAddress, name: str, platform: tuple[Network, ...]) -> str:
        every = forms(address)
        if any(_within(form, self.deny) for form in every):
            return "in a denied network"
        if name and _domain_in(name, self.deny_domains):
            return "in a denied domain"
        for form in every:
            if _within(form, self.allow_special):
                continue
            if _within(form, platform):
                return "a platform address"
            if _within(form, SPECIAL):
                return "a link-local, metadata, multicast or broadcast address"
        if all(_within(form, self.allow) for form in every):
            return ""
        if name and _domain_in(name, self.allow_domains):
            if all(is_global(form) for form in every):
                return ""
            return "a non-global address behind an allowed domain"
        return "outside the allowed networks"


NOTHING = Scope()
LOOPBACK = Scope(allow=_networks(list(DEFAULT_ALLOW)))


@dataclass
class ScopeBook:
    """The scope file, re-read when its modification time changes."""

    path: Path | None
    platform: tuple[Network, ...] = ()
    fallback: Scope = NOTHING  # the default scope when the file (or its "default") is missing
    _mtime: int = -1
    _default: Scope = NOTHING
    _orgs: dict[str, Scope] = field(default_factory=dict)

    def __post_init__(self) -> None:
        self._default = self.fallback

    def for_org(self, org_id: str) -> Scope:
        self._reload()
        return self._orgs.get(org_id, self._default)

    def _reload(self) -> None:
        if self.path is None:
            return
        try:
            mtime = os.stat(self.path).st_mtime_ns
        except FileNotFoundError:
            return
        if mtime == self._mtime:
            return
        data = json.loads(self.path.read_text())
        self._default = Scope.from_dict(data["default"]) if "default" in data else self.fallback
        self._orgs = {org: Scope.from_dict(rules) for org, rules in data.get("orgs", {}).items()}
        self._mtime = mtime
