"""Facts beyond the banner, for the finding rules: what a service tells anyone who connects.

After detection names a service, its family's observer records ``"<family>.<fact>"`` strings
(docs/detection.md, "Facts", lists each key and exactly what is sent). Observers only look:
a handshake or one named read-only command, never a login (the anonymous FTP login runs only
in the ``pentest`` profile), all within the port's detection budget and size caps.
"""

from __future__ import annotations

import json
import time
from collections.abc import Awaitable, Callable

from rampart_scan.engine import mailfacts, webfacts
from rampart_scan.engine.protocols import mongo, ssh
from rampart_scan.engine.services import ServiceInfo, detect
from rampart_scan.engine.session import Endpoint, Unanswered, session
from rampart_scan.engine.targets import Host

Facts = dict[str, str]
Observer = Callable[[Endpoint, ServiceInfo, bool], Awaitable[Facts]]

MQTT_CONNECT = bytes.fromhex("101300044d5154540402003c000772616d70617274")  # v3.1.1, clean, no credentials
MQTT_DISCONNECT = b"\xe0\x00"
MQTT_REFUSED = {4, 5}  # bad user name or password, not authorised


async def ssh_facts(endpoint: Endpoint, info: ServiceInfo, pentest: bool) -> Facts:
    """Our version line, then the server's KEXINIT; the key exchange goes no further."""
    async with session(endpoint) as conversation:
        await conversation.send(ssh.CLIENT_VERSION)

        def whole(data: bytes) -> bool:
            return ssh.kexinit_packet(data) is not None

        try:
            packet = ssh.kexinit_packet(await conversation.read_until(whole, ssh.MAX_PACKET + 512))
        except ValueError as garbled:
            raise Unanswered(str(garbled)) from garbled
    assert packet is not None
    try:
        return ssh.parse_kexinit(packet)
    except ValueError as garbled:
        raise Unanswered(str(garbled)) from garbled


def _resp_complete(data: bytes) -> bool:
    """A RESP simple reply is one line; a bulk string is ``$n`` then n bytes and CRLF."""
    if b"\r\n" not in data:
        return False
    head = data.split(b"\r\n", 1)[0]
    if not head.startswith(b"$"):
        return True
    size = int(head[1:]) if head[1:].lstrip(b"-").isdigit() else -1
    return size < 0 or len(data) >= len(head) + 2 + size + 2


async def redis_facts(endpoint: Endpoint, info: ServiceInfo, pentest: bool) -> Facts:
    """PING; only when it answers without AUTH, ``INFO server`` for the version."""
    async with session(endpoint) as conversation:
        await conversation.send(b"*1\r\n$4\r\nPING\r\n")
        answer = await conversation.read_until(_resp_complete)
        if answer.startswith((b"-NOAUTH", b"-DENIED")):
            return {"redis.auth": "required"}
        if not answer.startswith(b"+PONG"):
            return {}
        facts = {"redis.auth": "none"}
        await conversation.send(b"*2\r\n$4\r\nINFO\r\n$6\r\nserver\r\n")
        for line in (await conversation.read_until(_resp_complete)).decode("latin-1").splitlines():
            if line.startswith("redis_version:"):
                facts["redis.version"] = line.split(":", 1)[1].strip()[:40]
        return facts


async def memcached_facts(endpoint: Endpoint, info: ServiceInfo, pentest: bool) -> Facts:
    """``stats``: answered (``STAT`` lines) or refused until authenticated."""

    def whole(data: bytes) -> bool:
        return data.endswith(b"END\r\n") or (b"\n" in data and not data.startswith(b"STAT"))

    async with session(endpoint) as conversation:
        await conversation.send(b"stats\r\n")
        answer = await conversation.read_until(whole)
    if answer.startswith(b"STAT "):
        return {"memcached.auth": "none"}
    if answer.startswith(b"CLIENT_ERROR") and b"auth" in answer.lower():
        return {"memcached.auth": "required"}
    return {}


