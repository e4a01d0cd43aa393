"""Decoders for binary protocols whose answer a regex cannot read well.

Each decoder turns a probe's raw reply into short ``key=value`` text lines (or None when the
reply is not that protocol); the match rules in the data files then run on that text, so
products, versions and CPEs stay data, not code. A probe names its decoder with ``parser``.
"""

from __future__ import annotations

from collections.abc import Callable

from rampart_scan.engine.protocols import amqp, dns, ldap, rdp, smb

Parser = Callable[[bytes], str | None]

PARSERS: dict[str, Parser] = {
    "amqp": amqp.parse,
    "dns": dns.parse,
    "ldap": ldap.parse,
    "rdp": rdp.parse,
    "smb": smb.parse,
}
