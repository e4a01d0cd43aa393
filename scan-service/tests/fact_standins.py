"""Small loopback servers that answer as a real server does, where no real one runs here.

Each replays what the named server sends (its documented replies, written out below): a
Dovecot-style POP3 and IMAP server with and without STARTTLS (Dovecot is too heavy for CI), a
mongod with access control on (no mongod here; nx-27017 has no authentication), and the HTTP
APIs of Docker Engine, Kubernetes and Elasticsearch, open and locked.
"""

from __future__ import annotations

import asyncio
import contextlib
import json
import struct
from collections.abc import AsyncIterator, Awaitable, Callable
from typing import Any

import bson

Handler = Callable[[asyncio.StreamReader, asyncio.StreamWriter], Awaitable[None]]


@contextlib.asynccontextmanager
async def serving(handler: Handler) -> AsyncIterator[int]:
    """The handler on a free loopback port, for the duration of the block."""

    async def guarded(reader: asyncio.StreamReader, writer: asyncio.StreamWriter) -> None:
        with contextlib.suppress(ConnectionError, asyncio.IncompleteReadError):
            await handler(reader, writer)
        writer.close()

    server = await asyncio.start_server(guarded, "127.0.0.1", 0)
    try:
        yield server.sockets[0].getsockname()[1]
    finally:
        server.close()
        await server.wait_closed()


def pop3(starttls: bool) -> Handler:
    """Dovecot's POP3 greeting and CAPA (STLS listed only when TLS is configured)."""
    capabilities = [
        "TOP",
        "UIDL",
        "RESP-CODES",
        "PIPELINING",
        "AUTH-RESP-CODE",
        *(["STLS"] if starttls else []),
    ]

    async def handle(reader: asyncio.StreamReader, writer: asyncio.StreamWriter) -> None:
        writer.write(b"+OK Dovecot (Debian) ready.\r\n")
        while line := (await reader.readline()).strip().upper():
            if line == b"CAPA":
                writer.write(
                    (
                        "+OK\r\nCAPA\r\n" + "".join(f"{c}\r\n" for c in [*capabilities, "USER"]) + ".\r\n"
                    ).encode()
                )
            elif line == b"QUIT":
                writer.write(b"+OK Logging out\r\n")
                await writer.drain()
                return
            else:
                writer.write(b"-ERR Unknown command.\r\n")

    return handle


def imap(starttls: bool) -> Handler:
    """Dovecot's IMAP greeting and CAPABILITY (STARTTLS listed only when TLS is configured)."""
    caps = "IMAP4rev1 SASL-IR LOGIN-REFERRALS ID ENABLE IDLE LITERAL+" + (" STARTTLS" if starttls else "")
    caps += " AUTH=PLAIN"

    async def handle(reader: asyncio.StreamReader, writer: asyncio.StreamWriter) -> None:
        writer.write(f"* OK [CAPABILITY {caps}] Dovecot (Debian) ready.\r\n".encode())
        while line := (await reader.readline()).strip():
            tag, _, command = line.decode().partition(" ")
            if command.upper() == "CAPABILITY":
                writer.write(f"* CAPABILITY {caps}\r\n{tag} OK Pre-login capabilities listed.\r\n".encode())
            elif command.upper() == "LOGOUT":
                writer.write(f"* BYE Logging out\r\n{tag} OK Logout completed.\r\n".encode())
                await writer.drain()
                return
            else:
                writer.write(f"{tag} BAD Error in IMAP command.\r\n".encode())

    return handle


def _op_msg_reply(request_id: int, document: dict[str, Any]) -> bytes:
    body = struct.pack("<I", 0) + b"\x00" + bson.encode(document)
    return struct.pack("<iiii", 16 + len(body), 1, request_id, 2013) + body


