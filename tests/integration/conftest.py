"""The whole platform as real processes on free ports with temporary data directories."""

from __future__ import annotations

import asyncio
import email
import json
import os
import time
from collections.abc import AsyncIterator, Awaitable, Callable, Iterator
from email.message import Message
from pathlib import Path
from typing import Any, TypeVar

import grpc
import httpx2 as httpx
import pymongo
import pytest
from aiosmtpd.controller import Controller

from rampart.common.v1 import common_pb2
from rampart.lib.ids import new_id
from rampart_devtools.devstack import ORDER, DevStack
from rampart_devtools.ports import free_port

T = TypeVar("T")
PASSWORD = "correct-horse-9-battery"


def pytest_collection_modifyitems(items: list[pytest.Item]) -> None:
    here = Path(__file__).parent
    for item in items:
        if here in Path(item.fspath).parents:
            item.add_marker(pytest.mark.integration)


def write_scope(path: Path, orgs: dict[str, dict[str, list[str]]]) -> None:
    """The operator's scope file: loopback for everyone, plus per-organisation entries."""
    body = {"default": {"allow": ["127.0.0.0/8", "::1/128"]}, "orgs": orgs}
    temporary = path.with_suffix(".tmp")
    temporary.write_text(json.dumps(body))
    os.replace(temporary, path)


class MailInbox:
    """An SMTP server on loopback (aiosmtpd) keeping every message threat-service sends."""

    def __init__(self) -> None:
        self.messages: list[Message] = []
        self.port = free_port()

    async def handle_DATA(self, server: object, session: object, envelope: Any) -> str:
        self.messages.append(email.message_from_bytes(envelope.content))
        return "250 OK"


@pytest.fixture(scope="session")
def mail_inbox() -> Iterator[MailInbox]:
    inbox = MailInbox()
    controller = Controller(inbox, hostname="127.0.0.1", port=inbox.port)
    controller.start()
    yield inbox
    controller.stop()


@pytest.fixture(scope="session")
def stack(tmp_path_factory: pytest.TempPathFactory, mail_inbox: MailInbox) -> Iterator[DevStack]:
    data_dir = tmp_path_factory.mktemp("platform")
    write_scope(data_dir / "scope.json", {})
    (data_dir / "feeds").mkdir()  # FEEDS_DIR: threat-intel files a test imports over RPC
    (data_dir / "incident_rules.toml").write_text("")  # no rule; a test adds its own and restarts threat
    # Every test registers from 127.0.0.1: widen the per-IP limits on anonymous endpoints
    # (their own behaviour is pinned by gateway unit tests). A killed worker's job comes back after 3 s.
    env = {
        "REGISTER_RATE_LIMIT": "10000/hour",
        "TOKEN_RATE_LIMIT": "10000/minute",
        "ANONYMOUS_RATE_LIMIT": "10000/minute",
        "SCAN_SCOPE_FILE": str(data_dir / "scope.json"),
        "JOB_ACK_WAIT_SECONDS": "3",
        "SWEEP_SECONDS": "1",
        "REQUEUE_AFTER_SECONDS": "10",
        "SMTP_URL": f"smtp://127.0.0.1:{mail_inbox.port}",
        "INCIDENT_EMAIL_TO": "soc@example.test",
        "SHARD_HOSTS": "1",  # several hosts: one shard per host (tests/integration/test_shards.py)
        "FEEDS_DIR": str(data_dir / "feeds"),
        "INCIDENT_RULES_FILE": str(data_dir / "incident_rules.toml"),
        # Webhooks reach the tests' receivers on loopback; retries come quickly.
        "WEBHOOK_ALLOW_NETWORKS": "127.0.0.0/8,::1/128",
        "WEBHOOK_RESOLVER": "hosts",  # fuzzed webhook URLs never become DNS queries
        "WEBHOOK_RETRY_BASE_SECONDS": "0.2",
        "WEBHOOK_RETRY_CAP_SECONDS": "2",
        "COMPLIANCE_REFRESH_SECONDS": "0.5",  # posture recomputed soon after a scan's findings settle
    }
    platform = DevStack.on_free_ports(data_dir, extra_env=env)
    try:
        platform.start_all()
        platform.wait_health(200, deadline=60)
        yield platform
    except Exception:
        for name in ORDER:
            log = platform.log_path(name)
            if log.exists():
                print(f"--- {name} ---\n{log.read_text()[-3000:]}")
        raise
    finally:
        platform.stop_all()


@pytest.fixture
def healthy(stack: DevStack) -> Iterator[DevStack]:
    """The platform, made whole again after a test that stops parts of it."""
    yield stack
    for name in ORDER:
        stack.start(name)
    stack.wait_health(200, deadline=60)


@pytest.fixture
async def channel_to(stack: DevStack) -> AsyncIterator[Callable[[str], grpc.aio.Channel]]:
    channels: dict[str, grpc.aio.Channel] = {}

    def open_to(service: str) -> grpc.aio.Channel:
        if service not in channels:
            channels[service] = stack.channel(service)  # mutual TLS as the gateway
        return channels[service]

    yield open_to
    for channel in channels.values():
        await channel.close()


@pytest.fixture
def api(stack: DevStack) -> Iterator[httpx.Client]:
    with httpx.Client(base_url=stack.gateway_url, timeout=30) as client:
        yield client


@pytest.fixture
def store(stack: DevStack) -> Iterator[pymongo.MongoClient]:
    client: pymongo.MongoClient = pymongo.MongoClient(stack.mongodb_url, tz_aware=True)
    yield client
    client.close()


def register(api: httpx.Client, password: str = PASSWORD) -> dict[str, str]:
    reply = api.post(
        "/api/v1/auth/register", json={"email": f"{new_id('u')}@example.com", "password": password}
    )
    assert reply.status_code == 201, reply.text
    return {**reply.json()["data"], "password": password}


def bearer(secret: str) -> dict[str, str]:
    return {"Authorization": f"Bearer {secret}"}


def assert_refused(reply: httpx.Response, status: int = 401, code: str = "INVALID_API_KEY") -> dict[str, Any]:
    body: dict[str, Any] = reply.json()
    assert reply.status_code == status, reply.text
    assert body["success"] is False
    assert body["error"]["code"] == code
    assert body["metadata"]["request_id"] == reply.headers["x-request-id"]
    return body


def new_owner(tag: str) -> common_pb2.Owner:
    stamp = time.monotonic_ns()
    return common_pb2.Owner(user_id=f"usr_{tag}{stamp}", org_id=f"org_{tag}{stamp}")


async def eventually(
    probe: Callable[[], Awaitable[T]], done: Callable[[T], bool], deadline: float = 20.0
) -> T:
    """Poll ``probe`` until ``done(result)``; the last result or error is in the failure."""
    loop = asyncio.get_running_loop()
    give_up = loop.time() + deadline
    last: Any = None
    while loop.time() < give_up:
        try:
            last = await probe()
            if done(last):
                return last
        except grpc.aio.AioRpcError as error:
            last = error
        await asyncio.sleep(0.05)
    raise AssertionError(f"condition not met in {deadline}s; last: {last!r}")
