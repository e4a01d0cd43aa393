"""Feed readers on small files in each format (tests/intel_feeds/, written for these tests) and the index."""

from __future__ import annotations

from datetime import UTC, datetime
from pathlib import Path

import pytest

from rampart_threat.intel.index import IndicatorIndex
from rampart_threat.intel.model import BadIndicator, normalise
from rampart_threat.intel.readers import READERS

FEEDS = Path(__file__).parent / "intel_feeds"


def read(format: str, name: str) -> tuple[set[tuple[str, str]], int, list[str]]:
    found = READERS[format]((FEEDS / name).read_text())
    return {(i.kind, i.value) for i in found.indicators}, found.skipped, [i.threat for i in found.indicators]


def test_a_plain_list_detects_each_kind_undoes_defanging_and_skips_comments_and_junk() -> None:
    values, skipped, _ = read("plain", "plain.txt")
    assert values == {
        ("ipv4", "198.51.100.23"),
        ("ipv6", "2001:db8::bad:1"),
        ("domain", "bad-updates.example.net"),
        ("url", "http://203.0.113.80/gate.php"),
        ("md5", "44d88612fea8a8f36de82e1f5ccb0d54"),
    }
    assert skipped == 1  # "not an indicator!"


def test_urlhaus_csv_gives_urls_with_their_threat_and_date() -> None:
    found = READERS["urlhaus"]((FEEDS / "urlhaus.csv").read_text())
    assert [(i.value, i.threat) for i in found.indicators] == [
        ("http://203.0.113.7/bins/x86", "malware_download"),
        ("https://files.badcdn.example/invoice.zip", "malware_download"),
    ]
    assert found.indicators[0].first_seen == datetime(2026, 2, 27, 10, 15, 2, tzinfo=UTC)
    assert found.skipped == 1


def test_malwarebazaar_csv_gives_every_hash_with_the_signature() -> None:
    values, skipped, threats = read("malwarebazaar", "malwarebazaar.csv")
    assert ("sha256", "275a021bbfb6489e54d471899f7db9d1663fc695ec2fe2a2c4538aabf651fd0f") in values
    assert ("sha1", "3395856ce81f2b7382dee72602f798b642f14140") in values
    assert ("md5", "d41d8cd98f00b204e9800998ecf8427e") in values
    assert len(values) == 6
    assert skipped == 0
    assert set(threats) == {"EICAR", ""}  # "n/a" is no signature


def test_feodo_csv_gives_c2_addresses() -> None:
    values, _, threats = read("feodo", "feodo.csv")
    assert values == {("ipv4", "192.0.2.77"), ("ipv4", "198.51.100.200")}
    assert threats == ["QakBot C2", "Emotet C2"]


def test_drop_gives_networks_with_their_sbl_reference() -> None:
    values, _, threats = read("drop", "drop.txt")
    assert values == {("cidr", "203.0.113.0/25"), ("cidr", "198.18.0.0/15"), ("cidr", "2001:db8:bad::/48")}
    assert threats[0] == "drop SBL000001"


def test_stix_takes_equality_patterns_and_skips_what_cannot_be_matched_exactly() -> None:
    values, skipped, threats = read("stix", "stix_bundle.json")
    assert values == {
        ("ipv4", "192.0.2.150"),
        ("domain", "c2.campaign.example"),
        ("sha256", "e3b0c44298fc1c149afbf4c8996fb92427ae41e4649b934ca495991b7852b855"),
    }
    assert skipped == 1  # the MATCHES pattern
    assert "C2 server of a test campaign" in threats


def test_misp_takes_to_ids_attributes_and_the_parts_of_composite_types() -> None:
    values, skipped, _ = read("misp", "misp_event.json")
    assert values == {
        ("url", "https://login.bank-secure.example/verify"),
        ("ipv4", "203.0.113.201"),
        ("md5", "d41d8cd98f00b204e9800998ecf8427e"),
    }
    assert skipped == 1  # the comment attribute (the to_ids=false domain is not read at all)


@pytest.mark.parametrize(
    ("kind", "value"), [("md5", "abc"), ("sha256", "0" * 63), ("ipv4", "999.1.1.1"), ("domain", "a b")]
)
def test_a_value_that_is_not_its_kind_is_refused(kind: str, value: str) -> None:
    with pytest.raises(BadIndicator):
        normalise(kind, value)


def test_the_index_finds_exact_values_addresses_inside_networks_and_subdomains() -> None:
    index = IndicatorIndex()
    for format, name in [("drop", "drop.txt"), ("plain", "plain.txt"), ("stix", "stix_bundle.json")]:
        index.add_all(format, READERS[format]((FEEDS / name).read_text()).indicators, None)
    assert [(h.source, h.kind, h.value) for h in index.lookup("ipv4", "203.0.113.99")] == [
        ("drop", "cidr", "203.0.113.0/25")
    ]
    assert index.lookup("ipv4", "203.0.113.200") == []  # outside the /25
    assert [h.value for h in index.lookup("ipv4", "198.19.255.255")] == ["198.18.0.0/15"]
    assert [h.value for h in index.lookup("ipv6", "2001:db8:bad:ffff::1")] == ["2001:db8:bad::/48"]
    assert [h.source for h in index.lookup("ipv4", "198.51.100.23")] == ["plain"]
    assert [h.value for h in index.lookup("domain", "www.c2.campaign.example")] == ["c2.campaign.example"]
    assert index.lookup("domain", "campaign.example") == []  # a parent is not listed by its child
