"""Who may scan what: allow- and deny-lists of networks and domains, per organisation.

Deny always wins. Link-local, cloud-metadata, multicast, broadcast and unspecified addresses
and the platform's own addresses are denied unless an operator lists them under
``allow_special``. A fresh install allows loopback only. Names are resolved and every
address they resolve to must be allowed; the engine then connects to those checked
addresses only, so a name cannot re-resolve elsewhere between the check and the scan.

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

from rampart.lib.errors import PermissionDenied
from rampart_scan.engine.targets import Host, IPAddress

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
    """A target outside the caller's authorised scope; the message says why."""

    public_code = "TARGET_NOT_ALLOWED"


def _networks(values: list[str]) -> tuple[Network, ...]:
    return tuple(ipaddress.ip_network(value, strict=False) for value in values)


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
            raise TargetNotAllowed(f"{name} is in a denied domain", field="target", value=name)

    def check(self, host: Host, platform: tuple[Network, ...] = ()) -> None:
        address, shown = host.address, host.label
        reason = self._refusal(address, host.name, platform)
        if reason:
            raise TargetNotAllowed(f"{shown} ({address}) {reason}", field="target", value=shown)

    def _refusal(self, address: IPAddress, name: str, platform: tuple[Network, ...]) -> str:
        if any(address in network for network in self.deny):
            return "is in a denied network"
        if name and _domain_in(name, self.deny_domains):
            return "is in a denied domain"
        special = any(address in network for network in SPECIAL)
        own = any(address in network for network in platform)
        if (special or own) and not any(address in network for network in self.allow_special):
            return (
                "is a platform address"
                if own
                else "is a link-local, metadata, multicast or broadcast address"
            )
        if any(address in network for network in self.allow):
            return ""
        if name and _domain_in(name, self.allow_domains):
            return ""
        return "is outside the authorised scope"


@dataclass
class ScopeBook:
    """The scope file, re-read when its modification time changes."""

    path: Path | None
    platform: tuple[Network, ...] = ()
    _mtime: int = -1
    _default: Scope = field(default_factory=lambda: Scope(allow=_networks(list(DEFAULT_ALLOW))))
    _orgs: dict[str, Scope] = field(default_factory=dict)

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
        self._default = Scope.from_dict(data.get("default", {"allow": list(DEFAULT_ALLOW)}))
        self._orgs = {org: Scope.from_dict(rules) for org, rules in data.get("orgs", {}).items()}
        self._mtime = mtime
