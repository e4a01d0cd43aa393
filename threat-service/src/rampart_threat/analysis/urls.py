"""Signals of URLs and domains: the host, its registrable domain, the path and query.

Weights are the points each signal adds to the risk score (docs/threat-analysis.md).
"""

from __future__ import annotations

import ipaddress
import re
from urllib.parse import parse_qsl, unquote, urlsplit

from confusable_homoglyphs import confusables

from rampart_threat.analysis import lookalike
from rampart_threat.analysis.domain import Findings
from rampart_threat.analysis.entropy import dga_like
from rampart_threat.analysis.reference import Reference, extractor

PHISHING = "T1566.002"  # Phishing: spearphishing link
LOOKALIKE_DOMAIN = "T1583.001"  # Acquire infrastructure: domains
CREDENTIAL_WORDS = (
    "login", "signin", "sign-in", "logon", "verify", "verification", "account", "secure", "update",
    "banking", "password", "passwd", "wallet", "confirm", "unlock", "suspended", "billing",
    "webscr", "recovery", "authenticate", "validation", "invoice", "support-ticket",
)  # fmt: skip
EXECUTABLE = re.compile(
    r"\.(exe|scr|pif|com|bat|cmd|vbs|vbe|js|jse|hta|ps1|msi|dll|apk|jar|iso|img|lnk|wsf)$"
)
ARCHIVE = re.compile(r"\.(zip|rar|7z|gz|tgz)$")
REDIRECT_KEYS = {"url", "u", "redirect", "redirect_uri", "next", "goto", "dest", "destination", "target", "r"}
STANDARD_PORTS = {80, 443, 8080, 8443}


def analyze_url(url: str, ref: Reference) -> tuple[Findings, list[str]]:
    """Signals of a normalised URL, and the hosts to look up in feeds."""
    found = Findings()
    lowered = url.lower()
    if lowered.startswith("javascript:") or lowered.startswith("vbscript:"):
        found.add("script_scheme", 60, url[:120], "T1059.007")
        return found, []
    if lowered.startswith("data:"):
        header = lowered[5:].split(",", 1)[0]
        weight = 55 if ("html" in header or "script" in header) else 25
        found.add("data_scheme", weight, f"data: URL of type {header or 'text/plain'}", PHISHING, "T1027")
        return found, []
    if lowered.startswith("file:"):
        found.add("file_scheme", 30, "file: URL (local or SMB path)", "T1187")
        return found, []
    parts = urlsplit(url)
    host = parts.hostname or ""
    if len(url) > 200:
        found.add("long_url", 10, f"{len(url)} characters")
    if parts.username is not None:
        userinfo = unquote(parts.netloc.rsplit("@", 1)[0])
        brand_like = "." in userinfo or any(b.label in userinfo.lower() for b in ref.brands)
        weight = 45 if brand_like else 30
        found.add(
            "userinfo_at", weight, f"text before '@' hides the real host {host}: {userinfo[:80]!r}", PHISHING
        )
    if parts.port is not None and parts.port not in STANDARD_PORTS:
        found.add("non_standard_port", 10, f"port {parts.port}")
    if parts.scheme == "http":
        found.add("plain_http", 5, "no TLS")
    if "%" in parts.netloc:
        found.add("encoded_host", 20, "percent-encoding in the host", "T1027")
    path = unquote(parts.path).lower()
    last = path.rsplit("/", 1)[-1]
    if EXECUTABLE.search(last):
        found.add(
            "executable_download", 30, f"the path ends in an executable or script: {last[:80]}", "T1204.002"
        )
    elif ARCHIVE.search(last):
        found.add("archive_download", 10, f"the path ends in an archive: {last[:80]}")
    words = [w for w in CREDENTIAL_WORDS if w in (path + "?" + parts.query.lower())]
    if words:
        found.add(
            "credential_keywords",
            min(20, 10 * len(words)),
            "path or query: " + ", ".join(words[:5]),
            PHISHING,
        )
    for key, value in parse_qsl(parts.query)[:50]:
        if key.lower() in REDIRECT_KEYS and re.match(r"(?i)https?:|//", value):
            found.add("redirect_parameter", 10, f"{key}={value[:100]}", PHISHING)
            break
    if "@" in path or "//" in parts.path[1:]:
        found.add("path_tricks", 5, "'@' or '//' inside the path")
    host_findings, hosts = analyze_host(host, ref, in_url=True)
    found.merge(host_findings)
    if _brand_in_path(path, host, ref):
        found.add(
            "brand_in_path",
            15,
            f"a brand name in the path of {host}: {_brand_in_path(path, host, ref)}",
            PHISHING,
        )
    return found, hosts


