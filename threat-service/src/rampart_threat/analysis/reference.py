"""The data files the analyzers read (suffix lists, brands), loaded once per process."""

from __future__ import annotations

import functools
from dataclasses import dataclass
from importlib import resources
from pathlib import Path

import tldextract

DATA = resources.files("rampart_threat.analysis") / "data"


def lines(name: str) -> tuple[str, ...]:
    """The entries of a data file: one per line, ``#`` comments and blank lines skipped."""
    text = (DATA / name).read_text(encoding="utf-8")
    return tuple(
        stripped for line in text.splitlines() if (stripped := line.split("#", 1)[0].strip().lower())
    )


@functools.cache
def extractor() -> tldextract.TLDExtract:
    """Registrable-domain splitting with tldextract's bundled suffix list: never fetches it."""
    return tldextract.TLDExtract(suffix_list_urls=(), cache_dir=None, include_psl_private_domains=False)


@dataclass(frozen=True)
class Brand:
    label: str
    domains: frozenset[str]


def parse_brands(text: str) -> tuple[Brand, ...]:
    """``label:domain,domain;label:domain`` (the operator's setting) as brands."""
    brands = []
    for item in text.split(";"):
        label, _, domains = item.partition(":")
        names = frozenset(d.strip().lower() for d in domains.split(",") if d.strip())
        if label.strip() and names:
            brands.append(Brand(label.strip().lower(), names))
    return tuple(brands)


@functools.cache
def shipped_brands() -> tuple[Brand, ...]:
    return tuple(
        Brand(parts[0], frozenset(parts[1:])) for parts in (line.split() for line in lines("brands.txt"))
    )


@dataclass(frozen=True)
class Reference:
    """Lists the URL and domain analyzers compare against."""

    suspicious_tlds: frozenset[str]
    free_hosting: frozenset[str]
    shorteners: frozenset[str]
    brands: tuple[Brand, ...]


@functools.cache
def reference(operator_brands: str = "") -> Reference:
    return Reference(
        suspicious_tlds=frozenset(lines("suspicious_tlds.txt")),
        free_hosting=frozenset(lines("free_hosting.txt")),
        shorteners=frozenset(lines("shorteners.txt")),
        brands=shipped_brands() + parse_brands(operator_brands),
    )


def rule_files(extra_dir: str = "") -> dict[str, list[Path]]:
    """YARA rule files per mode: ``core`` for quick, ``core`` + ``deep`` + the operator's for deep."""
    root = Path(str(DATA / "rules"))
    core = sorted((root / "core").glob("*.yar"))
    deep = core + sorted((root / "deep").glob("*.yar"))
    if extra_dir:
        operator = sorted(Path(extra_dir).glob("*.yar"))
        core, deep = core + operator, deep + operator
    return {"quick": core, "deep": deep}
