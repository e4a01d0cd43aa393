"""Facts of the protocols that carry credentials in clear text: does the server offer TLS?

FTP ``FEAT`` (AUTH TLS), SMTP ``EHLO`` (STARTTLS), POP3 ``CAPA`` (STLS), IMAP ``CAPABILITY``
(STARTTLS); each conversation ends with the protocol's QUIT/LOGOUT. The anonymous FTP login is
the one step beyond reading: only in the ``pentest`` profile.
"""

from __future__ import annotations

import re

from rampart_scan.engine.services import ServiceInfo
from rampart_scan.engine.session import Endpoint, Session, final_reply, lines_of, session

Facts = dict[str, str]
ANONYMOUS_PASSWORD = b"rampart-scan@"  # what anonymous FTP conventionally asks for: an address
FTP_AUTH_TLS = re.compile(r"(?i)^\s*AUTH\b.*\b(TLS|SSL)\b")
TAGGED_END = re.compile(rb"(?m)^R1 [^\n]*\n")  # the tagged status line closes CAPABILITY's answer
SMTP_STARTTLS = re.compile(r"(?i)^250[ -]STARTTLS\b")


def _flag(value: bool) -> str:
    return "true" if value else "false"


async def _command(conversation: Session, line: bytes) -> bytes:
    await conversation.send(line + b"\r\n")
    return await conversation.read_until(final_reply)


async def _anonymous_ftp(conversation: Session) -> str:
    answer = await _command(conversation, b"USER anonymous")
    if answer.startswith(b"331"):
        answer = await _command(conversation, b"PASS " + ANONYMOUS_PASSWORD)
    return "accepted" if answer.startswith(b"230") else "refused"


async def ftp_facts(endpoint: Endpoint, info: ServiceInfo, pentest: bool) -> Facts:
    """FEAT lists AUTH TLS or not (not asked inside TLS); pentest: USER anonymous."""
    facts: Facts = {}
    async with session(endpoint) as conversation:
        greeting = await conversation.read_until(final_reply)
        if not greeting.startswith(b"220"):
            return facts
        if not endpoint.tls:
            features = await _command(conversation, b"FEAT")
            offered = features.startswith(b"211") and any(
                FTP_AUTH_TLS.match(line) for line in lines_of(features)[1:]
            )
            facts["ftp.auth_tls"] = _flag(offered)
        if pentest:
            facts["ftp.anonymous"] = await _anonymous_ftp(conversation)
        await conversation.send(b"QUIT\r\n")
    return facts


async def smtp_facts(endpoint: Endpoint, info: ServiceInfo, pentest: bool) -> Facts:
    """EHLO: whether STARTTLS is among the extensions."""
    async with session(endpoint) as conversation:
        if not (await conversation.read_until(final_reply)).startswith(b"220"):
            return {}
        answer = await _command(conversation, b"EHLO rampart-scan.invalid")
        await conversation.send(b"QUIT\r\n")
    if not answer.startswith(b"250"):
        return {}
    return {"smtp.starttls": _flag(any(SMTP_STARTTLS.match(line) for line in lines_of(answer)))}


def _capa_complete(data: bytes) -> bool:
    return (data.startswith(b"-ERR") and b"\n" in data) or data.endswith(b"\r\n.\r\n") or data == b".\r\n"


async def pop3_facts(endpoint: Endpoint, info: ServiceInfo, pentest: bool) -> Facts:
    """CAPA: whether STLS is listed (a server without CAPA has no STLS either, RFC 2595)."""
    async with session(endpoint) as conversation:
        if not (await conversation.line()).startswith(b"+OK"):
            return {}
        await conversation.send(b"CAPA\r\n")
        answer = await conversation.read_until(_capa_complete)
        await conversation.send(b"QUIT\r\n")
    listed = answer.startswith(b"+OK") and any(line.strip().upper() == "STLS" for line in lines_of(answer))
    return {"pop3.starttls": _flag(listed)}


async def imap_facts(endpoint: Endpoint, info: ServiceInfo, pentest: bool) -> Facts:
    """CAPABILITY: whether STARTTLS is listed."""
    async with session(endpoint) as conversation:
        if not (await conversation.line()).startswith(b"* OK"):
            return {}
        await conversation.send(b"R1 CAPABILITY\r\n")
        answer = await conversation.read_until(lambda data: TAGGED_END.search(data) is not None)
        await conversation.send(b"R2 LOGOUT\r\n")
    capabilities = [line for line in lines_of(answer) if line.upper().startswith("* CAPABILITY")]
    if not capabilities:
        return {}
    return {"imap.starttls": _flag(any("STARTTLS" in line.upper().split() for line in capabilities))}