def analyze_host(host: str, ref: Reference, *, in_url: bool = False) -> tuple[Findings, list[str]]:
    """Signals of a host name (a domain, or a URL's host), and the names to look up in feeds."""
    found = Findings()
    try:
        address = ipaddress.ip_address(host)
    except ValueError:
        address = None
    if address is not None:
        if in_url:
            found.add("ip_literal_host", 30, f"the URL names an address, not a domain: {host}", PHISHING)
        return found, [host]
    parts = extractor()(host)
    registrable = parts.top_domain_under_public_suffix or host
    label = parts.domain
    subdomains = [s for s in parts.subdomain.split(".") if s and s != "www"]
    hosts = list(dict.fromkeys([host, registrable]))
    if not parts.suffix:
        found.add("unknown_suffix", 15, f"{host} is not under a known public suffix")
    if parts.suffix in ref.suspicious_tlds or parts.suffix.rsplit(".", 1)[-1] in ref.suspicious_tlds:
        found.add("suspicious_tld", 15, f".{parts.suffix} is among the most abused suffixes")
    hosting = _listed(host, ref.free_hosting)
    if hosting:
        found.add("free_hosting", 15, f"hosted under {hosting}", "T1583.006")
    if _listed(host, ref.shorteners):
        found.add("shortener", 20, f"{registrable} hides the destination")
    if len(subdomains) >= 4:
        found.add("excessive_subdomains", 15, f"{len(subdomains)} subdomain levels")
    if len(host) > 60:
        found.add("long_host", 10, f"{len(host)} characters")
    shown = _unicode(label)
    if shown.count("-") >= 2:
        found.add("hyphenated_name", 10, f"{shown} has {shown.count('-')} hyphens")
    _unicode_signals(host, found)
    _brand_signals(host, registrable, _skeleton(shown), subdomains, ref, found, disguised=not shown.isascii())
    why = dga_like(label)
    if why:
        found.add("dga_like", 35, f"{label}: {why}", "T1568.002")
    return found, hosts


def _listed(host: str, names: frozenset[str]) -> str:
    labels = host.split(".")
    for i in range(len(labels) - 1):
        if ".".join(labels[i:]) in names:
            return ".".join(labels[i:])
    return ""


def _unicode_signals(host: str, found: Findings) -> None:
    if "xn--" not in host:
        return
    try:
        shown = host.encode("ascii").decode("idna")
    except UnicodeError:
        found.add("bad_punycode", 30, f"{host} does not decode as IDNA", LOOKALIKE_DOMAIN)
        return
    found.add("punycode", 10, f"{host} is shown as {shown}")
    for label in shown.split("."):
        if label.isascii():
            continue
        if confusables.is_mixed_script(label):
            found.add("mixed_script", 45, f"{label!r} mixes scripts", LOOKALIKE_DOMAIN)
        elif confusables.is_dangerous(label) or confusables.is_confusable(
            label, greedy=False, preferred_aliases=["latin"]
        ):
            found.add(
                "homoglyph", 40, f"{label!r} uses characters confusable with Latin ones", LOOKALIKE_DOMAIN
            )


def _brand_signals(
    host: str,
    registrable: str,
    label: str,
    subdomains: list[str],
    ref: Reference,
    found: Findings,
    *,
    disguised: bool = False,
) -> None:
    ascii_label = _deconfuse(label)
    for brand in ref.brands:
        if registrable in brand.domains:
            return  # the brand's own domain
    table = lookalike.table(ref.brands)
    near = table.get(label) or table.get(ascii_label)
    if near is None and (ascii_label != label or disguised):
        near = next((brand for brand in ref.brands if brand.label == ascii_label), None)
    if near is not None:
        found.add(
            "brand_lookalike",
            45,
            f"{label} is one edit from the brand {near.label}",
            LOOKALIKE_DOMAIN,
            PHISHING,
        )
        return
    for brand in ref.brands:
        if ascii_label == brand.label:
            found.add(
                "brand_other_suffix",
                25,
                f"{registrable}: {brand.label} under a suffix it does not use",
                LOOKALIKE_DOMAIN,
            )
            return
        if len(brand.label) >= 4 and brand.label in ascii_label:
            found.add(
                "brand_embedded", 35, f"{label} contains the brand {brand.label}", LOOKALIKE_DOMAIN, PHISHING
            )
            return
        if any(brand.label in _deconfuse(part) for part in subdomains):
            found.add(
                "brand_in_subdomain", 35, f"{host}: brand {brand.label} outside its own domain", PHISHING
            )
            return


def _unicode(label: str) -> str:
    try:
        return label.encode("ascii").decode("idna") if label.startswith("xn--") else label
    except UnicodeError:
        return label


def _skeleton(label: str) -> str:
    """Non-Latin characters replaced by the Latin letters they are confusable with."""
    if label.isascii():
        return label
    out = []
    for char in label:
        latin = char
        if not char.isascii():
            for entry in confusables.is_confusable(char, preferred_aliases=["latin"]) or []:
                glyphs = [g["c"] for g in entry["homoglyphs"] if g["c"].isascii()]
                latin = glyphs[0].lower() if glyphs else char
        out.append(latin)
    return "".join(out)


def _deconfuse(label: str) -> str:
    """Digits and hyphens swapped back to the letters they imitate (``paypa1`` → ``paypal``)."""
    return label.translate(str.maketrans("013457", "oleast"))


def _brand_in_path(path: str, host: str, ref: Reference) -> str:
    registrable = extractor()(host).top_domain_under_public_suffix
    for brand in ref.brands:
        if registrable in brand.domains:
            return ""
    for brand in ref.brands:
        if len(brand.label) >= 5 and brand.label in path:
            return brand.label
    return ""
