"""Threat-intel indicators as feeds list them, normalised the way lookups ask for them.

A hit is the analysis side's ``FeedHit``; the lookup protocol is
``rampart_threat.analysis.feeds.IndicatorLookup``.
"""

from __future__ import annotations

import ipaddress
import re
from dataclasses import dataclass
from datetime import datetime

KINDS = ("url", "domain", "ipv4", "ipv6", "cidr", "md5", "sha1", "sha256", "email")
HEX_KINDS = {32: "md5", 40: "sha1", 64: "sha256"}
HEX = re.compile(r"^[0-9a-fA-F]+$")
DOMAIN = re.compile(r"^(?=.{1,253}$)([a-z0-9_](?:[a-z0-9_-]{0,61}[a-z0-9])?\.)+[a-z][a-z0-9-]{0,62}$")


class BadIndicator(ValueError):
    """A feed line that is not an indicator of the kind it claims."""


@dataclass(frozen=True)
class Indicator:
    """One entry of a feed: a normalised value, its kind, and what the feed says about it."""

    kind: str
    value: str
    threat: str = ""
    first_seen: datetime | None = None


def defang(text: str) -> str:
    """Undo the usual defanging (hxxp, [.], (.), [:]) feeds and reports use."""
    out = text.strip().replace("[.]", ".").replace("(.)", ".").replace("[:]", ":").replace("[://]", "://")
    return re.sub(r"^hxxp", "http", out, flags=re.IGNORECASE)


def normalise(kind: str, value: str) -> str:
    """The form lookups use: compressed addresses, lower-case hex and hosts, networks in CIDR."""
    text = defang(value)
    if kind in ("ipv4", "ipv6"):
        try:
            return str(ipaddress.ip_address(text))
        except ValueError as error:
            raise BadIndicator(f"not an address: {value!r}") from error
    if kind == "cidr":
        try:
            return str(ipaddress.ip_network(text, strict=False))
        except ValueError as error:
            raise BadIndicator(f"not a network: {value!r}") from error
    if kind in ("md5", "sha1", "sha256"):
        if not HEX.match(text) or HEX_KINDS.get(len(text)) != kind:
            raise BadIndicator(f"not a {kind}: {value!r}")
        return text.lower()
    if kind == "domain":
        host = text.lower().rstrip(".")
        try:
            host = host.encode("idna").decode("ascii") if not host.isascii() else host
        except UnicodeError as error:
            raise BadIndicator(f"not a domain: {value!r}") from error
        if not DOMAIN.match(host):
            raise BadIndicator(f"not a domain: {value!r}")
        return host
    if kind == "url":
        if "://" not in text:
            raise BadIndicator(f"not a URL: {value!r}")
        scheme, rest = text.split("://", 1)
        host, slash, path = rest.partition("/")
        return f"{scheme.lower()}://{host.lower()}{slash}{path}"
    if kind == "email":
        local, at, host = text.rpartition("@")
        if not at or not local:
            raise BadIndicator(f"not an email: {value!r}")
        return f"{local}@{host.lower()}"
    raise BadIndicator(f"unknown kind {kind!r}")


def detect(value: str) -> str:
    """The kind of a bare value (plain lists carry no type)."""
    text = defang(value)
    if "://" in text:
        return "url"
    if "/" in text:
        return "cidr"
    try:
        return "ipv4" if ipaddress.ip_address(text).version == 4 else "ipv6"
    except ValueError:
        pass
    if HEX.match(text) and len(text) in HEX_KINDS:
        return HEX_KINDS[len(text)]
    if "@" in text:
        return "email"
    return "domain"


def indicator(value: str, kind: str = "", threat: str = "", first_seen: datetime | None = None) -> Indicator:
    found = kind or detect(value)
    return Indicator(found, normalise(found, value), threat, first_seen)
