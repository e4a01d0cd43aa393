"""Facts for the finding rules, read from real servers configured the unsafe way and the safe way.

Each fact is checked on a server where it says "exposed" and on the same program configured
safely (tests/fact_servers.py). POP3, IMAP, an access-controlled mongod and the Docker,
Kubernetes and Elasticsearch APIs are loopback stand-ins replaying those servers' replies
(fact_standins.py): none of them runs here.
"""

from __future__ import annotations

import ipaddress
import ssl

import fact_standins as standins
import pytest

from rampart_scan.engine import tls
from rampart_scan.engine.facts import detect_with_facts
from rampart_scan.engine.scanner import EngineOptions, ServiceFound, scan
from rampart_scan.engine.services import ServiceInfo
from rampart_scan.engine.targets import Host
from tests import fact_servers
from tests.fact_servers import LEGACY_SSH, WEAK_SUITE
from tests.servers import Running, ServerMissing

pytestmark = pytest.mark.service  # real servers: the middle tier

LOOPBACK = Host(ipaddress.ip_address("127.0.0.1"))
LEGACY_NAMES = {name.lstrip("+") for value in LEGACY_SSH.values() for name in value.split(",")}


async def detected(port: int, pentest: bool = False) -> ServiceInfo:
    return await detect_with_facts(LOOPBACK, port, pentest=pentest)


def listed(facts: dict[str, str], *keys: str) -> set[str]:
    return {name for key in keys for name in facts.get(key, "").split(",") if name}


@pytest.mark.parametrize("real_server", ["sshd"], indirect=True)
async def test_ssh_kexinit_lists_are_recorded_and_hold_no_legacy_algorithm_by_default(
    real_server: Running,
) -> None:
    facts = (await detected(real_server.port)).facts
    assert "curve25519-sha256" in facts["ssh.kex"].split(",")
    assert facts["ssh.hostkey"] == "ssh-ed25519"  # the one host key this sshd has
    assert "chacha20-poly1305@openssh.com" in facts["ssh.ciphers"].split(",")
    assert "hmac-sha2-256" in facts["ssh.macs"].split(",")
    assert not listed(facts, "ssh.kex", "ssh.hostkey", "ssh.ciphers", "ssh.macs") & LEGACY_NAMES


@pytest.mark.parametrize("fact_server", ["sshd-legacy"], indirect=True)
async def test_ssh_legacy_algorithms_an_admin_enabled_show_in_the_facts(fact_server: Running) -> None:
    facts = (await detected(fact_server.port)).facts
    assert {"diffie-hellman-group1-sha1", "diffie-hellman-group14-sha1"} <= set(facts["ssh.kex"].split(","))
    assert "ssh-rsa" in facts["ssh.hostkey"].split(",")
    assert {"3des-cbc", "aes128-cbc"} <= set(facts["ssh.ciphers"].split(","))
    assert {"hmac-md5", "hmac-sha1-96"} <= set(facts["ssh.macs"].split(","))


@pytest.mark.parametrize("real_server", ["redis"], indirect=True)
async def test_redis_without_a_password_answers_ping_and_tells_its_version(real_server: Running) -> None:
    facts = (await detected(real_server.port)).facts
    assert facts == {"redis.auth": "none", "redis.version": real_server.expect.version}


@pytest.mark.parametrize("fact_server", ["redis-auth"], indirect=True)
async def test_redis_with_a_password_refuses_ping_and_info_is_never_sent(fact_server: Running) -> None:
    assert (await detected(fact_server.port)).facts == {"redis.auth": "required"}


@pytest.mark.parametrize("real_server", ["memcached"], indirect=True)
async def test_memcached_answers_stats_to_anyone(real_server: Running) -> None:
    assert (await detected(real_server.port)).facts == {"memcached.auth": "none"}


@pytest.mark.parametrize("fact_server", ["memcached-auth"], indirect=True)
async def test_memcached_with_ascii_authentication_refuses_stats(fact_server: Running) -> None:
    info = await detected(fact_server.port)
    assert (info.name, info.facts) == ("memcached", {"memcached.auth": "required"})


@pytest.mark.parametrize("real_server", ["nx-27017"], indirect=True)
async def test_a_mongodb_server_without_access_control_lists_its_databases(real_server: Running) -> None:
    assert (await detected(real_server.port)).facts == {"mongodb.auth": "none"}


