"""The scope policy: what an organisation may scan. Deny wins; special addresses need opt-in."""

from __future__ import annotations

import ipaddress
import json
import os
from pathlib import Path

import pytest

from rampart_scan.engine.targets import Host
from rampart_scan.scope import Scope, ScopeBook, TargetNotAllowed


def host(address: str, name: str = "") -> Host:
    return Host(ipaddress.ip_address(address), name)


def allowed(scope: Scope, address: str, name: str = "", platform: tuple = ()) -> bool:
    try:
        scope.check(host(address, name), platform)
    except TargetNotAllowed:
        return False
    return True


def test_a_fresh_install_allows_loopback_only(tmp_path: Path) -> None:
    default = ScopeBook(None).for_org("anyone")
    assert allowed(default, "127.0.0.1")
    assert allowed(default, "::1")
    for outside in ("10.0.0.1", "192.168.1.1", "8.8.8.8", "2001:db8::1"):
        assert not allowed(default, outside)


def test_deny_wins_over_allow() -> None:
    scope = Scope.from_dict({"allow": ["10.20.0.0/16"], "deny": ["10.20.5.0/24"]})
    assert allowed(scope, "10.20.4.9")
    assert not allowed(scope, "10.20.5.9")


@pytest.mark.parametrize(
    "address",
    [
        "169.254.169.254",
        "169.254.1.1",
        "fe80::1",
        "fd00:ec2::254",
        "100.100.100.200",
        "224.0.0.251",
        "ff02::1",
        "255.255.255.255",
        "0.0.0.0",
    ],
)
def test_special_addresses_are_refused_even_inside_an_allowed_network(address: str) -> None:
    everything = Scope.from_dict({"allow": ["0.0.0.0/0", "::/0"]})
    with pytest.raises(TargetNotAllowed, match="link-local, metadata, multicast or broadcast"):
        everything.check(host(address))
    opted_in = Scope.from_dict({"allow": ["0.0.0.0/0", "::/0"], "allow_special": [address]})
    assert allowed(opted_in, address)


def test_platform_addresses_are_refused_unless_allowed_specially() -> None:
    platform = (ipaddress.ip_network("10.96.0.0/12"),)
    scope = Scope.from_dict({"allow": ["10.0.0.0/8"]})
    assert not allowed(scope, "10.96.0.10", platform=platform)
    assert allowed(scope, "10.1.0.10", platform=platform)
    assert allowed(
        Scope.from_dict({"allow": ["10.0.0.0/8"], "allow_special": ["10.96.0.10/32"]}),
        "10.96.0.10",
        platform=platform,
    )


def test_domains_allow_by_name_and_denied_domains_refuse_before_resolving() -> None:
    scope = Scope.from_dict({"allow_domains": ["example.com"], "deny_domains": ["prod.example.com"]})
    assert allowed(scope, "203.0.113.7", "www.example.com")
    assert not allowed(scope, "203.0.113.7", "api.prod.example.com")
    assert not allowed(scope, "203.0.113.7", "example.org")
    assert not allowed(scope, "203.0.113.7")  # the address alone is not in scope
    with pytest.raises(TargetNotAllowed):
        scope.check_name("db.prod.example.com")
    assert not allowed(
        scope, "169.254.169.254", "meta.example.com"
    )  # a name cannot smuggle in a special address


def test_the_scope_file_is_reread_when_it_changes(tmp_path: Path) -> None:
    path = tmp_path / "scope.json"
    path.write_text(json.dumps({"default": {"allow": ["127.0.0.0/8"]}, "orgs": {}}))
    book = ScopeBook(path)
    assert not allowed(book.for_org("org_a"), "10.1.2.3")
    path.write_text(
        json.dumps({"default": {"allow": ["127.0.0.0/8"]}, "orgs": {"org_a": {"allow": ["10.0.0.0/8"]}}})
    )
    stat = path.stat()
    os.utime(path, ns=(stat.st_atime_ns, stat.st_mtime_ns + 1_000_000))
    assert allowed(book.for_org("org_a"), "10.1.2.3")
    assert not allowed(book.for_org("org_a"), "127.0.0.1")  # an organisation's entry replaces the default
    assert allowed(book.for_org("org_b"), "127.0.0.1")
