"""Facts travel from the engine to the store, the results and the port events; probes stay bounded."""

from __future__ import annotations

import asyncio
import ipaddress
import struct
import time
from collections.abc import AsyncIterator, Iterator
from datetime import UTC, datetime
from typing import Any

import fact_standins as standins
import pytest
from pymongo import AsyncMongoClient

from rampart.lib.store import Document
from rampart.scan.v1 import scan_pb2
from rampart_scan.documents import port_fields, port_from_doc
from rampart_scan.domain import Owner, Scan, ScanOptions, ScanSpec
from rampart_scan.engine.facts import observe
from rampart_scan.engine.protocols import mongo, ssh
from rampart_scan.engine.scanner import EngineOptions, PortFinding, ServiceFound
from rampart_scan.engine.services import ServiceInfo
from rampart_scan.engine.session import Endpoint
from rampart_scan.engine.targets import Host
from rampart_scan.events import ScanEvents
from rampart_scan.findings import port_result
from rampart_scan.mappers import port_to_proto
from rampart_scan.repository import ScanRepository
from rampart_scan.sandbox import sandbox_scan
from rampart_scan.scan_engine import ScanEngine
from rampart_scan.settings import ScanSettings
from tests.servers import Running, started

AT = datetime(2026, 3, 2, 9, 30, tzinfo=UTC)
HOST = Host(ipaddress.ip_address("127.0.0.1"), "db.local.test")
FACTS = {"redis.auth": "none", "redis.version": "7.0.15", "tls.weak_ciphers": "ECDHE-ECDSA-NULL-SHA"}
FOUND = PortFinding(6379, "open", 0.3, ServiceInfo("redis", "Redis key-value store", "7.0.15", facts=FACTS))
SETTINGS = ScanSettings(mongodb_url="mongodb://127.0.0.1:1", nats_url="nats://127.0.0.1:1", port=0)


def scan_of(profile: str) -> Scan:
    spec = ScanSpec(("127.0.0.1",), "tcp", "6379", ScanOptions(service_detection=True), profile, 600)
    return Scan("scan_facts", Owner("usr_a", "org_a"), spec, AT, port_count=1)


def test_facts_map_into_the_domain_the_document_and_the_proto() -> None:
    result = port_result(HOST, FOUND)
    assert result.service is not None
    assert dict(result.service.facts) == FACTS
    fields = port_fields(result)
    # A store reads dots in field names as paths: the keys are kept as values, never as names.
    assert fields["service"]["facts"] == sorted([key, value] for key, value in FACTS.items())
    assert port_from_doc({"host": result.host, "port": result.port, **fields}) == result
    assert dict(port_to_proto(result).service.facts) == FACTS


def test_a_port_stored_before_facts_existed_reads_back_with_none() -> None:
    doc = {"host": "127.0.0.1", "port": 22, "state": "open", "service": {"name": "ssh", "product": "OpenSSH"}}
    service = port_from_doc(doc).service
    assert service is not None
    assert dict(service.facts) == {}


@pytest.fixture(scope="module")
def store_server() -> Iterator[Running]:
    with started("nx-27017") as server:
        yield server


@pytest.fixture
async def repository(store_server: Running) -> AsyncIterator[ScanRepository]:
    client: AsyncMongoClient[Document] = AsyncMongoClient(
        f"mongodb://127.0.0.1:{store_server.port}/?directConnection=true"
    )
    yield ScanRepository(client["rampart_scan_facts"])
    await client.close()


@pytest.mark.service
async def test_facts_are_stored_and_come_back_with_the_scan_results(repository: ScanRepository) -> None:
    scan = scan_of("standard")
    await repository.save_port(scan, port_result(HOST, FOUND))
    (stored,) = await repository.ports_of(scan.id)
    assert stored.service is not None
    assert dict(stored.service.facts) == FACTS
    assert dict(port_to_proto(stored).service.facts) == FACTS  # what GET .../results answers


class Published:
    """Stands in for the broker: keeps what is published."""

    def __init__(self) -> None:
        self.messages: list[tuple[str, bytes]] = []

    async def publish(self, subject: str, payload: bytes, msg_id: str, request_id: str | None = None) -> bool:
        self.messages.append((subject, payload))
        return True


@pytest.mark.parametrize("service", [False, True])
async def test_port_found_and_service_detected_events_carry_the_facts(service: bool) -> None:
    published = Published()
    events = ScanEvents(outbox=None, publisher=published)  # type: ignore[arg-type]  # live events only
    await events.port(scan_of("standard"), "req", port_result(HOST, FOUND), service)
    (subject, payload) = published.messages[0]
    event = scan_pb2.ScanEvent.FromString(payload)
    assert subject.endswith("service_detected" if service else "port_found")
    assert dict(event.port.service.facts) == FACTS


