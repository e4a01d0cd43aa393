"""The webhook URL policy: what is refused without the operator's allow-list, and what it admits.

Names are answered by a table (``resolver_of``) or by /etc/hosts (``localhost``): nothing leaves
the machine.
"""

from __future__ import annotations

import ipaddress
from pathlib import Path

import pytest
from webhook_fakes import resolver_of, settings

from rampart_report.webhooks.domain import UrlNotAllowed
from rampart_report.webhooks.urlguard import UrlPolicy, hosts_resolver, system_resolver

NAMES = resolver_of(
    {
        "hooks.example.com": ["93.184.215.14"],
        "metadata.example.com": ["169.254.169.254"],
        "loop.example.com": ["127.0.0.1"],
        "mixed.example.com": ["93.184.215.14", "10.1.2.3"],
        "mapped.example.com": ["::ffff:127.0.0.1"],
        "nat64.example.com": ["64:ff9b::a9fe:a9fe"],  # 169.254.169.254 through NAT64
        "v6.example.com": ["2606:2800:220:1::1"],
    }
)
STRICT = UrlPolicy(resolver=NAMES)  # the default: no allow-list
LOOPBACK = UrlPolicy(
    allow_networks=(ipaddress.ip_network("127.0.0.0/8"), ipaddress.ip_network("::1/128")), resolver=NAMES
)


@pytest.mark.parametrize(
    "url",
    [
        "https://127.0.0.1/hook",
        "https://169.254.169.254/latest/meta-data/",
        "https://[::ffff:127.0.0.1]/hook",
        "https://[::1]/hook",
        "https://metadata.example.com/hook",
        "https://loop.example.com/hook",
        "https://mapped.example.com/hook",
        "https://nat64.example.com/hook",
        "https://mixed.example.com/hook",  # one bad address is enough
        "https://10.0.0.1/hook",
        "https://192.168.1.1/hook",
        "https://[fd00:ec2::254]/hook",
        "https://100.100.100.200/hook",
        "https://0.0.0.0/hook",
    ],
)
async def test_without_the_allow_list_non_public_addresses_are_refused(url: str) -> None:
    with pytest.raises(UrlNotAllowed):
        await STRICT.check(url)


@pytest.mark.parametrize("host", ["localhost", "2130706433", "0x7f.1", "127.1"])
async def test_loopback_by_name_or_odd_spelling_through_the_system_resolver_is_refused(host: str) -> None:
    """The resolver reads these as 127.0.0.1 (/etc/hosts, inet_aton); the check sees that address."""
    with pytest.raises(UrlNotAllowed, match="loopback"):
        await UrlPolicy(resolver=system_resolver).check(f"https://{host}/hook")


@pytest.mark.parametrize(
    ("url", "reason"),
    [
        ("http://hooks.example.com/hook", "https"),
        ("ftp://hooks.example.com/hook", "https"),
        ("https://user:pw@hooks.example.com/hook", "credentials"),
        ("https://hooks.example.com@127.0.0.1/hook", "credentials"),
        ("https://hooks.example.com:22/hook", "port 22"),
        ("https://hooks.example.com/hook#frag", "fragment"),
        ("https://nowhere.example.com/hook", "resolve"),
        ("https:///hook", "no host"),
        ("https://hooks.example.com/a b", "whitespace"),
    ],
)
async def test_scheme_credentials_ports_fragments_and_unresolvable_names_are_refused(
    url: str, reason: str
) -> None:
    with pytest.raises(UrlNotAllowed, match=reason):
        await STRICT.check(url)


async def test_a_public_https_url_is_pinned_to_the_address_that_was_checked() -> None:
    destination = await STRICT.check("https://Hooks.Example.com/in?x=1")
    assert destination.address == ipaddress.ip_address("93.184.215.14")
    assert (destination.url.host, destination.url.port, destination.url.target) == (
        "hooks.example.com",
        443,
        "/in?x=1",
    )
    assert destination.url.host_header == "hooks.example.com"
    v6 = await STRICT.check("https://v6.example.com/in")
    assert str(v6.address) == "2606:2800:220:1::1"


async def test_an_operator_port_list_admits_other_ports_on_public_addresses() -> None:
    with pytest.raises(UrlNotAllowed):
        await STRICT.check("https://hooks.example.com:8443/in")
    allowed = UrlPolicy(allow_ports=frozenset({443, 8443}), resolver=NAMES)
    assert (await allowed.check("https://hooks.example.com:8443/in")).url.port == 8443


async def test_the_allow_list_admits_loopback_in_every_spelling_with_http_and_any_port() -> None:
    for url in (
        "http://127.0.0.1:8080/hook",
        "http://[::ffff:127.0.0.1]:8080/hook",
        "http://loop.example.com:9/hook",
        "http://mapped.example.com:9/hook",
    ):
        assert str((await LOOPBACK.check(url)).address) == "127.0.0.1"
    with pytest.raises(UrlNotAllowed):
        await LOOPBACK.check("http://metadata.example.com/")  # the list admits loopback only
    with pytest.raises(UrlNotAllowed, match="https"):
        await LOOPBACK.check("http://hooks.example.com/")  # http only to the allow-listed networks


async def test_a_denied_network_wins_over_the_allow_list() -> None:
    policy = UrlPolicy(
        allow_networks=LOOPBACK.allow_networks,
        deny_networks=(ipaddress.ip_network("127.0.0.5/32"), ipaddress.ip_network("93.184.215.0/24")),
        resolver=NAMES,
    )
    with pytest.raises(UrlNotAllowed, match="denied"):
        await policy.check("http://127.0.0.5:80/")
    with pytest.raises(UrlNotAllowed, match="denied"):
        await policy.check("https://hooks.example.com/")


def test_the_allow_list_is_off_unless_the_operator_sets_it() -> None:
    assert settings(webhook_allow_networks="").allow_networks() == ()
    assert [str(n) for n in settings().allow_networks()] == ["127.0.0.0/8", "::1/128"]


async def test_the_hosts_resolver_answers_from_the_hosts_file_alone(tmp_path: Path) -> None:
    hosts = tmp_path / "hosts"
    hosts.write_text("127.0.0.1 localhost hooks.local # a comment\n::1 localhost\n")
    assert [str(a) for a in await hosts_resolver("hooks.local", 443, hosts)] == ["127.0.0.1"]
    assert [str(a) for a in await hosts_resolver("localhost", 443, hosts)] == ["127.0.0.1", "::1"]
    with pytest.raises(OSError, match="not in"):
        await hosts_resolver("example.com", 443, hosts)


async def test_the_path_and_query_are_sent_percent_encoded() -> None:
    destination = await STRICT.check("https://hooks.example.com/in/caf\u00e9?q=\u00e9t\u00e9&x=1")
    assert destination.url.target == "/in/caf%C3%A9?q=%C3%A9t%C3%A9&x=1"