def mongod_with_auth() -> Handler:
    """mongod 7.0 with ``security.authorization: enabled``: hello and buildInfo open, the rest refused."""
    build = {"version": "7.0.14", "gitVersion": "ce59cfc6a3c5e5c067dca0d30697edd68d4f5188", "ok": 1.0}
    hello = {"isWritablePrimary": True, "maxWireVersion": 21, "minWireVersion": 0, "ok": 1.0}

    async def handle(reader: asyncio.StreamReader, writer: asyncio.StreamWriter) -> None:
        while True:
            header = await reader.readexactly(16)
            length, request_id = struct.unpack_from("<ii", header)
            body = await reader.readexactly(length - 16)
            command = bson.decode(body[5:])
            name = next(iter(command))
            if name in ("hello", "isMaster", "ismaster"):
                answer: dict[str, Any] = hello
            elif name.lower() == "buildinfo":
                answer = build
            else:
                answer = {
                    "ok": 0.0,
                    "errmsg": f"Command {name} requires authentication",
                    "code": 13,
                    "codeName": "Unauthorized",
                }
            writer.write(_op_msg_reply(request_id, answer))
            await writer.drain()

    return handle


Route = tuple[int, dict[str, str], Any]


def http_api(routes: dict[str, Route], fallback: Route) -> Handler:
    """An HTTP/1.1 JSON API: each path's status, headers and body; the connection closes after one."""

    async def handle(reader: asyncio.StreamReader, writer: asyncio.StreamWriter) -> None:
        request = await reader.readuntil(b"\r\n\r\n")
        path = request.split(b" ")[1].decode()
        status, headers, body = routes.get(path, fallback)
        payload = json.dumps(body).encode()
        head = [f"HTTP/1.1 {status} {'OK' if status == 200 else 'Error'}", "Content-Type: application/json"]
        head += [f"{name}: {value}" for name, value in headers.items()]
        head += [f"Content-Length: {len(payload)}", "Connection: close"]
        writer.write("\r\n".join(head).encode() + b"\r\n\r\n" + payload)
        await writer.drain()

    return handle


DOCKER_VERSION = {
    "Platform": {"Name": "Docker Engine - Community"},
    "Version": "24.0.7",
    "ApiVersion": "1.43",
    "MinAPIVersion": "1.12",
    "GitCommit": "311b9ff",
    "GoVersion": "go1.20.10",
    "Os": "linux",
    "Arch": "amd64",
    "KernelVersion": "6.1.0-13-amd64",
}
DOCKER = http_api(
    {"/version": (200, {"Server": "Docker/24.0.7 (linux)", "Api-Version": "1.43"}, DOCKER_VERSION)},
    (404, {"Server": "Docker/24.0.7 (linux)"}, {"message": "page not found"}),
)
K8S_FORBIDDEN: Route = (
    403,
    {},
    {
        "kind": "Status",
        "apiVersion": "v1",
        "metadata": {},
        "status": "Failure",
        "message": 'forbidden: User "system:anonymous" cannot get path "/"',
        "reason": "Forbidden",
        "details": {},
        "code": 403,
    },
)
KUBERNETES_OPEN = http_api(
    {
        "/": (200, {}, {"paths": ["/api", "/api/v1", "/apis", "/healthz", "/version"]}),
        "/api": (200, {}, {"kind": "APIVersions", "versions": ["v1"], "serverAddressByClientCIDRs": []}),
    },
    K8S_FORBIDDEN,
)
KUBERNETES_LOCKED = http_api({}, K8S_FORBIDDEN)
ELASTICSEARCH_OPEN = http_api(
    {
        "/": (
            200,
            {"X-elastic-product": "Elasticsearch"},
            {
                "name": "node-1",
                "cluster_name": "elasticsearch",
                "cluster_uuid": "d8Xx0sRzT1GZ1pQm2yJk1w",
                "version": {"number": "8.11.1", "build_flavor": "default", "lucene_version": "9.8.0"},
                "tagline": "You Know, for Search",
            },
        )
    },
    (404, {}, {"error": "no handler found", "status": 404}),
)
ELASTICSEARCH_LOCKED = http_api(
    {},
    (
        401,
        {"WWW-Authenticate": 'Basic realm="security" charset="UTF-8"'},
        {
            "error": {
                "type": "security_exception",
                "reason": "missing authentication credentials for REST request [/]",
            },
            "status": 401,
        },
    ),
)
