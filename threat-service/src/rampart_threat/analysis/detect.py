"""Which kind of indicator a target is, and its normal form; a malformed one is refused."""

from __future__ import annotations

import ipaddress
import re
from urllib.parse import urlsplit, urlunsplit

from rampart_threat.analysis.domain import IndicatorTooLarge, InvalidIndicator, Kind, Target

MAX_URL = 8192
MAX_PAYLOAD = 1024 * 1024
HASH_TYPES = {32: "md5", 40: "sha1", 64: "sha256"}
HEX = re.compile(r"[0-9a-fA-F]+")
SCHEME = re.compile(r"([a-zA-Z][a-zA-Z0-9+.-]{0,15}):")
LABEL = re.compile(r"(?!-)[a-z0-9-]{1,63}(?<!-)")
DOTTED_NUMBERS = re.compile(r"[0-9.]+")
# Defanging conventions seen in reports and sharing platforms, undone before analysis.
REFANG = (
    (re.compile(r"^hxxp", re.I), "http"),
    (re.compile(r"^fxp", re.I), "ftp"),
    (re.compile(r"\[\.\]|\(\.\)|\{\.\}|\[dot\]", re.I), "."),
    (re.compile(r"\[:\]"), ":"),
    (re.compile(r"\[/\]"), "/"),
    (re.compile(r"\[@\]|\[at\]", re.I), "@"),
)


def refang(value: str) -> str:
    """``hxxp://evil[.]example`` → ``http://evil.example``."""
    for pattern, plain in REFANG:
        value = pattern.sub(plain, value)
    return value


def defang(value: str) -> str:
    """A form that no client turns into a link: ``hxxp://evil[.]example``."""
    value = re.sub(r"^http", "hxxp", value, flags=re.I)
    return value.replace(".", "[.]")


def detect(raw: str, kind: Kind | None) -> Target:
    """The target's kind (given or detected) and normal form; ``InvalidIndicator`` if malformed."""
    if not raw.strip():
        raise InvalidIndicator("the target is empty")
    if kind is Kind.PAYLOAD:
        return payload(raw)
    value = refang(raw.strip())
    if kind is None:
        return _guess(raw, value)
    parse = {Kind.URL: url, Kind.DOMAIN: domain, Kind.IP: ip, Kind.HASH: digest}[kind]
    return parse(raw, value)


def _guess(raw: str, value: str) -> Target:
    if len(raw) > MAX_URL or any(c.isspace() for c in value):
        return payload(raw)
    if len(value) in HASH_TYPES and HEX.fullmatch(value):
        return digest(raw, value)
    if DOTTED_NUMBERS.fullmatch(value) and value.count(".") == 3:
        return ip(raw, value)  # looks like IPv4: malformed ones are refused, not taken as payload
    try:
        return ip(raw, value)
    except InvalidIndicator:
        pass
    scheme = SCHEME.match(value)
    if scheme and (value[scheme.end() :].startswith("//") or scheme.group(1).lower() in OPAQUE):
        return url(raw, value)
    if "/" in value and _domain_or_none(value.split("/", 1)[0]) is not None:
        return url(raw, "http://" + value)
    if "." in value and _domain_or_none(value) is not None:
        return domain(raw, value)
    return payload(raw)


OPAQUE = {"data", "javascript", "vbscript", "mailto", "file"}


def payload(raw: str) -> Target:
    if len(raw.encode("utf-8", "surrogatepass")) > MAX_PAYLOAD:
        raise IndicatorTooLarge("the payload is larger than 1 MiB", max_bytes=MAX_PAYLOAD)
    return Target(Kind.PAYLOAD, "payload", raw, raw)


def digest(raw: str, value: str) -> Target:
    if len(value) not in HASH_TYPES or not HEX.fullmatch(value):
        raise InvalidIndicator("a hash is 32, 40 or 64 hexadecimal digits (MD5, SHA-1, SHA-256)")
    return Target(Kind.HASH, HASH_TYPES[len(value)], raw, value.lower())


def ip(raw: str, value: str) -> Target:
    try:
        address = ipaddress.ip_address(value.strip("[]"))
    except ValueError:
        raise InvalidIndicator("not an IPv4 or IPv6 address", target=raw[:256]) from None
    return Target(Kind.IP, f"ipv{address.version}", raw, address.compressed)


def domain(raw: str, value: str) -> Target:
    name = _domain_or_none(value)
    if name is None:
        raise InvalidIndicator("not a domain name", target=raw[:256])
    return Target(Kind.DOMAIN, "domain", raw, name)


def url(raw: str, value: str) -> Target:
    if len(value) > MAX_URL:
        raise IndicatorTooLarge("the URL is longer than 8192 characters", max_bytes=MAX_URL)
    scheme = SCHEME.match(value)
    if scheme is None:
        raise InvalidIndicator("a URL needs a scheme (https://…)", target=raw[:256])
    if scheme.group(1).lower() in OPAQUE and not value[scheme.end() :].startswith("//"):
        return Target(Kind.URL, "url", raw, scheme.group(1).lower() + ":" + value[scheme.end() :])
    try:
        parts = urlsplit(value)
        port = parts.port
    except ValueError:
        raise InvalidIndicator("the URL cannot be parsed", target=raw[:256]) from None
    host = parts.hostname or ""
    normal_host = _host_or_none(host)
    if normal_host is None:
        raise InvalidIndicator("the URL has no valid host", target=raw[:256])
    netloc = normal_host if ":" not in normal_host else f"[{normal_host}]"
    if parts.username is not None or parts.password is not None:
        userinfo = parts.netloc.rsplit("@", 1)[0]
        netloc = f"{userinfo}@{netloc}"
    if port is not None and (parts.scheme.lower(), port) not in {("http", 80), ("https", 443)}:
        netloc = f"{netloc}:{port}"
    normal = urlunsplit((parts.scheme.lower(), netloc, parts.path or "/", parts.query, parts.fragment))
    return Target(Kind.URL, "url", raw, normal)


def _host_or_none(host: str) -> str | None:
    try:
        return ipaddress.ip_address(host).compressed
    except ValueError:
        return _domain_or_none(host)


def _domain_or_none(value: str) -> str | None:
    """The lower-case ASCII (punycode) form of a host name, or None if it is not one."""
    name = value.strip().rstrip(".").lower()
    if not name or len(name) > 253 or name.startswith("."):
        return None
    if not name.isascii():
        try:
            name = name.encode("idna").decode("ascii")
        except UnicodeError:
            return None
    labels = name.split(".")
    if len(labels) < 2 or labels[-1].isdigit():
        return None
    if not all(LABEL.fullmatch(label) for label in labels):
        return None
    return name