@pytest.mark.parametrize(
    ("profile", "pentest"), [("pentest", True), ("standard", False), ("compliance", False)]
)
def test_only_the_pentest_profile_allows_checks_beyond_a_handshake(profile: str, pentest: bool) -> None:
    options = ScanEngine(authoriser=None, settings=SETTINGS).options(scan_of(profile), "6379", None)  # type: ignore[arg-type]
    assert options.pentest is pentest


def _kexinit(*lists: bytes) -> bytes:
    body = bytes([ssh.MSG_KEXINIT]) + bytes(16)
    for names in lists:
        body += struct.pack(">I", len(names)) + names
    padding = 8 - (len(body) + 5) % 8 + 4
    return struct.pack(">IB", len(body) + padding + 1, padding) + body + bytes(padding)


def test_a_kexinit_is_read_only_once_whole_and_a_truncated_one_is_refused() -> None:
    lists = (
        b"curve25519-sha256",
        b"ssh-ed25519",
        b"aes128-ctr",
        b"aes128-ctr",
        b"hmac-sha2-256",
        b"hmac-sha2-256",
    )
    data = b"SSH-2.0-OpenSSH_9.2p1\r\n" + _kexinit(*lists, *(b"",) * 4) + struct.pack(">BI", 0, 0)
    for cut in (10, 30, len(data) - 12):
        assert ssh.kexinit_packet(data[:cut]) is None  # still waiting for the rest
    packet = ssh.kexinit_packet(data)
    assert packet is not None
    assert ssh.parse_kexinit(packet) == {
        "ssh.kex": "curve25519-sha256",
        "ssh.hostkey": "ssh-ed25519",
        "ssh.ciphers": "aes128-ctr",
        "ssh.macs": "hmac-sha2-256",
    }
    with pytest.raises(ValueError, match="truncated"):
        ssh.parse_kexinit(packet[:30])
    with pytest.raises(ValueError, match="binary packet"):
        ssh.kexinit_packet(b"SSH-2.0-x\r\n" + struct.pack(">IB", 10_000_000, 4))


async def _endless(reader: asyncio.StreamReader, writer: asyncio.StreamWriter) -> None:
    """A server whose version line never ends: the read stops at the size cap."""
    writer.write(b"SSH-2.0-Endless")
    while True:
        writer.write(b"x" * 4096)
        await writer.drain()


async def _silent(reader: asyncio.StreamReader, writer: asyncio.StreamWriter) -> None:
    await reader.read(1)  # waits for ever (until the client goes)


@pytest.mark.parametrize(
    ("handler", "info"),
    [
        (_endless, ServiceInfo("ssh")),
        (_silent, ServiceInfo("ssh")),
        (_silent, ServiceInfo("redis")),
        (standins.pop3(True), ServiceInfo("imap")),  # the wrong protocol answers: no fact, no error
    ],
)
async def test_a_service_that_floods_stalls_or_talks_nonsense_gives_no_fact_within_the_budget(
    handler: Any, info: ServiceInfo
) -> None:
    async with standins.serving(handler) as port:
        endpoint = Endpoint(HOST, port, False, time.monotonic() + 1.0)
        assert await observe(endpoint, info) == {}


async def test_no_fact_probe_is_sent_once_the_ports_budget_is_spent() -> None:
    connections = 0

    async def counting(reader: asyncio.StreamReader, writer: asyncio.StreamWriter) -> None:
        nonlocal connections
        connections += 1

    async with standins.serving(counting) as port:
        facts = await observe(Endpoint(HOST, port, False, time.monotonic() - 0.1), ServiceInfo("redis"))
    assert (facts, connections) == ({}, 0)


async def test_sandbox_scans_give_the_same_facts_every_time() -> None:
    options = EngineOptions(ports="6379", service_detection=True)
    runs = [
        [e.finding.service.facts for e in [x async for x in sandbox_scan(["10.0.0.7"], options)]
         if isinstance(e, ServiceFound) and e.finding.service is not None]
        for _ in range(2)
    ]  # fmt: skip
    assert runs[0] == runs[1] == [{"redis.auth": "none", "redis.version": "7.0.15"}]


def test_a_garbled_mongodb_reply_is_refused_as_a_value_error() -> None:
    reply = mongo.op_msg(1, {"ok": 1})
    with pytest.raises(ValueError, match="BSON"):
        mongo.reply_document(reply[:21] + b"\xff" * (len(reply) - 21))
