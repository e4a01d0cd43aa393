"""The scope policy: what an organisation may scan. Deny wins; special addresses need opt-in."""

from __future__ import annotations

import ipaddress
import json
import os
from pathlib import Path

import pytest

from rampart_scan.engine.targets import Host
from rampart_scan.scope import LOOPBACK, Scope, ScopeBook, TargetNotAllowed
from rampart_scan.settings import ScanSettings


def host(address: str, name: str = "") -> Host:
    return Host(ipaddress.ip_address(address), name)


def allowed(scope: Scope, address: str, name: str = "", platform: tuple = ()) -> bool:
    try:
        scope.check(host(address, name), platform)
    except TargetNotAllowed:
        return False
    return True


def test_without_a_scope_file_the_default_scope_allows_nothing(tmp_path: Path) -> None:
    """A cluster without an operator-written scope scans nothing, not even the worker itself."""
    for book in (ScopeBook(None), ScopeBook(tmp_path / "missing.json")):
        for address in ("127.0.0.1", "::1", "10.0.0.1", "8.8.8.8"):
            assert not allowed(book.for_org("anyone"), address)
    (tmp_path / "orgs-only.json").write_text(json.dumps({"orgs": {"org_a": {"allow": ["10.0.0.0/8"]}}}))
    assert not allowed(ScopeBook(tmp_path / "orgs-only.json").for_org("org_b"), "127.0.0.1")


def test_the_development_default_scope_allows_loopback_only() -> None:
    settings = ScanSettings(mongodb_url="mongodb://x", nats_url="nats://x", scan_default_scope="loopback")
    default = ScopeBook(None, fallback=settings.default_scope()).for_org("anyone")
    assert default == LOOPBACK
    assert allowed(default, "127.0.0.1")
    assert allowed(default, "::1")
    for outside in ("10.0.0.1", "192.168.1.1", "8.8.8.8", "2001:db8::1"):
        assert not allowed(default, outside)
    production = ScanSettings(mongodb_url="mongodb://x", nats_url="nats://x")
    assert not allowed(ScopeBook(None, fallback=production.default_scope()).for_org("a"), "127.0.0.1")


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
    with pytest.raises(TargetNotAllowed, match=r"is outside the authorised scope$"):
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
    assert allowed(scope, "93.184.215.14", "www.example.com")
    assert not allowed(scope, "93.184.215.14", "api.prod.example.com")
    assert not allowed(scope, "93.184.215.14", "example.org")
    assert not allowed(scope, "93.184.215.14")  # the address alone is not in scope
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


@pytest.mark.parametrize(
    "address",
    [
        "10.1.2.3",  # private
        "192.168.1.10",
        "172.16.0.1",
        "127.0.0.1",  # loopback
        "100.64.0.1",  # carrier-grade NAT
        "192.0.2.10",  # documentation
        "203.0.113.7",
        "198.18.0.1",  # benchmarking
        "240.0.0.1",  # reserved
        "::1",
        "fd12:3456::1",  # unique local
        "2001:db8::1",  # documentation
        "3fff::1",
        "2001:0:4136:e378:8000:63bf:3fff:fdd2",  # Teredo
        "64:ff9b::a00:1",  # NAT64 of 10.0.0.1
        "2002:a00:1::1",  # 6to4 of 10.0.0.1
        "::ffff:10.0.0.1",  # IPv4-mapped
        "4000::1",  # unallocated IPv6
    ],
)
def test_an_allowed_domain_admits_only_globally_routable_addresses(address: str) -> None:
    """Whoever controls an allowed domain's DNS must not reach the operator's internal network."""
    scope = Scope.from_dict({"allow_domains": ["customer.example"]})
    assert not allowed(scope, address, "www.customer.example")
    widened = Scope.from_dict({"allow_domains": ["customer.example"], "allow": ["0.0.0.0/0", "::/0"]})
    assert allowed(widened, address, "www.customer.example")  # an allow network admits it


@pytest.mark.parametrize(
    "address", ["93.184.215.14", "2606:2800:21f:cb07:6820:80da:af6b:8b2c", "64:ff9b::5db8:d70e"]
)
def test_an_allowed_domain_admits_global_addresses(address: str) -> None:
    scope = Scope.from_dict({"allow_domains": ["customer.example"]})
    assert allowed(scope, address, "www.customer.example")
    assert not allowed(scope, address, "www.other.example")


TEREDO_TO_METADATA = "2001:0:4136:e378:8000:63bf:5601:5601"  # client field = ~169.254.169.254


@pytest.mark.parametrize(
    "address",
    [
        "::ffff:169.254.169.254",  # IPv4-mapped
        "::ffff:a9fe:a9fe",
        "::169.254.169.254",  # IPv4-compatible
        "64:ff9b::a9fe:a9fe",  # NAT64 well-known prefix
        "2002:a9fe:a9fe::1",  # 6to4
        TEREDO_TO_METADATA,  # Teredo client field
    ],
)
def test_ipv6_forms_of_the_metadata_address_are_refused(address: str) -> None:
    everything = Scope.from_dict({"allow": ["::/0", "0.0.0.0/0"]})
    assert not allowed(everything, address)


@pytest.mark.parametrize(
    "address", ["::ffff:10.20.5.7", "::10.20.5.7", "64:ff9b::a14:507", "2002:a14:507::1", "2002:a14:507:9::2"]
)
def test_ipv6_forms_of_a_denied_address_are_denied(address: str) -> None:
    scope = Scope.from_dict({"allow": ["::/0", "0.0.0.0/0"], "deny": ["10.20.5.0/24"]})
    assert not allowed(scope, address)
    assert allowed(scope, "10.20.4.7")


def test_ipv6_forms_of_a_platform_address_are_refused() -> None:
    platform = (ipaddress.ip_network("10.96.0.0/12"),)
    scope = Scope.from_dict({"allow": ["::/0", "0.0.0.0/0"]})
    for address in ("::ffff:10.96.0.10", "64:ff9b::a60:a", "2002:a60:a::1"):
        assert not allowed(scope, address, platform=platform)


def test_a_mapped_address_is_the_ipv4_host_it_reaches() -> None:
    """Mapped and compatible spellings become IPv4: checks and the engine see the real host."""
    mapped = host("::ffff:7f00:1")
    assert mapped.address == ipaddress.ip_address("127.0.0.1")
    assert mapped.family.name == "AF_INET"
    assert host("::7f00:1").address == ipaddress.ip_address("127.0.0.1")
    assert host("::1").address == ipaddress.ip_address("::1")  # loopback stays IPv6
    loopback_only = Scope.from_dict({"allow": ["127.0.0.0/8"]})
    assert allowed(loopback_only, "::ffff:127.0.0.1")


def test_refusals_name_neither_the_address_nor_the_rule() -> None:
    platform = (ipaddress.ip_network("10.96.0.0/12"),)
    scope = Scope.from_dict(
        {"allow": ["10.0.0.0/8"], "deny": ["10.20.0.0/16"], "allow_domains": ["c.example"]}
    )
    messages = set()
    for address, name in (
        ("10.96.0.10", "nats.rampart.svc.cluster.local"),
        ("10.20.1.1", "db.internal.example"),
        ("192.168.1.1", "www.c.example"),
        ("169.254.169.254", "meta.c.example"),
    ):
        with pytest.raises(TargetNotAllowed) as refused:
            scope.check(Host(ipaddress.ip_address(address), name, name), platform)
        assert address not in refused.value.message
        assert refused.value.details == {"field": "target", "value": name}
        messages.add(refused.value.message.replace(name, "NAME"))
    assert messages == {"NAME is outside the authorised scope"}
