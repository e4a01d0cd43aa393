"""Vendor/product aliases, kept as data (``data/aliases.toml``): one canonical ``vendor:product`` each."""

from __future__ import annotations

import re
import tomllib
from dataclasses import dataclass, field
from importlib import resources
from typing import Any

_NON_WORD = re.compile(r"[^a-z0-9]+")


def normalise(name: str) -> str:
    """``Apache HTTP Server`` -> ``apache_http_server``: how NVD spells names in CPEs."""
    return _NON_WORD.sub("_", name.strip().lower()).strip("_")


@dataclass(frozen=True)
class Aliases:
    """Lookups from every known spelling to the canonical key."""

    by_key: dict[str, str] = field(default_factory=dict)
    by_cve5: dict[tuple[str, str], str] = field(default_factory=dict)
    by_keyword: dict[str, str] = field(default_factory=dict)
    keywords_of: dict[str, tuple[str, ...]] = field(default_factory=dict)

    def canonical(self, key: str) -> str:
        """The canonical ``vendor:product`` for a CPE's (``nginx:nginx`` -> ``f5:nginx``)."""
        return self.by_key.get(key, key)

    def keys_for(self, key: str) -> tuple[str, ...]:
        """Every ``vendor:product`` that names the same product as ``key`` (canonical first)."""
        canonical = self.canonical(key)
        return (canonical, *(k for k, v in self.by_key.items() if v == canonical and k != canonical))

    def for_cve5(
        self, vendor: str, product: str, package: str | None, cpe_keys: tuple[str, ...]
    ) -> str | None:
        """The canonical key of a CVE 5 ``affected`` entry, or None when it names nothing we know.

        Order: the spelling table; the entry's own CPEs; its package name when it names no vendor/product;
        NVD-style normalised ``vendor:product``.
        """
        v, p = vendor.strip().lower(), product.strip().lower()
        if v in ("n/a", "unknown"):
            v = ""
        if p in ("n/a", "unknown"):
            p = ""
        if (v, p) in self.by_cve5:
            return self.by_cve5[(v, p)]
        for key in cpe_keys:
            return self.canonical(key)
        if not p and package:
            return self.by_cve5.get(("", package.strip().lower()))
        if v and p:
            return self.canonical(f"{normalise(v)}:{normalise(p)}")
        if p:
            return self.by_cve5.get(("", p))
        return None


def load_aliases(text: str | None = None) -> Aliases:
    """Parse the alias data (the shipped ``data/aliases.toml`` unless ``text`` is given)."""
    if text is None:
        text = resources.files("rampart_threat.knowledge").joinpath("data/aliases.toml").read_text("utf-8")
    data: dict[str, Any] = tomllib.loads(text)
    aliases = Aliases()
    for entry in data.get("product", ()):
        key = str(entry["key"]).lower()
        aliases.by_key[key] = key
        for other in entry.get("also", ()):
            aliases.by_key[str(other).lower()] = key
        for vendor, product in entry.get("cve5", ()):
            aliases.by_cve5[(str(vendor).lower(), str(product).lower())] = key
        words = tuple(str(w).lower() for w in entry.get("keywords", ()))
        aliases.keywords_of[key] = words
        for w in words:
            aliases.by_keyword[w] = key
    return aliases