async def mongodb_facts(endpoint: Endpoint, info: ServiceInfo, pentest: bool) -> Facts:
    """``hello``, then ``listDatabases`` (names only): answered, or refused as Unauthorized."""

    def whole(data: bytes) -> bool:
        length = mongo.reply_length(data)
        return length is not None and len(data) >= length

    async with session(endpoint) as conversation:
        await conversation.send(mongo.op_msg(1, {"hello": 1, "$db": "admin"}))
        await conversation.read_until(whole, mongo.MAX_REPLY)
        await conversation.send(mongo.op_msg(2, {"listDatabases": 1, "nameOnly": True, "$db": "admin"}))
        reply = await conversation.read_until(whole, mongo.MAX_REPLY)
    try:
        auth = mongo.auth(mongo.reply_document(reply))
    except (ValueError, IndexError) as garbled:
        raise Unanswered(str(garbled)) from garbled
    return {"mongodb.auth": auth} if auth else {}


def _nats_info(line: bytes) -> Facts:
    if not line.startswith(b"INFO "):
        return {}
    try:
        info = json.loads(line[5:].strip())
    except ValueError:
        return {}
    return {
        "nats.auth_required": "true" if info.get("auth_required") else "false",
        "nats.tls_required": "true" if info.get("tls_required") else "false",
    }


async def nats_facts(endpoint: Endpoint, info: ServiceInfo, pentest: bool) -> Facts:
    """The INFO line the server sends first (the one detection read, else read again)."""
    if info.reply.startswith(b"INFO ") and b"\n" in info.reply:
        return _nats_info(info.reply.split(b"\n", 1)[0])
    async with session(endpoint) as conversation:
        return _nats_info(await conversation.line())


def _connack(data: bytes) -> Facts:
    if len(data) < 4 or data[0] != 0x20 or data[1] != 2:
        return {}
    if data[3] == 0:
        return {"mqtt.anonymous": "accepted"}
    return {"mqtt.anonymous": "refused"} if data[3] in MQTT_REFUSED else {}


async def mqtt_facts(endpoint: Endpoint, info: ServiceInfo, pentest: bool) -> Facts:
    """The CONNACK to a CONNECT without credentials (detection's, else one more, then DISCONNECT)."""
    if info.probe == "mqtt" and _connack(info.reply):
        return _connack(info.reply)
    async with session(endpoint) as conversation:
        await conversation.send(MQTT_CONNECT)
        answer = await conversation.read_until(lambda data: len(data) >= 4)
        if answer[:1] == b"\x20" and answer[3:4] == b"\x00":
            await conversation.send(MQTT_DISCONNECT)
    return _connack(answer)


OBSERVERS: dict[str, Observer] = {
    "ssh": ssh_facts,
    "redis": redis_facts,
    "memcached": memcached_facts,
    "mongodb": mongodb_facts,
    "nats": nats_facts,
    "mqtt": mqtt_facts,
    "ftp": mailfacts.ftp_facts,
    "smtp": mailfacts.smtp_facts,
    "pop3": mailfacts.pop3_facts,
    "imap": mailfacts.imap_facts,
}


async def observe(endpoint: Endpoint, info: ServiceInfo, pentest: bool = False) -> Facts:
    """The facts of the detected service; none when it has no observer or does not answer.

    Any service named from an HTTP answer (http, https, ipp, etcd, a proxy, ...) gets the HTTP facts.
    """
    http = info.reply.startswith(b"HTTP/")
    observer = webfacts.http_facts if http else OBSERVERS.get(info.name.removeprefix("ssl/"))
    if observer is None:
        return {}
    try:
        return await observer(endpoint, info, pentest)
    except Unanswered:
        return {}


async def detect_with_facts(host: Host, port: int, budget: float = 8.0, pentest: bool = False) -> ServiceInfo:
    """Service detection, then its facts, both within the port's budget."""
    deadline = time.monotonic() + budget
    info = await detect(host, port, budget)
    info.facts.update(await observe(Endpoint(host, port, info.tls, deadline), info, pentest))
    info.reply = b""  # read by the observers only: a big scan need not keep every answer
    return info