async def test_a_mongod_with_access_control_refuses_list_databases_as_unauthorized() -> None:
    async with standins.serving(standins.mongod_with_auth()) as port:
        info = await detected(port)
    assert (info.name, info.version, info.facts) == ("mongodb", "7.0.14", {"mongodb.auth": "required"})


@pytest.mark.parametrize(
    ("fact_server", "expected"),
    [
        ("nats-token", {"nats.auth_required": "true", "nats.tls_required": "false"}),
        ("nats-tls", {"nats.auth_required": "false", "nats.tls_required": "true"}),
    ],
    indirect=["fact_server"],
)
async def test_nats_info_says_whether_a_token_or_tls_is_required(
    fact_server: Running, expected: dict[str, str]
) -> None:
    assert (await detected(fact_server.port)).facts == expected


@pytest.mark.parametrize("real_server", ["nats"], indirect=True)
async def test_nats_without_token_or_tls_says_neither_is_required(real_server: Running) -> None:
    facts = (await detected(real_server.port)).facts
    assert facts == {"nats.auth_required": "false", "nats.tls_required": "false"}


@pytest.mark.parametrize("real_server", ["mosquitto"], indirect=True)
async def test_mosquitto_allowing_anonymous_accepts_a_connect_without_credentials(
    real_server: Running,
) -> None:
    assert (await detected(real_server.port)).facts == {"mqtt.anonymous": "accepted"}


@pytest.mark.parametrize("fact_server", ["mosquitto-closed"], indirect=True)
async def test_mosquitto_with_a_password_file_refuses_it(fact_server: Running) -> None:
    info = await detected(fact_server.port)
    assert (info.name, info.facts) == ("mqtt", {"mqtt.anonymous": "refused"})


@pytest.mark.parametrize("real_server", ["nginx"], indirect=True)
async def test_a_plain_nginx_page_discloses_its_version_lists_nothing_and_has_no_hsts(
    real_server: Running,
) -> None:
    for port in (real_server.port, int(real_server.extra["tls_port"])):
        facts = (await detected(port)).facts
        assert facts == {
            "http.server": f"nginx/{real_server.expect.version}",
            "http.directory_listing": "false",
        }


@pytest.mark.parametrize("fact_server", ["nginx-listing"], indirect=True)
async def test_nginx_autoindex_powered_by_and_hsts_are_recorded(fact_server: Running) -> None:
    plain = (await detected(fact_server.port)).facts
    assert (plain["http.directory_listing"], plain["http.powered_by"]) == ("true", "PHP/8.2.7")
    assert "http.hsts" not in plain
    secure = (await detected(int(fact_server.extra["tls_port"]))).facts
    assert secure["http.hsts"] == "max-age=31536000; includeSubDomains"
    assert secure["http.directory_listing"] == "false"


@pytest.mark.parametrize("real_server", ["http.server"], indirect=True)
async def test_python_http_server_listing_its_directory_is_a_listing(real_server: Running) -> None:
    assert (await detected(real_server.port)).facts["http.directory_listing"] == "true"


@pytest.mark.parametrize(
    ("api", "expected"),
    [
        (standins.DOCKER, "docker"),
        (standins.KUBERNETES_OPEN, "kubernetes"),
        (standins.ELASTICSEARCH_OPEN, "elasticsearch"),
        (standins.KUBERNETES_LOCKED, None),
        (standins.ELASTICSEARCH_LOCKED, None),
    ],
)
async def test_management_apis_answering_without_credentials_are_named(
    api: standins.Handler, expected: str | None
) -> None:
    async with standins.serving(api) as port:
        info = await detected(port)
    assert info.name == "http"
    assert info.facts.get("http.api") == expected


@pytest.mark.parametrize("real_server", ["pyftpdlib"], indirect=True)
async def test_ftp_without_auth_tls_and_anonymous_login_only_when_pentesting(real_server: Running) -> None:
    assert (await detected(real_server.port)).facts == {"ftp.auth_tls": "false"}
    pentest = (await detected(real_server.port, pentest=True)).facts
    assert pentest == {"ftp.auth_tls": "false", "ftp.anonymous": "accepted"}  # pyftpdlib's CLI default


