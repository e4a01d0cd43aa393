"""Signals of a raw payload: its decoded layers, YARA rules, entropy and magic type."""

from __future__ import annotations

import functools
from dataclasses import dataclass
from pathlib import Path

import puremagic
import yara

from rampart_threat.analysis.decode import Budget, decode_layers
from rampart_threat.analysis.domain import Extracted, Findings
from rampart_threat.analysis.entropy import shannon
from rampart_threat.analysis.extract import extract

EXECUTABLE_MAGIC = {
    b"MZ": "Windows PE executable",
    b"\x7fELF": "ELF executable",
    b"\xca\xfe\xba\xbe": "Mach-O/Java class",
}
YARA_TIMEOUT = 5  # seconds per scan; yara-python raises on timeout


@dataclass(frozen=True)
class PayloadPolicy:
    """How much a mode decodes and which rules it runs."""

    budget: Budget
    rules: tuple[Path, ...]
    scan_bytes: int  # bytes of each layer given to YARA


@functools.cache
def compiled(rules: tuple[Path, ...]) -> yara.Rules:
    return yara.compile(filepaths={f"r{i}": str(path) for i, path in enumerate(rules)})


def analyze_payload(text: str, policy: PayloadPolicy) -> tuple[Findings, list[Extracted]]:
    """Signals of a payload and the indicators inside it (every layer)."""
    found = Findings()
    data = text.encode("utf-8", "surrogatepass")
    decoded = decode_layers(data, policy.budget)
    found.limits.extend(dict.fromkeys(decoded.limits))
    if decoded.bomb:
        found.add("decompression_bomb", 40, decoded.bomb, "T1499")
    encodings = [layer for layer in decoded.layers if layer.depth > 0]
    if encodings:
        deepest = max(encodings, key=lambda layer: layer.depth)
        weight = 10 if deepest.depth >= 2 else 5
        found.add(
            "encoded_layers", weight, f"{len(encodings)} decoded layer(s), deepest: {deepest.path}", "T1027"
        )
    if any("powershell-encodedcommand" in layer.path for layer in encodings):
        found.add(
            "powershell_encoded_command", 30, "PowerShell -EncodedCommand decoded", "T1059.001", "T1027"
        )
    rules = compiled(policy.rules)
    matched: dict[str, str] = {}
    extracted: dict[tuple[str, str], Extracted] = {}
    for layer in decoded.layers:
        for match in rules.match(data=layer.data[: policy.scan_bytes], timeout=YARA_TIMEOUT, fast=True):
            if match.rule not in matched:
                matched[match.rule] = layer.path
                meta = match.meta
                attack = tuple(a for a in str(meta.get("attack", "")).split(",") if a)
                strings = _first_string(match)
                found.add(
                    f"yara:{match.rule}",
                    int(meta.get("weight", 20)),
                    f"{meta.get('description', match.rule)} in {layer.path}: {strings}",
                    *attack,
                )
        where = layer.path
        for item in extract(layer.data.decode("utf-8", "replace"), where):
            extracted.setdefault((item.type, item.value), item)
    _content_signals(data, decoded.layers[-1].data if len(decoded.layers) > 1 else b"", found)
    return found, list(extracted.values())


def _first_string(match: yara.Match) -> str:
    for string in match.strings:
        for instance in string.instances:
            return repr(bytes(instance.matched_data[:80]).decode("utf-8", "replace"))
    return ""


def _content_signals(data: bytes, innermost: bytes, found: Findings) -> None:
    for sample, where in ((data, "payload"), (innermost, "decoded layer")):
        if not sample:
            continue
        for magic, name in EXECUTABLE_MAGIC.items():
            if sample.startswith(magic):
                found.add("executable_content", 35, f"{where} is a {name}", "T1204.002")
                break
    if len(data) >= 256:
        bits = shannon(data[:65536])
        if bits >= 7.2:
            found.add("high_entropy", 10, f"{bits:.2f} bits/byte: encrypted or compressed content", "T1027")
    try:
        kind = puremagic.from_string(data[:8192])
    except (puremagic.PureError, ValueError):
        kind = ""
    if kind:
        found.add("magic_type", 0, f"content looks like {kind}")
