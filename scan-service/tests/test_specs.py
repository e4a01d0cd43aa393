"""Port specifications and targets: what the engine accepts, and the errors it names."""

from __future__ import annotations

import asyncio
import ipaddress
import time

import pytest

from rampart_scan.engine.addresses import IPAddress
from rampart_scan.engine.ports import InvalidPortSpec, parse_ports, ranked_ports
from rampart_scan.engine.targets import (
    InvalidTarget,
    ResolveBudget,
    Resolver,
    TargetUnresolvable,
    expand_targets,
    parse_target,
)


def test_port_specs() -> None:
    assert parse_ports("1-5") == [1, 2, 3, 4, 5]
    assert parse_ports("22,80,443,8000-8002") == [22, 80, 443, 8000, 8001, 8002]
    assert parse_ports("80, 22,80") == [80, 22]
    assert parse_ports("-") == list(range(1, 65536))
    assert parse_ports("65530-") == list(range(65530, 65536))
    top = parse_ports("top-100")
    assert len(top) == len(set(top)) == 100
    assert top[:3] == [80, 443, 22]
    assert parse_ports("top-1000")[:100] == top
    assert sorted(ranked_ports()) == list(range(1, 65536))


@pytest.mark.parametrize(
    ("spec", "bad_part"),
    [
        ("0", "0"),
        ("65536", "65536"),
        ("80,http", "http"),
        ("100-10", "100-10"),
        ("1-2-3", "1-2-3"),
        ("", ""),
        ("top-0", "top-0"),
        ("22;rm -rf", "22;rm -rf"),
    ],
)
def test_invalid_port_specs_name_the_bad_part(spec: str, bad_part: str) -> None:
    with pytest.raises(InvalidPortSpec) as refused:
        parse_ports(spec)
    assert refused.value.details["part"] == bad_part
    assert refused.value.details["field"] == "ports"


def test_targets_parse_addresses_and_capped_cidrs() -> None:
    assert parse_target("127.0.0.1", 10)[0].address == ipaddress.ip_address("127.0.0.1")  # type: ignore[index]
    assert parse_target("[::1]", 10)[0].address == ipaddress.ip_address("::1")  # type: ignore[index]
    block = parse_target("127.0.0.0/29", 10)
    assert [str(h.address) for h in block] == [f"127.0.0.{i}" for i in range(1, 7)]  # type: ignore[union-attr]
    assert parse_target("Example.COM.", 10) == "example.com"
    with pytest.raises(InvalidTarget, match="limit is 256"):
        parse_target("127.0.0.0/16", 256)
    for bad in (
        "invalid..host",
        "-bad.example",
        "a" * 64 + ".com",
        "http://x",
        "127.0.0.1/33",
        "exa mple.com",
    ):
        with pytest.raises(InvalidTarget):
            parse_target(bad, 10)


def fake_resolver(table: dict[str, list[str]]) -> Resolver:
    """Answers from a table, never from DNS; a name not in it does not exist."""

    async def resolve(name: str) -> list[IPAddress]:
        return [ipaddress.ip_address(a) for a in table.get(name, [])]

    return resolve


async def test_hostnames_resolve_to_every_address() -> None:
    resolver = fake_resolver({"db.example": ["127.0.0.1", "::1", "::ffff:127.0.0.1"]})
    hosts = await expand_targets(["db.example"], 10, resolver)
    assert [str(h.address) for h in hosts] == ["127.0.0.1", "::1"]  # the mapped one is 127.0.0.1
    assert all(h.name == "db.example" for h in hosts)
    with pytest.raises(TargetUnresolvable) as unresolved:
        await expand_targets(["db.example", "no-such-host.invalid"], 10, resolver)
    assert unresolved.value.names == ["no-such-host.invalid"]
    with pytest.raises(InvalidTarget):
        await expand_targets(["127.0.0.0/28", "127.0.1.0/28"], 20, resolver)


async def test_names_are_resolved_concurrently_within_the_budget() -> None:
    """Ten names that each wait for all the others resolve only if they are asked together."""
    names = [f"h{i}.example" for i in range(10)]
    started: set[str] = set()
    everyone = asyncio.Event()

    async def rendezvous(name: str) -> list[IPAddress]:
        started.add(name)
        if len(started) == len(names):
            everyone.set()
        await everyone.wait()
        return [ipaddress.ip_address("127.0.0.1")]

    async with asyncio.timeout(10):
        hosts = await expand_targets(names, 20, rendezvous, ResolveBudget(max_names=10, seconds=5))
    assert {h.name for h in hosts} == set(names)


async def test_resolution_budget_bounds_names_and_time() -> None:
    calls: list[str] = []

    async def hangs(name: str) -> list[IPAddress]:
        calls.append(name)
        await asyncio.Event().wait()  # a resolver that never answers
        return []

    with pytest.raises(InvalidTarget, match="at most 3 hostnames"):
        await expand_targets(
            ["a.example", "b.example", "c.example", "d.example"], 10, hangs, ResolveBudget(3, 5)
        )
    assert calls == []  # refused before resolving anything
    async with asyncio.timeout(10):  # the time budget ends the wait, not the test's timeout
        with pytest.raises(TargetUnresolvable) as late:
            await expand_targets(["a.example", "b.example"], 10, hangs, ResolveBudget(3, 0.05))
    assert late.value.names == ["a.example", "b.example"]


HOSTILE_SPECS = [",".join(["-"] * 2048), "1-65535," * 512, ",".join(["1-65535"] * 1024), "-," * 1023 + "-"]


@pytest.mark.parametrize("spec", HOSTILE_SPECS, ids=["dashes", "full-ranges", "1024-ranges", "1024-dashes"])
def test_hostile_port_specs_are_parsed_or_refused_quickly(spec: str) -> None:
    started = time.perf_counter()
    outcome: list[int] | dict[str, object]
    try:
        outcome = parse_ports(spec)
    except InvalidPortSpec as refused:
        outcome = refused.details
    if isinstance(outcome, dict):
        assert outcome["field"] == "ports"
        assert len(str(outcome["value"])) <= 64
    else:
        assert outcome == list(range(1, 65536))
    assert time.perf_counter() - started < 0.5  # it took seconds before the parser was bounded


def test_port_specs_are_bounded_in_size_and_parts() -> None:
    with pytest.raises(InvalidPortSpec, match="more than 1024 parts") as parts:
        parse_ports(",".join(["80"] * 1025))
    assert parts.value.details["limit"] == 1024
    with pytest.raises(InvalidPortSpec, match="longer than 4096 characters") as size:
        parse_ports("1" + " " * 4096)
    assert size.value.details["limit"] == 4096
    assert parse_ports(",".join(str(p) for p in range(1, 1025))) == list(range(1, 1025))


def test_overlapping_ranges_keep_first_appearance_order() -> None:
    assert parse_ports("10-12,11-14,1-3,12") == [10, 11, 12, 13, 14, 1, 2, 3]
    assert parse_ports("5,1-") == [5, *range(1, 5), *range(6, 65536)]


@pytest.mark.parametrize("spec", ["\u00b2", "1-\u00b2", "top-\u00b2", "\u0661", "\U0001d7da"])
def test_only_ascii_digits_are_port_numbers(spec: str) -> None:
    with pytest.raises(InvalidPortSpec):
        parse_ports(spec)