@pytest.mark.parametrize("fact_server", ["vsftpd-tls"], indirect=True)
async def test_vsftpd_offering_auth_tls_and_refusing_anonymous(fact_server: Running) -> None:
    assert (await detected(fact_server.port)).facts == {"ftp.auth_tls": "true"}
    pentest = (await detected(fact_server.port, pentest=True)).facts
    assert pentest == {"ftp.auth_tls": "true", "ftp.anonymous": "refused"}


@pytest.mark.parametrize("real_server", ["aiosmtpd"], indirect=True)
async def test_smtp_without_starttls(real_server: Running) -> None:
    assert (await detected(real_server.port)).facts == {"smtp.starttls": "false"}


@pytest.mark.parametrize("fact_server", ["aiosmtpd-starttls"], indirect=True)
async def test_smtp_offering_starttls(fact_server: Running) -> None:
    assert (await detected(fact_server.port)).facts == {"smtp.starttls": "true"}


@pytest.mark.parametrize("starttls", [True, False])
async def test_pop3_capa_and_imap_capability_say_whether_starttls_is_offered(starttls: bool) -> None:
    expected = "true" if starttls else "false"
    async with standins.serving(standins.pop3(starttls)) as port:
        pop3 = await detected(port)
    async with standins.serving(standins.imap(starttls)) as port:
        imap = await detected(port)
    assert (pop3.name, pop3.facts) == ("pop3", {"pop3.starttls": expected})
    assert (imap.name, imap.facts) == ("imap", {"imap.starttls": expected})


def _null_suites_offerable() -> bool:
    return tls.weak_context("eNULL", ssl.TLSVersion.TLSv1_2) is not None


@pytest.mark.parametrize("fact_server", ["nginx-weak-tls"], indirect=True)
async def test_a_weak_suite_the_server_accepts_is_recorded_in_the_audit_and_the_facts(
    fact_server: Running,
) -> None:
    if not _null_suites_offerable():
        pytest.skip("the local OpenSSL cannot offer a NULL suite, even at SECLEVEL=0")
    report = await tls.audit(LOOPBACK, fact_server.port)
    assert report is not None
    assert report.weak_ciphers == [WEAK_SUITE]
    assert f"cipher:{WEAK_SUITE}" in report.weaknesses
    options = EngineOptions(ports=str(fact_server.port), service_detection=True, ssl_check=True)
    services = [e.finding.service async for e in scan(["127.0.0.1"], options) if isinstance(e, ServiceFound)]
    assert services
    assert services[0] is not None
    assert services[0].facts["tls.weak_ciphers"] == WEAK_SUITE


@pytest.mark.parametrize("real_server", ["nginx"], indirect=True)
async def test_a_modern_tls_server_accepts_no_weak_suite(real_server: Running) -> None:
    port = int(real_server.extra["tls_port"])
    report = await tls.audit(LOOPBACK, port)
    assert report is not None
    assert report.protocols_accepted
    assert report.weak_ciphers == []
    options = EngineOptions(ports=str(port), service_detection=True, ssl_check=True)
    services = [e.finding.service async for e in scan(["127.0.0.1"], options) if isinstance(e, ServiceFound)]
    assert services
    assert services[0] is not None
    assert "tls.weak_ciphers" not in services[0].facts
    assert services[0].facts["http.server"].startswith("nginx/")  # the other facts came through the scanner


@pytest.mark.parametrize(
    ("name", "key", "expected"),
    [
        ("dovecot-pop3", "pop3.starttls", "false"),
        ("dovecot-pop3-tls", "pop3.starttls", "true"),
        ("dovecot-imap", "imap.starttls", "false"),
        ("dovecot-imap-tls", "imap.starttls", "true"),
    ],
)
async def test_dovecot_offers_starttls_only_when_tls_is_configured(
    name: str, key: str, expected: str
) -> None:
    """Where Dovecot is installed (not in CI: too heavy), the stand-ins are checked against the real one."""
    try:
        with fact_servers.started(name) as server:
            info = await detected(server.port)
    except ServerMissing as missing:
        pytest.skip(f"{missing}; the stand-in tests above cover POP3 and IMAP")
    assert info.product.startswith("Dovecot")
    assert info.facts == {key: expected}
