"""Port specifications and targets: what the engine accepts, and the errors it names."""

from __future__ import annotations

import ipaddress

import pytest

from rampart_scan.engine.ports import InvalidPortSpec, parse_ports, ranked_ports
from rampart_scan.engine.targets import InvalidTarget, TargetUnresolvable, expand_targets, parse_target


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


async def test_hostnames_resolve_to_every_address() -> None:
    hosts = await expand_targets(["localhost"], 10)
    assert {str(h.address) for h in hosts} <= {"127.0.0.1", "::1"}
    assert "127.0.0.1" in {str(h.address) for h in hosts}
    assert all(h.name == "localhost" for h in hosts)
    with pytest.raises(TargetUnresolvable):
        await expand_targets(["no-such-host.invalid"], 10)
    with pytest.raises(InvalidTarget):
        await expand_targets(["127.0.0.0/28", "127.0.1.0/28"], 20)
