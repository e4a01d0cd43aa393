"""The probe and rule corpus: data/probes.toml, then every data/rules/*.toml (one per family)."""

from __future__ import annotations

import functools
import re
import tomllib
from dataclasses import dataclass, field
from pathlib import Path
from typing import Any

from rampart_scan.engine.protocols import PARSERS

PROBES_FILE = Path(__file__).with_name("data") / "probes.toml"
RULES_DIR = Path(__file__).with_name("data") / "rules"  # more probes and rules, one file per family
FALLBACK_FILE = Path(__file__).with_name("data") / "fallback.toml"  # generic rules, tried last


@dataclass(frozen=True)
class Probe:
    name: str
    payload: bytes
    tls: bool  # a TLS handshake probe: once it completes, the plaintext probes run inside TLS
    wait: float
    ports: frozenset[int]
    match_as: str
    parser: str = ""  # a decoder from engine.protocols; the rules then match its text
    tls_ports: frozenset[int] = frozenset()  # ports where this protocol is likely inside TLS


@dataclass(frozen=True)
class Rule:
    probe: str
    service: str
    pattern: re.Pattern[str]
    product: str
    version: str
    info: str
    cpe: str


@dataclass(frozen=True)
class Rules:
    probes: tuple[Probe, ...]
    rules: dict[str, tuple[Rule, ...]] = field(default_factory=dict)


def corpus_files() -> tuple[Path, ...]:
    """probes.toml first (its probe order is the default order), rules/*.toml by name, fallback last."""
    return (PROBES_FILE, *sorted(RULES_DIR.glob("*.toml")), FALLBACK_FILE)


def _probe(item: dict[str, Any]) -> Probe:
    payload = (
        bytes.fromhex(item["payload_hex"]) if "payload_hex" in item else item.get("payload", "").encode()
    )
    parser = item.get("parser", "")
    if parser and parser not in PARSERS:
        raise ValueError(f"probe {item['name']}: no decoder named {parser!r}")
    return Probe(
        item["name"],
        payload,
        bool(item.get("tls", False)),
        item.get("wait_ms", 2000) / 1000,
        frozenset(item.get("ports", ())),
        item.get("match_as", item["name"]),
        parser,
        frozenset(item.get("tls_ports", ())),
    )


@functools.cache
def load_rules(paths: tuple[Path, ...] | None = None) -> Rules:
    data: dict[str, list[dict[str, Any]]] = {"probe": [], "match": []}
    for path in paths or corpus_files():
        loaded = tomllib.loads(path.read_text())
        data["probe"] += loaded.get("probe", [])
        data["match"] += loaded.get("match", [])
    probes = tuple(_probe(item) for item in data["probe"])
    by_probe: dict[str, list[Rule]] = {}
    for item in data["match"]:
        rule = Rule(
            item["probe"],
            item["service"],
            re.compile(item["pattern"]),
            item.get("product", ""),
            item.get("version", ""),
            item.get("info", ""),
            item.get("cpe", ""),
        )
        by_probe.setdefault(rule.probe, []).append(rule)
    return Rules(probes, {name: tuple(rules) for name, rules in by_probe.items()})
