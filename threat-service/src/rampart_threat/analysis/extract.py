"""Indicators found in text: URLs, domains, IPs, hashes, emails, with their defanged forms."""

from __future__ import annotations

import ipaddress
import re
from urllib.parse import urlsplit

from rampart_threat.analysis.detect import defang, refang
from rampart_threat.analysis.domain import Extracted
from rampart_threat.analysis.reference import extractor

URL = re.compile(r"(?i)\b(?:https?|ftp)://[^\s\"'<>`\\)\]]{1,2048}")
IPV4 = re.compile(r"\b(?:\d{1,3}(?:\.|\[\.\])){3}\d{1,3}\b")
DOMAIN = re.compile(r"\b(?:[a-z0-9](?:[a-z0-9-]{0,61}[a-z0-9])?(?:\.|\[\.\])){1,8}[a-z]{2,24}\b", re.I)
HASH = re.compile(r"\b(?:[a-f0-9]{64}|[a-f0-9]{40}|[a-f0-9]{32})\b", re.I)
EMAIL = re.compile(r"\b[a-z0-9._%+-]{1,64}@(?:[a-z0-9-]{1,63}\.){1,8}[a-z]{2,24}\b", re.I)
HASH_NAMES = {32: "md5", 40: "sha1", 64: "sha256"}
# Names that look like domains in code and logs but are not hosts (file names, code members).
NOT_HOSTS = re.compile(
    r"\.(exe|dll|ps1|sh|py|js|txt|log|php|jsp|asp|aspx|json|xml|html?|tmp|dat|bin|zip|png|jpg|gif)$", re.I
)
SCAN_CHARS = 262_144
PER_KIND = 50


TEXT_REFANG = (
    (re.compile(r"(?i)\bhxxp"), "http"),
    (re.compile(r"\[\.\]|\(\.\)|\{\.\}"), "."),
    (re.compile(r"\[:\]"), ":"),
)


def extract(text: str, where: str) -> list[Extracted]:
    """Indicators in the first ``SCAN_CHARS`` characters of ``text``, at most ``PER_KIND`` of each."""
    text = text[:SCAN_CHARS]
    for pattern, plain in TEXT_REFANG:
        text = pattern.sub(plain, text)
    found: dict[tuple[str, str], Extracted] = {}

    def add(kind: str, value: str) -> None:
        if (kind, value) not in found and sum(k == kind for k, _ in found) < PER_KIND:
            found[(kind, value)] = Extracted(kind, value, defang(value), where)

    url_hosts = set()
    for match in URL.finditer(text):
        value = match.group(0).rstrip(".,;:!?'\"")
        try:
            host = urlsplit(value).hostname or ""
        except ValueError:
            continue  # not a parseable URL (e.g. a stray '[')
        add("url", value)
        url_hosts.add(host.lower())
    for match in IPV4.finditer(text):
        value = refang(match.group(0))
        try:
            add("ipv4", ipaddress.IPv4Address(value).compressed)
        except ValueError:
            continue
    for match in EMAIL.finditer(text):
        add("email", match.group(0).lower())
    for match in DOMAIN.finditer(text):
        value = refang(match.group(0)).lower()
        if value in url_hosts or NOT_HOSTS.search(value) or not extractor()(value).suffix:
            continue
        add("domain", value)
    for match in HASH.finditer(text):
        add(HASH_NAMES[len(match.group(0))], match.group(0).lower())
    return list(found.values())
